import test from 'node:test';
import assert from 'node:assert/strict';
import {
  colourOf, diverging, fmt, NEUTRAL, rangeOf, sequential, unionRange,
} from '../../static/js/render/colormap.js';

test('diverging maps zero to the neutral colour whatever the scale', () => {
  assert.deepEqual(diverging(0, 1), NEUTRAL);
  assert.deepEqual(diverging(0, 1e-9), NEUTRAL);
  assert.deepEqual(diverging(0, 0), NEUTRAL);
});

test('diverging is blue below zero and red above, saturating at maxAbs', () => {
  const [rNeg, , bNeg] = diverging(-2, 2);
  const [rPos, , bPos] = diverging(2, 2);
  assert.ok(bNeg > rNeg, 'negative values are blue');
  assert.ok(rPos > bPos, 'positive values are red');
  assert.deepEqual(diverging(-5, 2), diverging(-2, 2));
  assert.deepEqual(diverging(5, 2), diverging(2, 2));
});

test('diverging is symmetric in lightness: |v| decides how far from neutral', () => {
  const distance = (c) => Math.hypot(...c.map((x, k) => x - NEUTRAL[k]));
  assert.ok(distance(diverging(0.5, 1)) < distance(diverging(1, 1)));
  assert.ok(distance(diverging(-0.5, 1)) < distance(diverging(-1, 1)));
});

test('sequential runs from viridis purple to yellow and clamps', () => {
  assert.deepEqual(sequential(0), [68, 1, 84]);
  assert.deepEqual(sequential(1), [253, 231, 37]);
  assert.deepEqual(sequential(-3), sequential(0));
  assert.deepEqual(sequential(7), sequential(1));
  // Lightness (green channel of viridis) increases monotonically.
  let previous = -1;
  for (let t = 0; t <= 1; t += 0.05) {
    const [, g] = sequential(t);
    assert.ok(g >= previous);
    previous = g;
  }
});

test('colourOf uses the diverging map for signed scales and min..max for sequential ones', () => {
  assert.deepEqual(colourOf(0, { signed: true, min: -3, max: 1 }), NEUTRAL);
  assert.deepEqual(colourOf(-3, { signed: true, min: -3, max: 1 }), diverging(-3, 3));
  assert.deepEqual(colourOf(5, { signed: false, min: 5, max: 9 }), sequential(0));
  assert.deepEqual(colourOf(9, { signed: false, min: 5, max: 9 }), sequential(1));
  assert.deepEqual(colourOf(4, { signed: false, min: 4, max: 4 }), sequential(0));
});

test('fmt gives 4 significant digits', () => {
  assert.equal(fmt(0.982345), '0.9823');
  assert.equal(fmt(-12.3456), '-12.35');
  assert.equal(fmt(1200), '1200');
  assert.equal(fmt(0), '0');
  assert.equal(fmt(1.5e-7), '1.5e-7');
  assert.equal(fmt(-2.34567e9), '-2.346e9');
  assert.equal(fmt(NaN), '—');
});

test('rangeOf covers a slice and unionRange merges ranges', () => {
  const data = Float32Array.from([5, -1, 3, 8, -7]);
  assert.deepEqual(rangeOf(data), { min: -7, max: 8 });
  assert.deepEqual(rangeOf(data, 1, 3), { min: -1, max: 3 });
  assert.deepEqual(rangeOf(data, 2, 2), { min: 0, max: 0 });
  assert.deepEqual(unionRange([{ min: -1, max: 2 }, { min: 0, max: 5 }]), { min: -1, max: 5 });
});
