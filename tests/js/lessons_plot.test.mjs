import assert from 'node:assert/strict';
import test from 'node:test';

import {
  clamp, divergingColour, extent, linearScale, nearestPoint, niceStep, probabilityColour, ticks,
} from '../../static/js/lessons/plot.js';

test('linearScale maps and inverts, also for a flipped range (y up)', () => {
  const s = linearScale([-2.5, 2.5], [400, 0]);
  assert.equal(s(-2.5), 400);
  assert.equal(s(2.5), 0);
  assert.equal(s(0), 200);
  assert.equal(s.invert(100), 1.25);
});

test('ticks cover the range on multiples of the step without float noise', () => {
  assert.deepEqual(ticks(-2.5, 2.5, 1), [-2, -1, 0, 1, 2]);
  assert.deepEqual(ticks(0, 0.3, 0.1), [0, 0.1, 0.2, 0.3]);
});

test('niceStep picks 1, 2 or 5 times a power of ten', () => {
  assert.equal(niceStep(10, 5), 2);
  assert.equal(niceStep(1, 4), 0.2);
  assert.equal(niceStep(700, 5), 100);
  assert.equal(niceStep(0), 1);
});

test('probabilityColour is white at 1/2 and leans to the class colours', () => {
  assert.deepEqual(probabilityColour(0.5), [255, 255, 255]);
  const [r0, , b0] = probabilityColour(0);
  const [r1, , b1] = probabilityColour(1);
  assert.ok(b0 > r0, 'class 0 is blue');
  assert.ok(r1 > b1, 'class 1 is orange');
  assert.deepEqual(probabilityColour(NaN), [255, 255, 255]);
});

test('nearestPoint finds the closest point within the radius, else -1', () => {
  const pts = [{ x: 0, y: 0 }, { x: 1, y: 1 }];
  assert.equal(nearestPoint(pts, 0.9, 0.8, 0.5), 1);
  assert.equal(nearestPoint(pts, 3, 3, 0.5), -1);
});

test('clamp, extent and divergingColour', () => {
  assert.equal(clamp(5, 0, 1), 1);
  assert.deepEqual(extent([[1, -2], [3]]), [-2, 3]);
  assert.equal(divergingColour(0, 1), 'rgb(255, 255, 255)');
  assert.equal(divergingColour(5, 1), 'rgb(178, 24, 43)');
});
