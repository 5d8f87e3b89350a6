// The model picker and the gallery that goes with each model: bundled models and the user's
// uploaded ones (grouped), and the held-out samples of the dataset that fits the chosen model
// (the digits for 1-channel models, the colour shapes for 3-channel ones).

import * as api from '../api.js';
import { renderSamples } from './input.js';
import { mount as mountOpenModel } from './open_model.js';

const GALLERY_TEXT = {
  digits: { hint: '(held-out MNIST digits)', label: 'Sample digits' },
  'colour-shapes': { hint: '(held-out colour shapes)', label: 'Sample colour shapes' },
};

/** The gallery whose samples fit a model summary: its `dataset` when the server names one,
 * else the colour shapes for a 3-channel input and the digits otherwise. */
export function datasetFor(model) {
  if (model && GALLERY_TEXT[model.dataset]) return model.dataset;
  return model && Array.isArray(model.input_shape) && model.input_shape[0] === 3
    ? 'colour-shapes' : 'digits';
}

/** Is a model the user's (uploaded, e.g. source "onnx", or trained), not bundled? */
export function isUsers(model) {
  return Boolean(model.source) && model.source !== 'bundled';
}

/** Give each layer of a trace its parameters from the model card (same model, same order). */
export function attachWeights(trace, layerInfo) {
  trace.layers.forEach((layer, i) => {
    const info = layerInfo[i];
    if (!layer.params && info && info.name === layer.name && info.params) layer.params = info.params;
    if (!layer.buffers && info && info.name === layer.name && info.buffers) layer.buffers = info.buffers;
  });
}

/** Split model summaries into the picker's groups: [[label, models], ...], empty groups left
 * out. The user's models (uploaded or trained) come after the bundled ones. */
export function pickerGroups(models) {
  const uploaded = models.filter(isUsers);
  const bundled = models.filter((m) => !isUsers(m));
  return [['Bundled models', bundled], ['Your models', uploaded]].filter(([, list]) => list.length);
}

/** The option text of a model: its name, and for an uploaded one its input shape. */
export function optionText(model) {
  const shape = Array.isArray(model.input_shape) ? ` (${model.input_shape.join('×')})` : '';
  return isUsers(model) ? `${model.name}${shape}` : model.name;
}

/**
 * Wire the picker, and the "Open your model" band (#open-model inside root), whose imported
 * model joins the picker and is chosen (a change event, as if the user picked it).
 * Returns {load, showGallery, add, model, firstInput}:
 * - load(): fill the select from GET /api/v1/models; resolves to the summaries;
 * - showGallery(modelId): show the samples that fit that model (reloaded only when the
 *   dataset changes); resolves to them;
 * - add(summary): add (or refresh) a model in the picker, e.g. one just uploaded;
 * - model(modelId): the summary of a listed model.
 */
export function initModelPicker({ select, gallery, root, onPick }) {
  const galleryHint = root.querySelector('#gallery-hint');
  const openModel = root.querySelector('#open-model');
  let models = [];
  let shownDataset = null;
  let shownSamples = [];

  function fill() {
    const current = select.value;
    select.replaceChildren(...pickerGroups(models).map(([label, list]) => {
      const group = document.createElement('optgroup');
      group.label = label;
      group.append(...list.map((m) => new Option(optionText(m), m.id)));
      return group;
    }));
    if (current && models.some((m) => m.id === current)) select.value = current;
  }

  async function load() {
    models = await api.listModels();
    fill();
    return models;
  }

  /** The page's default input for a gallery: its first sample, or null when it is empty. */
  function firstInput(samples) {
    return samples.length ? { sample: samples[0].id } : null;
  }

  function model(modelId) {
    return models.find((m) => m.id === modelId) || null;
  }

  async function showGallery(modelId) {
    const dataset = datasetFor(model(modelId));
    if (dataset === shownDataset) return shownSamples;
    const samples = await api.listSamples({ dataset });
    shownDataset = dataset;
    shownSamples = samples;
    const text = GALLERY_TEXT[dataset];
    if (galleryHint) galleryHint.textContent = text.hint;
    gallery.setAttribute('aria-label', text.label);
    gallery.dataset.dataset = dataset;
    const classes = model(modelId)?.classes;
    renderSamples(gallery, samples, onPick, classes);
    return samples;
  }

  function add(summary) {
    models = [...models.filter((m) => m.id !== summary.id), { source: 'onnx', ...summary }];
    fill();
  }

  if (openModel) {
    mountOpenModel(openModel, {
      toggle: root.querySelector('#open-model-toggle'),
      onOpened: (summary) => {
        add(summary);
        select.value = summary.id;
        select.dispatchEvent(new Event('change'));
      },
    });
  }

  return { load, showGallery, add, model, firstInput };
}
