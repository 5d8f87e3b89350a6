import assert from 'node:assert/strict';
import test from 'node:test';

import {
  ACTIVATIONS, activationOf, evaluateAt, saturationText, short,
} from '../../static/js/activation_functions.js';

test('every activation kind the core has an entry with f, f and words', () => {
  for (const kind of ['sign', 'sigmoid', 'tanh', 'relu', 'leakyrelu', 'relu6', 'identity', 'clamp']) {
    const fn = activationOf(kind);
    assert.ok(fn && fn.formula && fn.derivative, kind);
  }
  assert.equal(activationOf('conv2d'), null);
  assert.equal(activationOf('toString'), null);
});

test('f and f prime match the core at hand-worked points, kinks included', () => {
  const table = [
    ['relu', -1, {}, 0, 0], ['relu', 0, {}, 0, 0], ['relu', 2, {}, 2, 1],
    ['leakyrelu', -2, { negative_slope: 0.2 }, -0.4, 0.2], ['leakyrelu', 0, {}, 0, 0.01],
    ['relu6', 6, {}, 6, 0], ['relu6', 3, {}, 3, 1], ['relu6', 0, {}, 0, 0],
    ['sigmoid', 0, {}, 0.5, 0.25], ['tanh', 0, {}, 0, 1], ['sign', -3, {}, -1, 0],
    ['identity', 4, {}, 4, 1],
    ['clamp', 1, { min_val: -1, max_val: 1 }, 1, 1], ['clamp', 2, { min_val: -1, max_val: 1 }, 1, 0],
    ['clamp', -5, { min_val: null, max_val: 1 }, -5, 1],
  ];
  for (const [kind, x, config, y, dy] of table) {
    const got = evaluateAt(kind, x, config);
    assert.ok(Math.abs(got.y - y) < 1e-12 && Math.abs(got.dy - dy) < 1e-12, `${kind}(${x})`);
  }
  const t = evaluateAt('tanh', 1);
  assert.ok(Math.abs(t.dy - (1 - Math.tanh(1) ** 2)) < 1e-15);
  assert.equal(evaluateAt('maxpool2d', 1), null);
});

test('short prints three significant digits with a real minus sign', () => {
  assert.equal(short(-4.5900000001), '−4.59');
  assert.equal(short(0.25), '0.25');
  assert.equal(short(0), '0');
  assert.equal(short(1.2e-7), '1.2e-7');
});

test('saturation runs read as words over the plotted range', () => {
  assert.equal(saturationText([], [-8, 8]), 'Never saturates in [−8, 8]: |f′| < 0.01 nowhere.');
  assert.equal(saturationText([[-8, -4.59], [4.59, 8]], [-8, 8]),
    'Saturates (|f′| < 0.01) for x ≤ −4.59 and x ≥ 4.59.');
  assert.equal(saturationText([[-8, 8]], [-8, 8]), 'Saturates everywhere in [−8, 8] (|f′| < 0.01).');
  assert.equal(saturationText([[-2, 0], [6, 8]], [-8, 8]),
    'Saturates (|f′| < 0.01) for −2 ≤ x ≤ 0 and x ≥ 6.');
  assert.equal(Object.keys(ACTIVATIONS)[0], 'sign');
});
