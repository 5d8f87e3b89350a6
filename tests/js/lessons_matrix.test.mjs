import assert from 'node:assert/strict';
import test from 'node:test';

import {
  cellSize, formatCount, formatNumber, tapColour, tapPosition, volumePosition,
} from '../../static/js/lessons/matrix.js';

test('tapColour gives one distinct colour per kernel weight and none for structural zeros', () => {
  const colours = Array.from({ length: 9 }, (_, i) => tapColour(i, 9));
  assert.equal(new Set(colours).size, 9);
  assert.match(colours[0], /^hsl\(\d+ 70% \d+%\)$/);
  assert.equal(tapColour(-1, 9), null);
});

test('tapPosition and volumePosition invert C-order flat indices', () => {
  assert.deepEqual(tapPosition(0, [1, 1, 3, 3]), [0, 0, 0, 0]);
  assert.deepEqual(tapPosition(5, [1, 1, 3, 3]), [0, 0, 1, 2]);
  assert.deepEqual(tapPosition(27 + 9 + 3 + 1, [2, 3, 3, 3]), [1, 1, 1, 1]);
  assert.deepEqual(volumePosition(7, [1, 5, 5]), [0, 1, 2]);
  assert.deepEqual(volumePosition(25 + 24, [2, 5, 5]), [1, 4, 4]);
});

test('cellSize fits the cells in the width within its bounds', () => {
  assert.equal(cellSize(350, 25), 14);
  assert.equal(cellSize(1000, 9), 28);
  assert.equal(cellSize(300, 192), 2);
});

test('formatNumber keeps integers and rounds the rest without -0', () => {
  assert.equal(formatNumber(3), '3');
  assert.equal(formatNumber(-0.0000000001), '0');
  assert.equal(formatNumber(1.23456), '1.235');
  assert.equal(formatNumber(0.5), '0.5');
});

test('formatCount separates thousands and names powers of ten', () => {
  assert.equal(formatCount(1e9), '1,000,000,000 (10⁹)');
  assert.equal(formatCount(266610), '266,610');
  assert.equal(formatCount(100), '100');
});

test('formatNumber shows a value within rounding of an integer as that integer', () => {
  assert.equal(formatNumber(19.99999999999), '20');
  assert.equal(formatNumber(-0.0004), '0');
});
