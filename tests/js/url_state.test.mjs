import assert from 'node:assert/strict';
import test from 'node:test';

import { linkedStart, parseLink, resolveUnit, serializeLink } from '../../static/js/url_state.js';

const MODELS = [
  { id: 'lenet5', classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] },
  { id: 'lenet5-classic', classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] },
  { id: 'tiny', classes: ['a', 'b'] },
];
const SAMPLES = [{ id: 0 }, { id: 1 }, { id: 7 }];
const TRACE = {
  classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  layers: [
    { name: 'conv1', output_shape: [6, 28, 28] },
    { name: 'relu1', output_shape: [6, 28, 28] },
    { name: 'flatten', output_shape: [400] },
    { name: 'fc3', output_shape: [10] },
  ],
};

test('parseLink reads every field and drops malformed ones to null or the default', () => {
  const table = [
    ['?model=lenet5&sample=7&layer=conv1&unit=2,3,4&mode=backward&target=3&tour=1',
      { model: 'lenet5', sample: 7, layer: 'conv1', unit: [2, 3, 4], mode: 'backward', target: 3, tour: true }],
    ['', { model: null, sample: null, layer: null, unit: null, mode: 'forward', target: null, tour: false }],
    ['?sample=-1&target=1.5&mode=sideways&unit=1,2', { sample: null, target: null, mode: 'forward', unit: null }],
    ['?sample=07&unit=a,b,c&model=%3Cscript%3E', { sample: null, unit: null, model: null }],
    ['?sample=99999999999&unit=5', { sample: null, unit: [5] }],
    ['?unit=1,%202,3&tour=yes', { unit: [1, 2, 3], tour: false }],
    ['?target=&sample=&layer=', { target: null, sample: null, layer: null }],
  ];
  for (const [search, expected] of table) {
    const got = parseLink(search);
    for (const [key, value] of Object.entries(expected)) assert.deepEqual(got[key], value, `${search} ${key}`);
  }
});

test('linkedStart keeps only values the page has, else the defaults', () => {
  const table = [
    ['?model=lenet5-classic&sample=7&mode=backward&target=9', { model: 'lenet5-classic', sample: 7, mode: 'backward', target: 9 }],
    ['?model=nope&sample=5', { model: 'lenet5', sample: 0, mode: 'forward', target: null }],
    ['?model=tiny&target=2', { model: 'tiny', sample: 0, mode: 'forward', target: null }],
    ['?model=tiny&target=1', { model: 'tiny', sample: 0, mode: 'forward', target: 1 }],
    ['', { model: 'lenet5', sample: 0, mode: 'forward', target: null }],
  ];
  for (const [search, expected] of table) assert.deepEqual(linkedStart(search, MODELS, SAMPLES), expected, search);
  assert.deepEqual(linkedStart('?model=x', [], []), { model: null, sample: null, mode: 'forward', target: null });
});

test('resolveUnit finds the layer by name and bounds the unit by its shape', () => {
  const r = (search) => resolveUnit(parseLink(search), TRACE);
  const table = [
    ['?layer=relu1&unit=5,27,27', { layerIndex: 1, channel: 5, y: 27, x: 27 }],
    ['?layer=relu1&unit=6,0,0', { layerIndex: 1, channel: 0, y: 0, x: 0 }],
    ['?layer=relu1&unit=0,28,0', { layerIndex: 1, channel: 0, y: 0, x: 0 }],
    ['?layer=relu1', { layerIndex: 1, channel: 0, y: 0, x: 0 }],
    ['?layer=flatten&unit=399', { layerIndex: 2, channel: 399, y: 0, x: 0 }],
    ['?layer=flatten&unit=400', { layerIndex: 2, channel: 0, y: 0, x: 0 }],
    ['?layer=flatten&unit=1,2,3', { layerIndex: 2, channel: 0, y: 0, x: 0 }],
    ['?layer=softmax&unit=9', { layerIndex: 4, channel: 9, y: 0, x: 0 }],
    ['?layer=conv9&unit=0,0,0', null],
    ['?unit=0,0,0', null],
  ];
  for (const [search, expected] of table) assert.deepEqual(r(search), expected, search);
  assert.equal(resolveUnit(parseLink('?layer=conv1'), null), null);
});

test('serializeLink writes what parseLink and resolveUnit read back', () => {
  const states = [
    { modelId: 'lenet5', input: { sample: 7 }, mode: 'backward', target: 3, selected: { layerIndex: 1, channel: 2, y: 3, x: 4 } },
    { modelId: 'lenet5', input: { sample: 0 }, mode: 'forward', target: null, selected: { layerIndex: 3, channel: 8, y: 0, x: 0 } },
    { modelId: 'lenet5', input: { sample: 1 }, mode: 'forward', target: null, selected: { layerIndex: 4, channel: 2, y: 0, x: 0 } },
    { modelId: 'lenet5', input: { sample: 1 }, mode: 'forward', target: 0, selected: null },
  ];
  for (const state of states) {
    const search = serializeLink({ ...state, trace: TRACE });
    const link = parseLink(search);
    assert.equal(link.model, state.modelId);
    assert.equal(link.sample, state.input.sample);
    assert.equal(link.mode, state.mode);
    assert.equal(link.target, state.target);
    assert.deepEqual(resolveUnit(link, TRACE), state.selected, search);
  }
  assert.equal(serializeLink({ modelId: 'lenet5', input: { sample: 7 }, mode: 'backward', target: 3,
    selected: { layerIndex: 1, channel: 2, y: 3, x: 4 }, trace: TRACE }),
  '?model=lenet5&sample=7&layer=relu1&unit=2,3,4&mode=backward&target=3');
  assert.equal(serializeLink({ modelId: 'm', input: { pixels: [[0]] }, mode: 'forward', target: null, selected: null, trace: TRACE }),
    '?model=m&mode=forward');
});
