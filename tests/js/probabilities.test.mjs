import test from 'node:test';
import assert from 'node:assert/strict';
import { percent, predictionText } from '../../static/js/views/probabilities.js';

test('percent shows 4 significant digits through the one number formatter', () => {
  assert.equal(percent(0.982), '98.2%');
  assert.equal(percent(1), '100%');
  assert.equal(percent(0.0123), '1.23%');
  assert.equal(percent(0.000123), '0.0123%');
  assert.equal(percent(0), '0%');
});

test('percent keeps tiny probabilities visible and short, never "0" or "<0.01%"', () => {
  assert.equal(percent(1.23e-8), '1.23e-6%');
  assert.equal(percent(9.99e-5), '0.00999%');
  for (const p of [1e-3, 1e-4, 1.5e-4, 3e-7, 1e-30]) {
    assert.ok(percent(p).length <= 10, percent(p));
    assert.notEqual(percent(p), '0%');
  }
});

test('the prediction is stated in words with its probability', () => {
  const trace = { prediction: 7, classes: [...'0123456789'], probabilities: Array(10).fill(0) };
  trace.probabilities[7] = 0.98234;
  assert.equal(predictionText(trace), 'Prediction: 7 (98.23%)');
});
