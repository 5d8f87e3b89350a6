import test from 'node:test';
import assert from 'node:assert/strict';
import {
  agreement, agreementText, crossEntropyFromLogits, fmt, FLOAT32_RTOL, lossTolerance, magnitudeOf, percent,
} from '../../static/js/numbers.js';

const f32 = (x) => Math.fround(x);

test('fmt keeps small numbers visible: 2e-7 is printed as 2e-7, never 0', () => {
  assert.equal(fmt(2e-7), '2e-7');
  assert.equal(fmt(4.768e-7), '4.768e-7');
  assert.equal(fmt(-1.5e-30), '-1.5e-30');
  assert.equal(fmt(0), '0');
  assert.equal(fmt(0.98234), '0.9823');
  assert.equal(fmt(1234.5), '1235');
  assert.equal(fmt(NaN), '—');
});

test('percent goes through fmt: 4 significant digits, tiny values stay visible', () => {
  assert.equal(percent(0.98234), '98.23%');
  assert.equal(percent(2e-9), '2e-7%');
});

test('agreement accepts float32 rounding of the result', () => {
  const exact = 0.123456789;
  assert.ok(agreement(exact, f32(exact)).ok);
  assert.ok(agreement(1e-20, f32(1e-20)).ok);
  assert.ok(agreement(0, 0).ok);
});

test('agreement rejects a 16% difference that an absolute 1e-4 tolerance hid', () => {
  const result = agreement(4.11e-7, 4.768e-7);
  assert.equal(result.ok, false);
  assert.match(agreementText(result), /^✗ differs by 13\.8\d*%$/);
});

test('agreement rejects a 1e-3 relative difference at any scale', () => {
  for (const v of [1e-12, 3e-7, 0.5, 42, 7e8]) {
    assert.equal(agreement(v * (1 + 1e-3), v).ok, false, String(v));
    assert.ok(agreement(v * (1 + 1e-7), v).ok, String(v));
  }
});

test('a sum whose terms cancel is judged against the sum of |terms|, not |result|', () => {
  // Terms of size ~1 summing to ~1e-6: float32 rounding of the sum is ~1e-7 absolute.
  const terms = [0.7000001, -0.3, -0.4];
  const exact = terms.reduce((a, b) => a + b, 0);
  let f = 0;
  for (const t of terms) f = f32(f + f32(t));
  assert.equal(agreement(exact, f).ok, false, 'against |result| alone it would fail');
  assert.ok(agreement(exact, f, { magnitude: magnitudeOf(terms) }).ok);
  // ...but a real error of 1e-3 of the magnitude is still caught.
  assert.equal(agreement(exact + 1e-3, f, { magnitude: magnitudeOf(terms) }).ok, false);
});

test('a mismatch against a zero reference is stated as an absolute amount', () => {
  const result = agreement(1e-3, 0);
  assert.equal(result.ok, false);
  assert.equal(agreementText(result), '✗ differs by 0.001');
  assert.ok(agreement(1e-31, 0).ok, 'within the tiny absolute floor');
});

test('NaN never matches a number, and a non-finite value is called out', () => {
  assert.equal(agreement(NaN, 1).ok, false);
  assert.equal(agreementText(agreement(NaN, 1)), '✗ differs (not a finite number)');
  assert.ok(agreement(Infinity, Infinity).ok);
});

test('the default tolerance is float32-sized, about 1e-5 relative', () => {
  assert.equal(FLOAT32_RTOL, 1e-5);
  assert.ok(agreement(1 + 5e-6, 1).ok);
  assert.equal(agreement(1 + 5e-5, 1).ok, false);
});

test('cross-entropy by log-sum-exp is exact for a confident prediction', () => {
  // p(0) = 1 / (1 + e^-15): -log p(0) = log1p(e^-15) ~ 3.059e-7, where log(Σ exp) loses digits.
  const { loss } = crossEntropyFromLogits([15, 0, 0 - 1e-9], 0);
  const expected = Math.log1p(Math.exp(-15) + Math.exp(-15 - 1e-9));
  assert.ok(Math.abs(loss - expected) <= 1e-15 * expected);
  assert.ok(loss > 0);
  // A far-off target: the loss is the logit gap plus a small term.
  const far = crossEntropyFromLogits([10, -5], 1).loss;
  assert.ok(Math.abs(far - (15 + Math.log1p(Math.exp(-15)))) < 1e-12);
});

test('the loss tolerance is 1e-9 relative: a 1e-3 relative perturbation differs', () => {
  const { loss, shifted } = crossEntropyFromLogits([12.5, 1, -3, 0.25], 0);
  const tol = lossTolerance(shifted[0]);
  assert.ok(agreement(loss, loss * (1 + 1e-12), tol).ok);
  assert.equal(agreement(loss, loss * (1 + 1e-3), tol).ok, false);
  assert.equal(agreement(loss, loss * (1 + 1e-8), tol).ok, false);
});
