import test from 'node:test';
import assert from 'node:assert/strict';
import {
  errorText, formatBytes, inputFields, parseClasses, parseNumberList, progressText,
} from '../../static/js/views/open_model.js';
import { datasetFor, optionText, pickerGroups } from '../../static/js/views/model_picker.js';
import { channelNames } from '../../static/js/views/input.js';

test('mean and std are 1 or 3 numbers, separated by commas or spaces', () => {
  assert.deepEqual(parseNumberList('0.485, 0.456, 0.406', 'mean'), { values: [0.485, 0.456, 0.406] });
  assert.deepEqual(parseNumberList('[0.5 0.5 0.5]', 'mean'), { values: [0.5, 0.5, 0.5] });
  assert.deepEqual(parseNumberList('  ', 'mean'), { values: null });
  assert.match(parseNumberList('0.1, 0.2', 'mean').error, /1 value .* or 3/);
  assert.match(parseNumberList('0.1, abc, 3', 'std').error, /^std: write numbers/);
  assert.match(inputFields({ mean: '', std: '1, 0, 1', colourOrder: '' }).error, /above 0/);
  assert.deepEqual(inputFields({ mean: '0.5', std: '', colourOrder: 'bgr' }),
    { input: { mean: [0.5], colour_order: 'bgr' } });
  assert.deepEqual(inputFields({ mean: '', std: '', colourOrder: '' }), { input: {} });
});

test('classes are a JSON list or one label a line', () => {
  assert.deepEqual(parseClasses('["cat", "dog"]'), ['cat', 'dog']);
  assert.deepEqual(parseClasses('cat\n\n dog \r\nbird\n'), ['cat', 'dog', 'bird']);
  assert.deepEqual(parseClasses(''), []);
  assert.deepEqual(parseClasses('[not json'), ['[not json']);
});

test('progress says how much went up, then that the server imports', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.5 KB');
  assert.equal(progressText({ stage: 'uploading', loaded: 1.5e6, total: 3e6 }), 'Uploading 1.5 MB of 3.0 MB (50%)');
  assert.match(progressText({ stage: 'importing' }), /^Importing/);
});

test('an import error shows the server message, which names the operator, and its code', () => {
  const error = { status: 422, code: 'unsupported_operator', message: "unsupported operator 'LSTM' (node lstm_0, opset 17)" };
  assert.equal(errorText(error),
    "Could not open this model: unsupported operator 'LSTM' (node lstm_0, opset 17) (unsupported_operator, HTTP 422)");
});

test('the picker groups uploaded models after the bundled ones, and picks each one a gallery', () => {
  const models = [
    { id: 'lenet5', name: 'LeNet-5', input_shape: [1, 28, 28] },
    { id: 'ab12', name: 'my net', input_shape: [3, 32, 32], source: 'onnx' },
    { id: 'cd34', name: 'trained', input_shape: [1, 28, 28], source: 'trained' },
    { id: 'colour-cnn', name: 'Colour CNN', input_shape: [3, 20, 20], source: 'bundled' },
  ];
  const groups = pickerGroups(models);
  assert.deepEqual(groups.map(([label, list]) => [label, list.map((m) => m.id)]),
    [['Bundled models', ['lenet5', 'colour-cnn']], ['Your models', ['ab12', 'cd34']]]);
  assert.deepEqual(pickerGroups(models.slice(0, 1)).map(([label]) => label), ['Bundled models']);
  assert.equal(optionText(models[1]), 'my net (3×32×32)');
  assert.equal(optionText(models[0]), 'LeNet-5');
  assert.equal(datasetFor(models[0]), 'digits');
  assert.equal(datasetFor(models[3]), 'colour-shapes');
  assert.equal(datasetFor({ input_shape: [3, 20, 20], dataset: 'digits' }), 'digits');
  assert.equal(datasetFor(null), 'digits');
});

test('a colour input names its channels in the network order', () => {
  assert.deepEqual(channelNames({ colour_order: 'rgb' }, 3), ['red ', 'green ', 'blue ']);
  assert.deepEqual(channelNames({ colour_order: 'bgr' }, 3), ['blue ', 'green ', 'red ']);
  assert.deepEqual(channelNames(undefined, 1), ['']);
});
