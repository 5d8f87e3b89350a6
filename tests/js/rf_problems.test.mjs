import test from 'node:test';
import assert from 'node:assert/strict';
import { fieldProblems, problemText } from '../../static/js/pages/rf_problems.js';

const pydantic = {
  message: 'body.layers.0.kernel_size.int: Input should be a valid integer',
  details: {
    problems: [
      { loc: ['body', 'layers', '0', 'kernel_size', 'int'], msg: 'Input should be a valid integer', type: 'int_type' },
      { loc: ['body', 'layers', '0', 'kernel_size', 'list[int]'], msg: 'Input should be a valid list', type: 'list_type' },
    ],
  },
};

test('a 422 from validation becomes one message per field, naming layer and field in words', () => {
  const problems = fieldProblems(pydantic);
  assert.deepEqual(problems, [{ layer: 0, field: 'kernel_size', message: 'must be a whole number, or two as h,w' }]);
  assert.equal(problemText(problems[0]), 'Layer 1, kernel: must be a whole number, or two as h,w');
  assert.doesNotMatch(problemText(problems[0]), /body\.|Input should|\.int/);
});

test('the input size and range problems are named too', () => {
  const problems = fieldProblems({ details: { problems: [
    { loc: ['body', 'input_size', 'list[int]', '0'], msg: 'Input should be a valid integer', type: 'int_type' },
    { loc: ['body', 'layers', '2', 'stride'], msg: 'Input should be greater than or equal to 1', type: 'greater_than_equal', ctx: { ge: 1 } },
  ] } });
  assert.equal(problemText(problems[0]), 'input size: must be two whole numbers (height, width)');
  assert.equal(problemText(problems[1]), 'Layer 3, stride: must be at least 1');
});

test('an error naming one layer and field keeps the server sentence, without its prefix', () => {
  const [problem] = fieldProblems({
    message: 'layer 0 (conv2d1): stride must be >= 1, got 0x0',
    details: { layer: 0, field: 'stride', name: 'conv2d1' },
  });
  assert.deepEqual(problem, { layer: 0, field: 'stride', message: 'stride must be >= 1, got 0x0' });
  assert.equal(problemText(problem), 'Layer 1: stride must be >= 1, got 0x0');
});

test('an error without field information gives no field problems', () => {
  assert.deepEqual(fieldProblems({ message: 'busy', details: {} }), []);
});
