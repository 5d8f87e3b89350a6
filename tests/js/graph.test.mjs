import test from 'node:test';
import assert from 'node:assert/strict';
import {
  ancestorsOf, inputsOf, isChain, nodeTensor, readersOf, skipEdges,
} from '../../static/js/graph.js';

// A residual block: conv1 -> relu1 -> conv2 -> add(conv2, relu1) -> relu2.
const block = [
  { name: 'conv1', inputs: ['input'] },
  { name: 'relu1', inputs: ['conv1'] },
  { name: 'conv2', inputs: ['relu1'] },
  { name: 'add', inputs: ['conv2', 'relu1'] },
  { name: 'relu2', inputs: ['add'] },
];

test('a residual Add has one skip edge: its input that is not the node before it', () => {
  assert.deepEqual(skipEdges(block), [{ from: 'relu1', fromIndex: 1, to: 3, slot: 1 }]);
  assert.equal(isChain(block), false);
});

test('a chain (or a response without inputs) has no skip edges', () => {
  const chain = [{ name: 'a' }, { name: 'b' }, { name: 'c' }];
  assert.deepEqual(inputsOf(chain, 0), ['input']);
  assert.deepEqual(inputsOf(chain, 2), ['b']);
  assert.deepEqual(skipEdges(chain), []);
  assert.equal(isChain(chain), true);
});

test('the node read by the skip has two readers, and a strided projection reads the block input', () => {
  assert.deepEqual(readersOf(block, 'relu1'), [2, 3]);
  const strided = [
    { name: 'x', inputs: ['input'] },
    { name: 'conv1', inputs: ['x'] },
    { name: 'proj', inputs: ['x'] },
    { name: 'add', inputs: ['conv1', 'proj'] },
  ];
  assert.deepEqual(skipEdges(strided).map((e) => [e.from, e.to]), [['x', 2], ['conv1', 3]]);
});

test('ancestors follow inputs, not the drawing order', () => {
  const strided = [
    { name: 'x', inputs: ['input'] },
    { name: 'conv1', inputs: ['x'] },
    { name: 'proj', inputs: ['x'] },
    { name: 'conv2', inputs: ['conv1'] },
  ];
  assert.deepEqual([...ancestorsOf(strided, 3)].sort(), [0, 1]);
  assert.deepEqual([...ancestorsOf(block, 4)].sort(), [0, 1, 2, 3]);
});

test('nodeTensor finds a layer by name, and "input" is the network input', () => {
  const trace = { input: 'x', input_grad: 'dx', layers: [{ name: 'conv1', output: 'y', grad_output: 'dy' }] };
  assert.equal(nodeTensor(trace, 'input'), 'x');
  assert.equal(nodeTensor(trace, 'input', 'grad_output'), 'dx');
  assert.equal(nodeTensor(trace, 'conv1', 'grad_output'), 'dy');
});
