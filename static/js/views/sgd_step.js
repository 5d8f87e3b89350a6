// "Take one step": one SGD step w' = w − lr·g on the shown input, on a copy of the weights.
// Shows the loss before and after, the first-order prediction ΔL ≈ −lr‖g‖² (and the
// second-order one) next to the actual change, each layer's update size, and a layer's feature
// maps before and after. The server computes; this module only renders.

import { drawHeatmap, drawLegend, fmt } from '../render/colormap.js';
import {
  lrFromSlider, postForJson, predictionAgreement, requestInit, sliderFromLr, syncClasses,
} from './microscope_math.js';

const MAX_CHANNELS = 8;
const VERDICT = {
  agree: 'The first-order prediction matches: for a small step the loss is almost linear in w.',
  roughly: 'The prediction is off by a few tens of percent: the step is large enough for curvature to matter.',
  disagree: 'The prediction is far off: this step is too large for the linear approximation (the lesson of a large learning rate).',
};

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function row(cells, header = false) {
  return el('tr', {}, ...cells.map((text) => el(header ? 'th' : 'td', { textContent: text })));
}

/** Wire the panel inside root; current() gives the page's {modelId, input, target}. */
export function mount(root, current) {
  const slider = el('input', { type: 'range', min: -5, max: 1, step: 0.1, value: sliderFromLr(0.01) });
  slider.dataset.testid = 'sgd-lr';
  slider.setAttribute('aria-label', 'Learning rate (logarithmic)');
  const lrText = el('output', { className: 'sgd-lr-value' });
  lrText.dataset.testid = 'sgd-lr-value';
  const classSelect = el('select');
  classSelect.dataset.testid = 'sgd-target';
  classSelect.append(new Option('the prediction', ''));
  const run = el('button', { type: 'button', textContent: 'Take one step' });
  run.dataset.testid = 'sgd-run';
  const status = el('p', { className: 'hint' });
  status.dataset.testid = 'sgd-status';
  status.setAttribute('aria-live', 'polite');
  const summary = el('div', { className: 'sgd-summary' });
  summary.dataset.testid = 'sgd-summary';
  const layerSelect = el('select');
  layerSelect.dataset.testid = 'sgd-layer';
  const maps = el('div', { className: 'sgd-maps' });
  maps.dataset.testid = 'sgd-maps';
  const updates = el('div', { className: 'sgd-updates' });
  updates.dataset.testid = 'sgd-updates';
  const mapsBox = el('div', { className: 'sgd-maps-box', hidden: true },
    el('label', {}, 'Feature maps of ', layerSelect), maps);

  root.replaceChildren(
    el('div', { className: 'band-head' }, el('h2', { textContent: 'Take one step: SGD under a microscope' })),
    el('p', { className: 'hint', textContent: 'One step w′ = w − lr·g of this input\'s cross-entropy, on a copy of the weights (the model itself never changes). To first order the loss changes by ΔL ≈ −lr·‖g‖²; the second-order term adds lr²/2 · gᵀHg. For a small lr they agree with what happens; for a large one they do not.' }),
    el('div', { className: 'sgd-controls' },
      el('label', {}, 'Learning rate ', slider, lrText), el('label', {}, 'Class ', classSelect), run),
    status, summary, mapsBox, updates,
  );

  function showLr() {
    lrText.textContent = `lr = ${lrFromSlider(slider.value)}`;
  }

  let result = null;

  function drawMaps() {
    const layer = result?.layers.find((l) => l.name === layerSelect.value);
    if (!layer) return;
    const before = layer.output_before;
    const after = layer.output_after;
    const [c, h, w] = before.shape;
    const lo = Math.min(before.min, after.min);
    const hi = Math.max(before.max, after.max);
    const signed = lo < 0;
    const scale = signed ? { signed, min: -Math.max(-lo, hi), max: Math.max(-lo, hi) } : { signed, min: lo, max: hi };
    const rowsOf = (label, tensor) => el('div', { className: 'sgd-map-row' },
      el('span', { className: 'sgd-map-label', textContent: label }),
      ...Array.from({ length: Math.min(c, MAX_CHANNELS) }, (_, ch) => {
        const canvas = el('canvas', { className: 'sgd-map' });
        drawHeatmap(canvas, tensor.data, h, w, { ...scale, offset: ch * h * w });
        canvas.title = `${layer.name} channel ${ch} ${label}`;
        return canvas;
      }));
    const legend = el('div');
    drawLegend(legend, { min: scale.min, max: scale.max, signed, label: 'both rows' });
    maps.replaceChildren(el('div', {}, rowsOf('before', before), rowsOf('after', after)), legend);
    const more = c > MAX_CHANNELS ? ` (first ${MAX_CHANNELS} of ${c} channels)` : '';
    maps.append(el('p', { className: 'hint', textContent: `‖after − before‖ = ${fmt(layer.change_norm)}, ${layer.relative_change === null ? '' : `${(100 * layer.relative_change).toFixed(2)}% of ‖before‖`}${more}` }));
  }

  function render() {
    const r = result;
    const agreement = predictionAgreement(r.predicted_change, r.actual_change);
    summary.dataset.verdict = agreement.verdict;
    const table = el('table', { className: 'sgd-table' },
      row(['', 'value'], true),
      row(['loss before', fmt(r.loss_before)]),
      row(['loss after', fmt(r.loss_after)]),
      row(['actual ΔL', fmt(r.actual_change)]),
      row(['predicted ΔL ≈ −lr·‖g‖²', fmt(r.predicted_change)]),
      row(['with the second-order term', fmt(r.predicted_change_second_order)]),
      row(['‖g‖', fmt(r.grad_norm)]),
      row(['prediction', `${r.classes[r.prediction_before]} → ${r.classes[r.prediction_after]}`]),
      row([`p(class ${r.classes[r.target]})`, `${fmt(r.probabilities_before[r.target])} → ${fmt(r.probabilities_after[r.target])}`]));
    summary.replaceChildren(table, el('p', { className: `sgd-verdict sgd-${agreement.verdict}`,
      textContent: `First order off by ${(100 * agreement.relativeError).toFixed(1)}%. ${VERDICT[agreement.verdict]}` }));
    const biggest = Math.max(...r.parameters.map((p) => p.update_ratio || 0), 1e-30);
    updates.replaceChildren(el('h3', { textContent: 'Each parameter\'s update' }), el('table', { className: 'sgd-table sgd-params' },
      row(['parameter', '‖g‖', '‖Δw‖ = lr·‖g‖', '‖Δw‖/‖w‖', ''], true),
      ...r.parameters.map((p) => {
        const bar = el('span', { className: 'sgd-bar' });
        bar.style.width = `${Math.round(100 * (p.update_ratio || 0) / biggest)}%`;
        const tr = row([p.name, fmt(p.grad_norm), fmt(p.update_norm), p.update_ratio === null ? '–' : fmt(p.update_ratio)]);
        tr.append(el('td', { className: 'sgd-bar-cell' }, bar));
        return tr;
      })));
    const spatial = r.layers.filter((l) => l.output_before);
    mapsBox.hidden = spatial.length === 0;
    const chosen = layerSelect.value;
    layerSelect.replaceChildren(...spatial.map((l) => new Option(l.name, l.name)));
    if (spatial.some((l) => l.name === chosen)) layerSelect.value = chosen;
    drawMaps();
  }

  let controller = null;
  async function step() {
    const { modelId, input } = current();
    if (!modelId || !input) {
      status.textContent = 'Pick an input first.';
      return;
    }
    controller?.abort();
    controller = new AbortController();
    refreshClasses();
    const fields = { lr: lrFromSlider(slider.value), target: classSelect.value === '' ? null : Number(classSelect.value) };
    status.textContent = 'Stepping…';
    run.disabled = true;
    try {
      const url = `/api/v1/models/${encodeURIComponent(modelId)}/sgd-step`;
      result = await postForJson(url, requestInit(input, fields, controller.signal));
      render();
      status.textContent = '';
    } catch (error) {
      if (error.name === 'AbortError') return;
      status.textContent = `Could not take the step: ${error.message}${error.code ? ` (${error.code})` : ''}`;
    } finally {
      run.disabled = false;
    }
  }

  slider.addEventListener('input', showLr);
  layerSelect.addEventListener('change', drawMaps);
  run.addEventListener('click', step);
  const refreshClasses = () => syncClasses(classSelect, current().classes,
    (value, label) => new Option(label, value));
  classSelect.addEventListener('focus', refreshClasses);
  classSelect.addEventListener('pointerdown', refreshClasses);
  // The classes are the shown trace's: filled in when the panel comes into view or is used.
  new IntersectionObserver((seen) => seen.some((e) => e.isIntersecting) && refreshClasses()).observe(root);
  showLr();
}
