// The attribution panel on the inspect page: "why this class?". A method picker with what each
// method answers and its formula, the method's parameters, and the heatmap over the input with
// a labelled colour scale (integrated gradients' completeness check and Grad-CAM's channel
// weights beside it). The server computes; this module only renders.

import { drawHeatmap, drawLegend, fmt } from '../render/colormap.js';
import {
  channelSum, completenessText, maxAbs, methodFields, occlusionToInput, postForJson,
  requestInit, syncClasses, upsampleNearest,
} from './microscope_math.js';

export const METHODS = [
  ['saliency', 'Saliency', 'Which input pixels would change the class score most if nudged?',
    'S = ∂y_t/∂x, the gradient of the target\'s logit y_t (not its probability) with respect to every input pixel. Red raises y_t, blue lowers it.'],
  ['gradient_x_input', 'Gradient × input', 'How much does each pixel, as it is, contribute to the score to first order?',
    'A = x ⊙ ∂y_t/∂x. Dark (zero) pixels get nothing, however sensitive.'],
  ['grad_cam', 'Grad-CAM', 'Where in a feature map is the evidence for the class?',
    'w_c = mean over h,w of ∂y_t/∂A_c; map = ReLU(Σ_c w_c · A_c), at the layer\'s own resolution (shown upsampled).'],
  ['guided_backprop', 'Guided backprop', 'Which input patterns excite the units that support the class?',
    'Like saliency, but every ReLU passes back only positive gradients, and only where its input was positive.'],
  ['smoothgrad', 'SmoothGrad', 'Saliency without the noise: what stays when the input is jittered?',
    'mean over n copies of ∂y_t/∂x at x + ε, ε ~ N(0, σ²), seeded: the same seed gives the same map.'],
  ['integrated_gradients', 'Integrated gradients', 'How does each pixel account for the score, relative to a baseline image?',
    'A_i = (x_i − x′_i) · ∫₀¹ ∂y_t/∂x_i(x′ + α(x − x′)) dα (trapezoid rule). Completeness: Σ A_i = y_t(x) − y_t(x′).'],
  ['occlusion', 'Occlusion', 'Which regions, hidden, make the score drop most?',
    'drop = y_t(x) − y_t(x with a patch set to the baseline), for every patch position; each pixel shows the mean drop of the patches covering it. Red: hiding it lowers y_t (evidence for the class); blue: hiding it raises y_t.'],
];

const PARAMS = [
  ['layer', 'Layer', 'select', null],
  ['n_samples', 'Samples n', 'number', { value: 25, min: 1, max: 100, step: 1 }],
  ['sigma', 'Noise σ', 'number', { value: 0.15, min: 0, max: 10, step: 0.05 }],
  ['seed', 'Seed', 'number', { value: 0, min: 0, step: 1 }],
  ['steps', 'Steps', 'number', { value: 64, min: 1, max: 256, step: 1 }],
  ['baseline', 'Baseline value', 'number', { value: 0, min: -1000, max: 1000, step: 0.1 }],
  ['patch', 'Patch', 'number', { value: 4, min: 1, max: 256, step: 1 }],
  ['stride', 'Stride', 'number', { value: 2, min: 1, max: 256, step: 1 }],
];

const FIELD_OF = {
  grad_cam: ['layer'], smoothgrad: ['n_samples', 'sigma', 'seed'],
  integrated_gradients: ['steps', 'baseline'], occlusion: ['patch', 'stride', 'baseline'],
};

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

/** The input (C, H, W) as an (H, W) grayscale plane (channels averaged). */
function inputPlane(input) {
  const plane = channelSum(input);
  const channels = input.shape.length === 3 ? input.shape[0] : 1;
  return { ...plane, data: plane.data.map((v) => v / channels) };
}

const INPUT_LABELS = {
  saliency: '∂y_t/∂x', gradient_x_input: 'x·∂y_t/∂x', guided_backprop: 'guided ∂y_t/∂x',
  smoothgrad: 'mean ∂y_t/∂x', integrated_gradients: 'IG attribution',
};

/** The heatmap on the input's grid, for display: {data, signed, label}. */
export function displayMap(result) {
  const { heatmap, input } = result;
  const [H, W] = input.shape.slice(-2);
  if (result.heatmap_of === 'feature_map') {
    const [h, w] = heatmap.shape;
    return { data: upsampleNearest(heatmap.data, h, w, H, W), signed: false,
      label: `Grad-CAM at ${result.layer} (${h}×${w})` };
  }
  if (result.heatmap_of === 'occlusion_grid') {
    return { data: occlusionToInput(heatmap.data, result.tops, result.lefts, result.patch, H, W),
      signed: true, label: 'logit drop' };
  }
  return { data: channelSum(heatmap).data, signed: true, label: INPUT_LABELS[result.method] };
}

/** Wire the panel inside root; current() gives the page's {modelId, input, target}. */
export function mount(root, current) {
  const methodSelect = el('select', { id: 'attr-method' });
  methodSelect.dataset.testid = 'attr-method';
  for (const [id, name] of METHODS) methodSelect.append(new Option(name, id));
  const classSelect = el('select', { id: 'attr-target' });
  classSelect.dataset.testid = 'attr-target';
  classSelect.append(new Option('the prediction', ''));
  const explanation = el('div', { className: 'attr-explanation' });
  explanation.dataset.testid = 'attr-explanation';
  explanation.setAttribute('aria-live', 'polite');
  const inputs = {};
  const paramBox = el('div', { className: 'attr-params' });
  for (const [key, label, kind, attrs] of PARAMS) {
    const control = kind === 'select' ? el('select') : el('input', { type: 'number', ...attrs });
    control.name = key;
    control.dataset.testid = `attr-${key}`;
    if (kind === 'select') control.append(new Option('last feature map', ''));
    inputs[key] = control;
    paramBox.append(el('label', { className: `attr-param attr-param-${key}` }, `${label} `, control));
  }
  const run = el('button', { type: 'button', textContent: 'Explain' });
  run.dataset.testid = 'attr-run';
  const status = el('p', { className: 'hint attr-status' });
  status.dataset.testid = 'attr-status';
  status.setAttribute('aria-live', 'polite');
  const canvas = el('canvas', { className: 'attr-canvas', width: 28, height: 28 });
  canvas.dataset.testid = 'attr-heatmap';
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', 'Attribution heatmap (none computed yet)');
  const legend = el('div', { className: 'attr-legend' });
  legend.dataset.testid = 'attr-legend';
  const numbers = el('div', { className: 'attr-numbers' });
  numbers.dataset.testid = 'attr-numbers';
  const figure = el('div', { className: 'attr-figure', hidden: true }, canvas, legend);

  root.replaceChildren(
    el('div', { className: 'band-head' }, el('h2', { id: 'attribution-heading', textContent: 'Why this class? Attribution' })),
    el('div', { className: 'attr-controls' },
      el('label', {}, 'Method ', methodSelect), el('label', {}, 'Class ', classSelect), run),
    explanation, paramBox, status, el('div', { className: 'attr-result' }, figure, numbers),
  );

  function showMethod() {
    const method = methodSelect.value;
    const [, name, question, formula] = METHODS.find(([id]) => id === method);
    explanation.replaceChildren(
      el('p', { className: 'attr-question' }, el('strong', { textContent: `${name}: ` }), question),
      el('p', { className: 'attr-formula', textContent: formula }),
    );
    const used = new Set(FIELD_OF[method] || []);
    for (const [key] of PARAMS) inputs[key].closest('label').hidden = !used.has(key);
    paramBox.hidden = used.size === 0;
  }

  const refreshClasses = () => syncClasses(classSelect, current().classes,
    (value, label) => new Option(label, value));

  function setLayers(layers, chosen) {
    const select = inputs.layer;
    select.replaceChildren(...layers.map((name) => new Option(name, name)));
    select.value = chosen;
  }

  function render(result) {
    const { input } = result;
    const [H, W] = input.shape.slice(-2);
    const map = displayMap(result);
    const gray = inputPlane(input);
    drawHeatmap(canvas, map.data, H, W, map.signed
      ? { signed: true, min: -maxAbs(map.data), max: maxAbs(map.data) }
      : { signed: false, min: 0, max: Math.max(maxAbs(map.data), 1e-12) });
    // Blend the input under the heatmap so the map reads against the digit.
    const context = canvas.getContext('2d');
    const image = context.getImageData(0, 0, W, H);
    const range = Math.max(maxAbs(gray.data), 1e-12);
    for (let i = 0; i < H * W; i += 1) {
      const shade = 1 - 0.45 * (gray.data[i] / range);
      for (let k = 0; k < 3; k += 1) image.data[4 * i + k] = Math.round(image.data[4 * i + k] * shade);
    }
    context.putImageData(image, 0, 0);
    const bound = maxAbs(map.data);
    drawLegend(legend, map.signed ? { min: -bound, max: bound, signed: true, label: map.label }
      : { min: 0, max: bound, signed: false, label: map.label });
    canvas.setAttribute('aria-label', `${result.method} heatmap for class ${result.classes[result.target]}`);
    const lines = [
      `Explaining class ${result.classes[result.target]} (logit y_t = ${fmt(result.logit)}); `
      + `the model predicts ${result.classes[result.prediction]}.`,
      `Raw map: ${result.heatmap.shape.join('×')} (${result.heatmap_of.replace('_', ' ')}), computed in ${result.dtype}.`,
    ];
    if (result.completeness) lines.push(`Completeness: ${completenessText(result.completeness, fmt)}.`);
    if (result.method === 'occlusion') lines.push(`Unoccluded y_t = ${fmt(result.score)}; ${result.tops.length}×${result.lefts.length} patch positions.`);
    if (result.weights) {
      const top = result.weights.map((w, c) => [w, c]).sort((a, b) => b[0] - a[0]).slice(0, 3);
      lines.push(`Largest channel weights w_c: ${top.map(([w, c]) => `c${c} ${fmt(w)}`).join(', ')} (of ${result.weights.length}).`);
      setLayers(result.layers, result.layer);
    }
    if (result.relu_nodes) lines.push(`${result.relu_nodes} ReLU nodes pass back only positive gradients.`);
    numbers.replaceChildren(...lines.map((text) => el('p', { textContent: text })));
    if (result.completeness) numbers.lastChild.dataset.testid = 'attr-completeness';
  }

  let controller = null;
  async function explain() {
    const { modelId, input } = current();
    if (!modelId || !input) {
      status.textContent = 'Pick an input first.';
      return;
    }
    controller?.abort();
    controller = new AbortController();
    refreshClasses();
    const values = Object.fromEntries(Object.entries(inputs).map(([k, c]) => [k, c.value]));
    const fields = { ...methodFields(methodSelect.value, values), target: classSelect.value === '' ? null : Number(classSelect.value) };
    status.textContent = 'Computing…';
    run.disabled = true;
    try {
      const url = `/api/v1/models/${encodeURIComponent(modelId)}/attribution`;
      const result = await postForJson(url, requestInit(input, fields, controller.signal));
      render(result);
      figure.hidden = false;
      status.textContent = '';
      root.dataset.method = result.method;
    } catch (error) {
      if (error.name === 'AbortError') return;
      status.textContent = `Could not explain: ${error.message}${error.code ? ` (${error.code})` : ''}`;
    } finally {
      run.disabled = false;
    }
  }

  methodSelect.addEventListener('change', showMethod);
  run.addEventListener('click', explain);
  status.textContent = 'Pick a method and press Explain: the heatmap appears here.';
  classSelect.addEventListener('focus', refreshClasses);
  classSelect.addEventListener('pointerdown', refreshClasses);
  // The classes are the shown trace's: filled in when the panel comes into view or is used.
  new IntersectionObserver((seen) => seen.some((e) => e.isIntersecting) && refreshClasses()).observe(root);
  showMethod();
}
