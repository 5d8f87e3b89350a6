import assert from 'node:assert/strict';
import test from 'node:test';

import {
  byWidth, firstArgmax, foreignCharacters, fraction, ramp, responseScale, tokenLabel, windowCells,
} from '../../static/js/lessons/text.js';

test('firstArgmax gives ties to the first maximum, like max-over-time pooling', () => {
  assert.equal(firstArgmax([0, 2, 1, 2]), 1);
  assert.equal(firstArgmax([0, 0, 0]), 0);
  assert.equal(firstArgmax([]), -1);
});

test('a window of width k at position p covers tokens p to p + k - 1', () => {
  assert.deepEqual(windowCells(3, 3), [3, 4, 5]);
  assert.deepEqual(windowCells(0, 2), [0, 1]);
});

test('padding shows as a middle dot', () => {
  assert.equal(tokenLabel(null), '·');
  assert.equal(tokenLabel('a'), 'a');
});

test('one response scale for every filter, and fractions clamped to [0, 1]', () => {
  const filters = [{ width: 2, response: [0, 1.5] }, { width: 3, response: [3, 0] }];
  assert.equal(responseScale(filters), 3);
  assert.equal(fraction(1.5, 3), 0.5);
  assert.equal(fraction(4, 3), 1);
  assert.equal(fraction(1, 0), 0);
  assert.deepEqual(byWidth(filters).map(([w, fs]) => [w, fs.length]), [[2, 1], [3, 1]]);
});

test('foreignCharacters lists each character outside the alphabet once', () => {
  assert.deepEqual(foreignCharacters('hello', 'abcdefgh'), ['l', 'o']);
  assert.deepEqual(foreignCharacters('abc', 'abcdefgh'), []);
});

test('ramp runs from white to the given colour', () => {
  assert.equal(ramp(0, [8, 48, 107]), 'rgb(255, 255, 255)');
  assert.equal(ramp(1, [8, 48, 107]), 'rgb(8, 48, 107)');
  assert.equal(ramp(2, [0, 0, 0]), 'rgb(0, 0, 0)');
});
