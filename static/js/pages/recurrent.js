// /recurrent: an RNN, LSTM or Bi-LSTM reading a digit row by row, forward and backward through
// time. The page only renders the server's inspect trace (the layer's `recurrent` object) and
// checks the arithmetic it shows against it.

import * as api from '../api.js';
import { agreementText, fmt } from '../numbers.js';
import { decay, perStepScaled, saturatedFraction } from '../recurrent_math.js';
import { initDrawPad, renderSamples } from '../views/input.js';
import { drawDigitRows, drawNormPlot, heatmapFigure, scaleOf } from '../views/recurrent.js';
import {
  concatenationError, renderGradientRoute, renderStepArithmetic,
} from '../views/recurrent_panels.js';

const GATE_TITLES = {
  i: 'i (input gate)', f: 'f (forget gate)', g: 'g (cell candidate)', o: 'o (output gate)',
};
const COLOURS = { rnn: '#b2182b', lstm: '#2166ac', c: '#1b7837' };
const PLAY_MS = 180;

export function mount(root) {
  const $ = (id) => root.querySelector(`#${id}`);
  const ui = {
    model: $('rnn-model'), gallery: $('rnn-gallery'), draw: $('rnn-draw'), clear: $('rnn-clear'),
    status: $('rnn-status'), forward: $('rnn-forward'), backward: $('rnn-backward'),
    compare: $('rnn-compare'), bi: $('rnn-bi'), direction: $('rnn-direction'),
    directionField: $('rnn-direction-field'), step: $('rnn-step'), stepLabel: $('rnn-step-label'),
    unit: $('rnn-unit'), play: $('rnn-play'), digit: $('rnn-digit'), gates: $('rnn-gates'),
    arith: $('rnn-arith'), grads: $('rnn-grads'), norms: $('rnn-norms'), route: $('rnn-route'),
    comparePlot: $('rnn-compare-plot'), compareSummary: $('rnn-compare-summary'),
    biMaps: $('rnn-bi-maps'), biCheck: $('rnn-bi-check'), perStep: $('rnn-per-step'),
  };
  const state = { input: null, traces: {}, step: 14, unit: 0, direction: 0, timer: null };
  let controller = null;

  const traceOf = (id) => state.traces[id];
  const layerOf = (trace) => trace.layers.find((layer) => layer.recurrent);
  const current = () => traceOf(ui.model.value);

  function pick({ step, unit }) {
    if (step !== undefined) state.step = step;
    if (unit !== undefined) state.unit = unit;
    ui.step.value = String(state.step);
    ui.unit.value = String(state.unit);
    render();
  }

  function renderForward(trace, rec, dir) {
    const { step: t, unit: u } = state;
    const reverse = dir.direction === 'reverse';
    drawDigitRows(ui.digit, trace.input, t, reverse);
    ui.stepLabel.textContent = `t = ${t}${reverse ? ' (read bottom-up)' : ''}`;
    const figures = [];
    const common = { unit: u, step: t, onPick: pick };
    if (rec.kind === 'lstm') {
      for (const g of ['i', 'f', 'g', 'o']) {
        const tensor = dir.gates[g];
        const scale = g === 'g' ? { signed: true, min: -1, max: 1 }
          : { signed: false, min: 0, max: 1 };
        figures.push(heatmapFigure({ title: GATE_TITLES[g], tensor, scale, gate: g,
          saturated: saturatedFraction(tensor.data, g), testid: `rnn-gate-${g}`, ...common }));
      }
      figures.push(heatmapFigure({ title: 'c_t (cell state)', tensor: dir.c,
        scale: scaleOf([dir.c], true), testid: 'rnn-map-c', ...common }));
    }
    figures.push(heatmapFigure({ title: 'h_t (hidden state)', tensor: dir.h,
      scale: { signed: true, min: -1, max: 1 }, testid: 'rnn-map-h', ...common }));
    ui.gates.replaceChildren(...figures.map((f) => f.figure));
    renderStepArithmetic(ui.arith, dir, { t, u, steps: rec.steps, reverse, kind: rec.kind });
  }

  function renderBackward(rec, dir) {
    const { step: t, unit: u } = state;
    const reverse = dir.direction === 'reverse';
    const common = { unit: u, step: t, onPick: pick };
    const [steps, units] = dir.grad_h.shape;
    // The colour scale: the tensor's own range, or each step divided by its largest |value|.
    const shown = (tensor) => (ui.perStep.checked
      ? { tensor: { shape: tensor.shape, data: perStepScaled(tensor.data, steps, units) },
        scale: { signed: true, min: -1, max: 1 } }
      : { tensor, scale: scaleOf([tensor], true) });
    const suffix = ui.perStep.checked ? ' ÷ max per step' : '';
    const figures = [heatmapFigure({ title: `dL/dh_t${suffix}`, ...shown(dir.grad_h),
      legendLabel: 'dL/dh_t', testid: 'rnn-map-grad-h', ...common })];
    if (rec.kind === 'lstm') {
      figures.push(heatmapFigure({ title: `dL/dc_t${suffix}`, ...shown(dir.grad_c),
        legendLabel: 'dL/dc_t', testid: 'rnn-map-grad-c', ...common }));
      // The gradient routed through the forget gate's products: f_{next} ⊙ dL/dc_{next}, per
      // step t (zero at the last step read).
      const routed = new Float64Array(steps * units);
      for (let s = 0; s < steps; s += 1) {
        const n = reverse ? s - 1 : s + 1;
        if (n < 0 || n >= steps) continue;
        for (let k = 0; k < units; k += 1) {
          routed[s * units + k] = dir.gates.f.data[n * units + k] * dir.grad_c.data[n * units + k];
        }
      }
      figures.push(heatmapFigure({
        title: `${reverse ? 'f_{t−1} ⊙ dL/dc_{t−1}' : 'f_{t+1} ⊙ dL/dc_{t+1}'} (through the forget `
          + `gate)${suffix}`,
        ...shown({ shape: [steps, units], data: routed }), legendLabel: 'f ⊙ dL/dc',
        testid: 'rnn-map-forget-route', ...common }));
    }
    ui.grads.replaceChildren(...figures.map((f) => f.figure));
    const series = [{ label: '‖dL/dh_t‖', values: dir.grad_h_norm.data, colour: COLOURS[rec.kind] }];
    if (dir.grad_c_norm) {
      series.push({ label: '‖dL/dc_t‖', values: dir.grad_c_norm.data, colour: COLOURS.c, dash: '6 4' });
    }
    drawNormPlot(ui.norms, series, { yLabel: 'gradient norm (log scale)', step: t,
      title: `Per-step gradient norms of the ${dir.direction} direction, log scale` });
    renderGradientRoute(ui.route, dir, { t, u, steps: rec.steps, reverse, kind: rec.kind });
  }

  function renderCompare() {
    const rnn = traceOf('rnn-rows');
    const lstm = traceOf('lstm-rows');
    ui.compare.hidden = !(rnn && lstm);
    if (ui.compare.hidden) return;
    const norms = (trace) => layerOf(trace).recurrent.directions[0].grad_h_norm.data;
    drawNormPlot(ui.comparePlot, [
      { label: 'RNN ‖dL/dh_t‖', values: norms(rnn), colour: COLOURS.rnn },
      { label: 'LSTM ‖dL/dh_t‖', values: norms(lstm), colour: COLOURS.lstm, dash: '6 4' },
    ], { yLabel: '‖dL/dh_t‖ (log scale)', title: 'RNN and LSTM gradient norms per step, log scale' });
    const change = (factor) => (factor >= 1 ? `shrinks by a factor of ${fmt(factor)}`
      : `grows by a factor of ${fmt(1 / factor)}`);
    ui.compareSummary.textContent = `From the last row back to the first, ‖dL/dh_t‖ `
      + `${change(decay(norms(rnn)))} in the RNN and ${change(decay(norms(lstm)))} in the LSTM.`;
  }

  function renderBi(rec, layer) {
    ui.bi.hidden = rec.directions.length !== 2;
    if (ui.bi.hidden) return;
    const [fwd, rev] = rec.directions;
    const common = { unit: state.unit, step: state.step, onPick: pick };
    const scale = { signed: true, min: -1, max: 1 };
    ui.biMaps.replaceChildren(
      heatmapFigure({ title: 'h→_t (forward)', tensor: fwd.h, scale, testid: 'rnn-bi-fwd', ...common }).figure,
      heatmapFigure({ title: 'h←_t (reverse)', tensor: rev.h, scale, testid: 'rnn-bi-rev', ...common }).figure,
      heatmapFigure({ title: '[h→_t | h←_t] (the layer output, 256 features)', tensor: layer.output,
        scale, testid: 'rnn-bi-concat', legendLabel: 'output', ...common }).figure,
    );
    const worst = concatenationError(layer.output, fwd.h, rev.h);
    ui.biCheck.textContent = `Output[t] against the two directions' h_t, all ${layer.output.data.length} `
      + `values: ${worst === 0 ? '✓ matches' : agreementText({ ok: false, diff: worst, relative: null })}`;
  }

  function render() {
    const trace = current();
    if (!trace) return;
    const layer = layerOf(trace);
    const rec = layer.recurrent;
    const bi = rec.directions.length === 2;
    ui.directionField.hidden = !bi;
    if (!bi) state.direction = 0;
    const dir = rec.directions[state.direction];
    ui.forward.hidden = false;
    ui.backward.hidden = false;
    renderForward(trace, rec, dir);
    renderBackward(rec, dir);
    renderCompare();
    renderBi(rec, layer);
  }

  async function load() {
    if (!state.input) return;
    controller?.abort();
    controller = new AbortController();
    const { signal } = controller;
    const wanted = [...new Set([ui.model.value, 'rnn-rows', 'lstm-rows'])];
    ui.status.textContent = 'Running the pass…';
    try {
      const traces = await Promise.all(wanted.map((id) => api.inspect(id, state.input, { signal })));
      state.traces = Object.fromEntries(wanted.map((id, k) => [id, traces[k]]));
      const trace = current();
      ui.status.textContent = trace.blank ? 'No digit found: draw a digit or pick one.'
        : `Prediction: ${trace.prediction} (p = ${fmt(trace.probabilities[trace.prediction])}), `
          + `loss ${fmt(trace.loss)}.`;
      render();
    } catch (error) {
      if (error.name === 'AbortError') return;
      ui.status.textContent = `Error: ${error.message}`;
    }
  }

  function setInput(input) {
    state.input = input;
    load();
  }

  ui.model.addEventListener('change', () => (traceOf(ui.model.value) ? render() : load()));
  ui.direction.addEventListener('change', () => {
    state.direction = Number(ui.direction.value);
    render();
  });
  ui.step.addEventListener('input', () => pick({ step: Number(ui.step.value) }));
  ui.perStep.addEventListener('change', render);
  ui.unit.addEventListener('change', () => {
    const u = Math.min(127, Math.max(0, Math.trunc(Number(ui.unit.value)) || 0));
    pick({ unit: u });
  });
  ui.play.addEventListener('click', () => {
    if (state.timer) {
      clearInterval(state.timer);
      state.timer = null;
      ui.play.setAttribute('aria-pressed', 'false');
      ui.play.textContent = 'Play';
      return;
    }
    ui.play.setAttribute('aria-pressed', 'true');
    ui.play.textContent = 'Pause';
    state.step = 0;
    state.timer = setInterval(() => {
      if (state.step >= 27) {
        ui.play.click();
        return;
      }
      pick({ step: state.step + 1 });
    }, PLAY_MS);
  });
  initDrawPad(ui.draw, ui.clear, (input) => setInput(input), () => {
    ui.status.textContent = 'Pick or draw a digit.';
  });
  api.listSamples().then((samples) => {
    renderSamples(ui.gallery, samples.slice(0, 20), (sample) => setInput({ sample: sample.id }));
  }).catch((error) => {
    ui.status.textContent = `Error: ${error.message}`;
  });
}
