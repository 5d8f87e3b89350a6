import assert from 'node:assert/strict';
import test from 'node:test';

import { planSteps, strongest, unitFor } from '../../static/js/tour_steps.js';

const tensor = (shape, values) => ({ shape, data: Float32Array.from(values) });
const zeros = (shape) => tensor(shape, new Array(shape.reduce((a, b) => a * b, 1)).fill(0));
const layer = (name, kind, shape) => ({ name, kind, output_shape: shape, output: zeros(shape) });

function lenet(act, pool) {
  return {
    prediction: 7,
    classes: [...'0123456789'],
    layers: [
      layer('conv1', 'conv2d', [6, 28, 28]), layer(`${act}1`, act, [6, 28, 28]),
      layer('pool1', pool, [6, 14, 14]), layer('conv2', 'conv2d', [16, 10, 10]),
      layer(`${act}2`, act, [16, 10, 10]), layer('pool2', pool, [16, 5, 5]),
      layer('flatten', 'flatten', [400]), layer('fc1', 'linear', [120]), layer(`${act}3`, act, [120]),
      layer('fc2', 'linear', [84]), layer(`${act}4`, act, [84]), layer('fc3', 'linear', [10]),
    ],
  };
}

test('lenet5 and lenet5-classic get every step, in order, on the first layer of each kind', () => {
  for (const [act, pool] of [['relu', 'maxpool2d'], ['tanh', 'avgpool2d']]) {
    const steps = planSteps(lenet(act, pool));
    assert.deepEqual(steps.map((s) => s.id),
      ['input', 'conv', 'activation', 'pool', 'flatten', 'linear', 'softmax', 'backward']);
    assert.deepEqual(steps.map((s) => s.layerIndex), [null, 0, 1, 2, 6, 7, 12, 0]);
  }
});

test('a model without convolution or pooling skips those steps and keeps network order', () => {
  const mlp = {
    prediction: 1,
    layers: [layer('flatten', 'flatten', [784]), layer('fc1', 'linear', [300]), layer('tanh1', 'tanh', [300]),
      layer('fc2', 'linear', [10])],
  };
  assert.deepEqual(planSteps(mlp).map((s) => [s.id, s.layerIndex]),
    [['input', null], ['flatten', 0], ['linear', 1], ['activation', 2], ['softmax', 4], ['backward', 0]]);
  assert.deepEqual(planSteps({ layers: [] }).map((s) => s.id), ['input']);
  assert.deepEqual(planSteps(null).map((s) => s.id), ['input']);
});

test('strongest finds the largest value in a channel, or overall for vectors, first on ties', () => {
  const t = tensor([2, 2, 3], [0, 1, 0, 0, 0, 0, /* channel 1 */ -1, 0, 0, 0, -9, 2]);
  assert.deepEqual(strongest(t, 0), { channel: 0, y: 0, x: 1 });
  assert.deepEqual(strongest(t, 1), { channel: 1, y: 1, x: 2 });
  assert.deepEqual(strongest(tensor([4], [1, -5, 5, 5])), { channel: 2, y: 0, x: 0 });
});

test('units follow the conv unit down the layers; softmax takes the prediction', () => {
  const trace = lenet('relu', 'maxpool2d');
  trace.layers[0].output.data[0 * 784 + 10 * 28 + 13] = 4;
  trace.layers[7].output.data[33] = 2;
  const steps = planSteps(trace);
  const unit = (id) => unitFor(steps.find((s) => s.id === id), trace, steps);
  assert.deepEqual(unit('conv'), { layerIndex: 0, channel: 0, y: 10, x: 13 });
  assert.deepEqual(unit('activation'), { layerIndex: 1, channel: 0, y: 10, x: 13 });
  assert.deepEqual(unit('pool'), { layerIndex: 2, channel: 0, y: 5, x: 6 });
  assert.deepEqual(unit('linear'), { layerIndex: 7, channel: 33, y: 0, x: 0 });
  assert.deepEqual(unit('softmax'), { layerIndex: 12, channel: 7, y: 0, x: 0 });
  assert.deepEqual(unit('backward'), { layerIndex: 0, channel: 0, y: 10, x: 13 });
  assert.equal(unit('input'), null);
});
