import test from 'node:test';
import assert from 'node:assert/strict';
import {
  applyEvent, emptyRun, extent, fractionDone, lrLabel, niceTicks,
} from '../../static/js/pages/train_math.js';

test('applyEvent folds step, epoch, layers, filters, status and end events into series', () => {
  const run = emptyRun();
  applyEvent(run, { id: 1, event: 'status', data: { status: 'running', step: 0 } });
  applyEvent(run, { id: 2, event: 'step', data: { step: 5, epoch: 1, loss: 2.3, lr: 0.05 } });
  applyEvent(run, { id: 3, event: 'epoch', data: {
    epoch: 1, step: 70, train_loss: 1.2, heldout_loss: 0.6, heldout_accuracy: 0.8,
    confusion: [[1, 0], [0, 1]] } });
  applyEvent(run, { id: 4, event: 'end', data: { status: 'done', model_id: 'abc' } });
  assert.deepEqual(run.losses, [[5, 2.3]]);
  assert.deepEqual(run.lrs, [[5, 0.05]]);
  assert.equal(run.epochs[0].heldout_accuracy, 0.8);
  assert.deepEqual(run.confusion, [[1, 0], [0, 1]]);
  assert.equal(run.status, 'done');
  assert.equal(run.end.model_id, 'abc');
  assert.equal(run.step, 70);
});

test('applyEvent ignores an event id already seen: a resumed stream never doubles a point', () => {
  const run = emptyRun();
  const event = { id: 7, event: 'step', data: { step: 35, epoch: 1, loss: 2.0, lr: 0.1 } };
  applyEvent(run, event);
  applyEvent(run, event);
  applyEvent(run, { id: 6, event: 'step', data: { step: 30, epoch: 1, loss: 2.1, lr: 0.1 } });
  assert.deepEqual(run.losses, [[35, 2.0]]);
});

test('a diverged run keeps the step where it diverged', () => {
  const run = emptyRun();
  applyEvent(run, { id: 1, event: 'status', data: { status: 'diverged', step: 18,
    diverged_at_step: 19, reason: 'the loss became NaN or infinite at step 19' } });
  assert.equal(run.divergedAt, 19);
  assert.equal(run.status, 'diverged');
});

test('extent skips non-finite values and widens a flat range', () => {
  assert.deepEqual(extent([3, NaN, 1, Infinity, 2]), [1, 3]);
  assert.deepEqual(extent([2, 2]), [1.8, 2.2]);
  assert.deepEqual(extent([]), [0, 1]);
});

test('niceTicks gives round steps covering the range', () => {
  assert.deepEqual(niceTicks(0.13, 2.31, 5), { ticks: [0, 0.5, 1, 1.5, 2, 2.5], lo: 0, hi: 2.5 });
  assert.deepEqual(niceTicks(0, 70, 4).ticks, [0, 20, 40, 60, 80]);
  assert.deepEqual(niceTicks(0.8, 0.96, 4).ticks, [0.8, 0.85, 0.9, 0.95, 1]);
  assert.deepEqual(niceTicks(0, 2, 4, true).ticks, [0, 1, 2]);
});

test('lrLabel and fractionDone', () => {
  assert.equal(lrLabel(1e-4), '1e−4');
  assert.equal(lrLabel(0.1), '1e−1');
  assert.equal(lrLabel(10), '10');
  assert.equal(fractionDone({ step: 35, total_steps: 70 }), 0.5);
  assert.equal(fractionDone({ step: 0, total_steps: 0 }), 0);
});
