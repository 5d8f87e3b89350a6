import test from 'node:test';
import assert from 'node:assert/strict';
import {
  axisCounts, copyOrigin, distinctCounts, outputSide, overlapCounts, partialSum, short, tapsOnto,
} from '../../static/js/views/convtranspose.js';

test('output side is (n - 1)s - 2p + k + output_padding', () => {
  assert.equal(outputSide(3, 3, 2), 7);
  assert.equal(outputSide(7, 3, 2, 1, 1), 14);  // the autoencoder's deconv1
  assert.equal(outputSide(14, 4, 2, 1), 28);    // and deconv2
});

test('k=3, s=2 overlaps unevenly: 1, 2, 1, 2, ... per axis, a checkerboard of 1, 2 and 4', () => {
  assert.deepEqual(axisCounts(3, 3, 2), [1, 1, 2, 1, 2, 1, 1]);
  const counts = overlapCounts(3, 3, 2);
  assert.deepEqual(counts[2], [2, 2, 4, 2, 4, 2, 2]);
  assert.deepEqual(distinctCounts(counts), [1, 2, 4]);
});

test('k=4, s=2 overlaps evenly: every interior pixel gets 2 taps per axis, 4 in 2-D', () => {
  const axis = axisCounts(4, 4, 2, 1);
  assert.deepEqual(axis, [1, 2, 2, 2, 2, 2, 2, 1]);
  const counts = overlapCounts(4, 4, 2, 1);
  assert.deepEqual(distinctCounts(counts.slice(1, -1).map((r) => r.slice(1, -1))), [4]);
});

test('stride 1 has no holes and stride > k leaves zeros between copies', () => {
  assert.deepEqual(axisCounts(3, 2, 1), [1, 2, 2, 1]);
  assert.deepEqual(axisCounts(2, 2, 3), [1, 1, 0, 1, 1]);
});

test('a copy lands at (row*s - p, col*s - p)', () => {
  assert.deepEqual(copyOrigin(2, 1, 2, 1), { top: 3, left: 1 });
});

test('the partial sums add one scaled kernel per input and end at the full output', () => {
  const input = [[1, 2], [3, 4]];
  const kernel = [[1, -1], [2, 0]];
  // Stride 1: a hand-worked transposed convolution.
  assert.deepEqual(partialSum(input, kernel, 1), [[1, 1, -2], [5, 5, -4], [6, 8, 0]]);
  assert.deepEqual(partialSum(input, kernel, 1, 0, 1), [[1, -1, 0], [2, 0, 0], [0, 0, 0]]);
  // Padding 1 crops the border.
  assert.deepEqual(partialSum(input, kernel, 1, 1), [[5]]);
});

test('short numbers drop trailing zeros and -0', () => {
  assert.equal(short(2), '2');
  assert.equal(short(-0), '0');
  assert.equal(short(0.125), '0.125');
  assert.equal(short(-0.0001), '0');
});

test('the taps onto one output are the (i, a) with i*s - p + a*d = o', () => {
  assert.deepEqual(tapsOnto(4, 3, 3, 2), [[2, 0], [1, 2]]);
  assert.deepEqual(tapsOnto(3, 3, 3, 2), [[1, 1]]);
  // Dilation 2 spreads the taps: k=2, d=2, s=1 on n=3 -> output side 5.
  assert.equal(outputSide(3, 2, 1, 0, 0, 2), 5);
  assert.deepEqual(tapsOnto(2, 3, 2, 1, 0, 2), [[2, 0], [0, 1]]);
  assert.deepEqual(axisCounts(3, 2, 1, 0, 0, 2), [1, 1, 2, 1, 1]);
});
