import test from 'node:test';
import assert from 'node:assert/strict';
import { moveUnit } from '../../static/js/views/overview.js';
import { isTie } from '../../static/js/views/pool.js';

test('arrow keys move a unit inside its map and stop at the edges', () => {
  const unit = { layerIndex: 1, channel: 2, y: 0, x: 5 };
  assert.deepEqual(moveUnit(unit, [0, 1], { h: 6, w: 6 }), { ...unit, x: 5 });
  assert.deepEqual(moveUnit(unit, [1, 0], { h: 6, w: 6 }), { ...unit, y: 1 });
  assert.deepEqual(moveUnit(unit, [-1, 0], { h: 6, w: 6 }), unit);
});

test('a dense unit moves along its strip and never past the last unit', () => {
  const dense = { rows: 4, cols: 3, n: 10 };   // units 0-3, 4-7, 8-9 down the columns
  const at = (channel) => ({ layerIndex: 7, channel, y: 0, x: 0 });
  assert.equal(moveUnit(at(0), [1, 0], { dense }).channel, 1);
  assert.equal(moveUnit(at(1), [0, 1], { dense }).channel, 5);
  assert.equal(moveUnit(at(7), [0, 1], { dense }).channel, 9);
});

test('a max-pool window is a tie when another cell holds the maximum', () => {
  assert.equal(isTie([0, 0, 0, 0], 0), true);
  assert.equal(isTie([0.5, 0, 0, 0], 0.5), false);
  assert.equal(isTie([null, 2, 2, 1], 2), true);
});
