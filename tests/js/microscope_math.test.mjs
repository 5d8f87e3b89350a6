import test from 'node:test';
import assert from 'node:assert/strict';
import {
  channelSum, completenessText, lrFromSlider, maxAbs, methodFields, occlusionToInput,
  predictionAgreement, requestInit, sliderFromLr, syncClasses, upsampleNearest,
} from '../../static/js/views/microscope_math.js';

test('a sample or a canvas is sent as JSON with the fields; empty fields are left out', () => {
  const init = requestInit({ sample: 7 }, { method: 'grad_cam', layer: '', target: null, lr: 0.1 });
  assert.equal(init.headers['Content-Type'], 'application/json');
  assert.deepEqual(JSON.parse(init.body), { sample: 7, method: 'grad_cam', lr: 0.1 });
  const pixels = requestInit({ pixels: [[0, 255]] }, { target: 3 });
  assert.deepEqual(JSON.parse(pixels.body), { pixels: [[0, 255]], target: 3 });
  assert.throws(() => requestInit({}, {}), /input must be/);
});

test('a file is sent as multipart with the fields as text', () => {
  const file = new Blob(['png'], { type: 'image/png' });
  file.name = 'seven.png';
  const init = requestInit({ file }, { method: 'occlusion', patch: 4 });
  assert.ok(init.body instanceof FormData);
  assert.equal(init.body.get('patch'), '4');
  assert.equal(init.body.get('method'), 'occlusion');
  assert.ok(init.body.get('image'));
});

test('each method sends only its own parameters, as numbers', () => {
  const values = { layer: 'conv2', steps: '64', baseline: '0', n_samples: '25', sigma: '0.15',
    seed: '0', patch: '4', stride: '2' };
  assert.deepEqual(methodFields('saliency', values), { method: 'saliency' });
  assert.deepEqual(methodFields('grad_cam', values), { method: 'grad_cam', layer: 'conv2' });
  assert.deepEqual(methodFields('integrated_gradients', values),
    { method: 'integrated_gradients', steps: 64, baseline: 0 });
  assert.deepEqual(methodFields('occlusion', { ...values, baseline: '' }),
    { method: 'occlusion', patch: 4, stride: 2 });
});

test('the learning-rate slider is logarithmic and round-trips', () => {
  assert.equal(lrFromSlider(-2), 0.01);
  assert.equal(lrFromSlider(0), 1);
  assert.equal(lrFromSlider(-1.5), 0.0316);
  assert.equal(lrFromSlider(9), 10);
  assert.equal(lrFromSlider(-9), 1e-5);
  assert.equal(sliderFromLr(0.001), -3);
  assert.equal(sliderFromLr(1e6), 1);
});

test('channels are summed into one plane', () => {
  const t = { shape: [2, 1, 3], data: Float32Array.from([1, 2, 3, 10, 20, 30]) };
  assert.deepEqual(channelSum(t), { data: Float64Array.from([11, 22, 33]), h: 1, w: 3 });
  const plane = channelSum({ shape: [2, 2], data: [1, 2, 3, 4] });
  assert.equal(plane.h, 2);
  assert.deepEqual([...plane.data], [1, 2, 3, 4]);
});

test('nearest upsampling repeats each cell over its block', () => {
  const up = upsampleNearest([1, 2, 3, 4], 2, 2, 4, 4);
  assert.deepEqual([...up], [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  assert.deepEqual([...upsampleNearest([5], 1, 1, 2, 3)], [5, 5, 5, 5, 5, 5]);
});

test('occlusion drops become the mean over the patches covering each pixel', () => {
  // 1x4 input, patch 1x2 at lefts 0, 2 and 1 (overlapping), drops 1, 3 and 5
  const map = occlusionToInput([1, 5, 3], [0], [0, 1, 2], [1, 2], 1, 4);
  assert.deepEqual([...map], [1, 3, 4, 3]);
  const gaps = occlusionToInput([2], [0], [0], [1, 1], 1, 3);
  assert.equal(gaps[0], 2);
  assert.ok(Number.isNaN(gaps[1]) && Number.isNaN(gaps[2]));
});

test('predicted and actual loss changes: agree, roughly, disagree', () => {
  assert.equal(predictionAgreement(-1.0, -0.99).verdict, 'agree');
  assert.equal(predictionAgreement(-1.0, -0.8).verdict, 'roughly');
  assert.equal(predictionAgreement(-475, -15).verdict, 'disagree');
  assert.equal(predictionAgreement(0, 0).relativeError, 0);
});

test('completeness reads as one sentence with the gap in percent', () => {
  const text = completenessText({ sum: 21.9, f_x: 20.9, f_baseline: -1, gap: 0.0012 });
  assert.match(text, /Σ attributions = 21.9/);
  assert.match(text, /= 20.9 − \(-1\) = 21.9; gap 0.12%/);
});

test('maxAbs ignores NaN', () => {
  assert.equal(maxAbs([1, -3, NaN, 2]), 3);
  assert.equal(maxAbs([]), 0);
});

test('class pickers list the prediction first, then every class, keeping the choice', () => {
  const options = [];
  const select = {
    get options() { return options; },
    value: '',
    replaceChildren(...items) { options.splice(0, options.length, ...items); },
  };
  const make = (value, text) => ({ value, text });
  syncClasses(select, ['cat', 'dog'], make);
  assert.deepEqual(options.map((o) => o.text), ['the prediction', '0: cat', '1: dog']);
  select.value = '1';
  syncClasses(select, ['cat', 'dog'], make);
  assert.equal(select.value, '1');
  syncClasses(select, ['a'], make);
  assert.equal(select.value, '');
  syncClasses(select, undefined, make);
  assert.equal(options.length, 2);
});
