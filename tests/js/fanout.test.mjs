import test from 'node:test';
import assert from 'node:assert/strict';
import { bnScale, shareOf } from '../../static/js/views/fanout.js';

const tensor = (shape, fill) => {
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, data: Float32Array.from({ length: n }, (_, i) => (typeof fill === 'function' ? fill(i) : fill)) };
};

// x (2 channels, 3x3) is read by a 3x3 conv (padding 1), an Add and a ReLU.
const x = tensor([2, 3, 3], (i) => (i % 2 ? 1 : -1));
const trace = {
  input: tensor([1, 3, 3], 0),
  layers: [
    { name: 'x', kind: 'identity', inputs: ['input'], output: x, grad_output: tensor([2, 3, 3], 0) },
    {
      name: 'conv', kind: 'conv2d', inputs: ['x'], config: { kernel_size: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 },
      params: { weight: tensor([1, 2, 3, 3], 1) }, output: tensor([1, 3, 3], 0), grad_output: tensor([1, 3, 3], 2),
    },
    { name: 'add', kind: 'add', inputs: ['x', 'x'], output: x, grad_output: tensor([2, 3, 3], (i) => i) },
    { name: 'relu', kind: 'relu', inputs: ['x'], output: x, grad_output: tensor([2, 3, 3], 5) },
  ],
};

test("a conv reader's share is the sum of delta times weight over the outputs the pixel fed", () => {
  // The centre pixel fed all 9 outputs of the one output channel: 9 × (2 × 1).
  assert.equal(shareOf(trace, 1, 'x', [0, 1, 1]).value, 18);
  // A corner pixel fed 4 outputs.
  assert.equal(shareOf(trace, 1, 'x', [1, 0, 0]).value, 8);
});

test("an Add copies its delta and a ReLU passes it where its input was positive", () => {
  assert.equal(shareOf(trace, 2, 'x', [1, 2, 1]).value, 9 + 2 * 3 + 1);
  assert.equal(shareOf(trace, 3, 'x', [0, 0, 1]).value, 5);   // x = 1 there
  assert.equal(shareOf(trace, 3, 'x', [0, 0, 0]).value, 0);   // x = -1
});

test("BatchNorm's inference scale is gamma / sqrt(running_var + eps), and needs the buffers", () => {
  const bn = {
    config: { eps: 1e-5, affine: true }, params: { weight: tensor([1], 3) },
    buffers: { running_var: tensor([1], 4 - 1e-5) },
  };
  assert.ok(Math.abs(bnScale(bn, 0) - 1.5) < 1e-6);
  assert.equal(bnScale({ ...bn, buffers: undefined }, 0), null);
});
