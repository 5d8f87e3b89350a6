import test from 'node:test';
import assert from 'node:assert/strict';
import {
  cellGradient, decay, isSaturated, logRange, logTicks, lstmStep, nextStep, perStepScaled,
  powerLabel, previousStep, saturatedFraction, unitsBySteps,
} from '../../static/js/recurrent_math.js';

test('a sigmoid gate is saturated near 0 or 1, the tanh candidate g near -1 or 1', () => {
  assert.equal(isSaturated(0.96, 'f'), true);
  assert.equal(isSaturated(0.04, 'i'), true);
  assert.equal(isSaturated(0.5, 'o'), false);
  assert.equal(isSaturated(-0.97, 'g'), true);
  assert.equal(isSaturated(0.04, 'g'), false);
  assert.equal(saturatedFraction(Float32Array.from([0.99, 0.5, 0.01, 0.6]), 'f'), 0.5);
  assert.equal(saturatedFraction([], 'f'), 0);
});

test('unitsBySteps turns a (T, H) time axis into units down and steps across', () => {
  // T = 2 steps, H = 3 units: data[t * 3 + u] = 10 t + u
  const data = [0, 1, 2, 10, 11, 12];
  assert.deepEqual(Array.from(unitsBySteps(data, 2, 3)), [0, 10, 1, 11, 2, 12]);
});

test('the previous and next steps follow the reading order of each direction', () => {
  assert.equal(previousStep(0, 28, false), null);
  assert.equal(previousStep(5, 28, false), 4);
  assert.equal(previousStep(27, 28, true), null);
  assert.equal(previousStep(5, 28, true), 6);
  assert.equal(nextStep(27, 28, false), null);
  assert.equal(nextStep(0, 28, true), null);
});

test('lstmStep is the cell update and the output gate by hand', () => {
  const step = lstmStep({ f: 0.5, cPrev: 2, i: 0.25, g: -0.8, o: 0.9 });
  assert.equal(step.keep, 1);
  assert.equal(step.write, -0.2);
  assert.ok(Math.abs(step.c - 0.8) < 1e-15);
  assert.ok(Math.abs(step.h - 0.9 * Math.tanh(0.8)) < 1e-15);
});

test('cellGradient adds the forget-gate product and the path through h', () => {
  const g = cellGradient({ fNext: 0.5, gradCNext: 4, gradH: 2, o: 0.5, c: 0 });
  assert.equal(g.throughForget, 2);
  assert.equal(g.throughH, 1);
  assert.equal(g.total, 3);
  assert.equal(cellGradient({ gradH: 1, o: 1, c: 0 }).throughForget, 0);
});

test('log axes bracket the positive values with whole powers of ten', () => {
  assert.deepEqual(logRange([0.002, 0.5, 0, 30]), { low: -3, high: 2 });
  assert.deepEqual(logRange([1, 1]), { low: 0, high: 1 });
  assert.equal(logRange([0, -1]), null);
  assert.deepEqual(logTicks({ low: -3, high: 2 }), [-3, -2, -1, 0, 1, 2]);
  assert.deepEqual(logTicks({ low: -20, high: 0 }, 6), [-20, -16, -12, -8, -4, 0]);
  assert.equal(powerLabel(-12), '10⁻¹²');
  assert.equal(powerLabel(3), '10³');
});

test('decay is the last step over the first', () => {
  assert.equal(decay([0.001, 0.1, 1]), 1000);
  assert.equal(decay([0, 1]), Infinity);
});

test('perStepScaled divides each step by its own largest magnitude', () => {
  const scaled = perStepScaled([2, -4, 0, 0, 1e-9, 5e-10], 3, 2);
  assert.deepEqual(Array.from(scaled), [0.5, -1, 0, 0, 1, 0.5]);
});
