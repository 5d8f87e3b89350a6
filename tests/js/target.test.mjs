import test from 'node:test';
import assert from 'node:assert/strict';
import { autoTarget, runnerUp, targetText } from '../../static/js/views/target.js';

const trace = {
  classes: [...'0123456789'],
  probabilities: [1e-9, 2e-8, 0.9999, 1e-4, 0, 0, 0, 0, 0, 0],
  logits: [0, 3, 20, 10.8, -5, -5, -5, -5, -5, -5],
  prediction: 2,
  target: 3,
};

test('the runner-up is the second most probable class', () => {
  assert.equal(runnerUp(trace.probabilities), 3);
  assert.equal(runnerUp([0.5, 0.5]), 1);
  assert.equal(runnerUp([0.1, 0.2, 0.7]), 1);
});

test('auto is the prediction forward and the runner-up backward', () => {
  assert.equal(autoTarget(trace, 'forward'), 2);
  assert.equal(autoTarget(trace, 'backward'), 3);
});

test('the page says which target the backward view shows and why', () => {
  const text = targetText(trace, 'backward', null);
  assert.match(text, /runner-up/);
  assert.match(text, /why is the answer not 3\?/);
  assert.match(text, /predicted class 2/);
  assert.match(targetText({ ...trace, target: 5 }, 'backward', 5), /class 5 .*as chosen/);
});
