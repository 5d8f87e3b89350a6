// The /train page's live view of one run: loss, accuracy and learning-rate charts, the epoch
// table (the charts' numbers), per-layer norms with weight and gradient histograms, the first
// conv layer's filters and the held-out confusion matrix.

import { fmt, percent } from '../numbers.js';
import { filterGrid, histogramChart, lineChart } from './train_charts.js';

const TRAIN = '#2166ac';
const HELDOUT = '#d6604d';

function cell(tag, text, attrs = {}) {
  const el = document.createElement(tag);
  el.textContent = text;
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

export function renderCharts(ui, run) {
  const heldout = run.epochs.map((e) => [e.step, e.heldout_loss]);
  const trainEpoch = run.epochs.map((e) => [e.step, e.train_loss]);
  lineChart(ui.lossChart, [
    { name: 'train loss (batch)', colour: TRAIN, points: run.losses },
    { name: 'train loss (epoch mean)', colour: '#053061', points: trainEpoch, dots: true },
    { name: 'held-out loss', colour: HELDOUT, points: heldout, dots: true },
  ], { xLabel: 'step', yLabel: 'cross-entropy' });
  lineChart(ui.accuracyChart, [
    { name: 'held-out accuracy', colour: HELDOUT,
      points: run.epochs.map((e) => [e.epoch, e.heldout_accuracy]), dots: true },
  ], { xLabel: 'epoch', yLabel: 'accuracy', yRange: [0, 1], height: 170,
    xRange: [0, Math.max(1, run.epochs.length)], xInteger: true });
  lineChart(ui.lrChart, [{ name: 'learning rate', colour: '#1b7837', points: run.lrs }],
    { xLabel: 'step', yLabel: 'lr', height: 170 });
}

export function renderEpochTable(table, run) {
  table.tBodies[0].replaceChildren(...run.epochs.map((e) => {
    const tr = document.createElement('tr');
    tr.dataset.epoch = String(e.epoch);
    tr.append(cell('td', String(e.epoch)), cell('td', fmt(e.train_loss)),
      cell('td', fmt(e.heldout_loss)), cell('td', percent(e.heldout_accuracy)));
    return tr;
  }));
}

export function renderLayers(container, layers) {
  if (!layers) return;
  const rows = layers.layers.map((layer) => {
    const figure = document.createElement('figure');
    figure.className = 'layer-stats';
    figure.dataset.layer = layer.name;
    const caption = cell('figcaption', '');
    caption.append(cell('strong', `${layer.name} (${layer.kind})`));
    caption.append(cell('span', ` ‖w‖ ${fmt(layer.weight_norm)} · ‖g‖ ${fmt(layer.grad_norm)}`
      + ` · update/weight ${fmt(layer.update_ratio)}`));
    const w = cell('canvas', '', { role: 'img', 'aria-label': `${layer.name} weight histogram` });
    const g = cell('canvas', '', { role: 'img', 'aria-label': `${layer.name} gradient histogram` });
    const pair = document.createElement('div');
    pair.className = 'hist-pair';
    const wl = cell('div', '');
    wl.append(cell('span', 'weights', { class: 'hint' }), w);
    const gl = cell('div', '');
    gl.append(cell('span', 'gradients', { class: 'hint' }), g);
    pair.append(wl, gl);
    figure.append(caption, pair);
    return { figure, w, g, layer };
  });
  container.replaceChildren(...rows.map((r) => r.figure));
  for (const r of rows) {
    histogramChart(r.w, r.layer.weight_hist, TRAIN);
    histogramChart(r.g, r.layer.grad_hist, HELDOUT);
  }
}

export function renderFilters(canvas, caption, snapshot) {
  if (!snapshot) return;
  const scale = filterGrid(canvas, snapshot);
  caption.textContent = `${snapshot.layer}: ${snapshot.shape[0]} filters of `
    + `${snapshot.shape[2]}×${snapshot.shape[3]} at step ${snapshot.step}; red positive, blue `
    + `negative, full colour at |w| = ${fmt(scale)}.`;
}

export function renderConfusion(table, matrix, classes) {
  if (!matrix) return;
  let top = 1;
  for (const row of matrix) for (const v of row) top = Math.max(top, v);
  const head = document.createElement('tr');
  head.append(cell('th', 'true ↓ / predicted →', { scope: 'col' }),
    ...classes.map((c) => cell('th', c, { scope: 'col' })));
  table.tHead.replaceChildren(head);
  table.tBodies[0].replaceChildren(...matrix.map((row, i) => {
    const tr = document.createElement('tr');
    tr.append(cell('th', classes[i] ?? String(i), { scope: 'row' }));
    row.forEach((v, j) => {
      const td = cell('td', String(v));
      const alpha = (v / top).toFixed(3);
      td.style.background = i === j ? `rgba(33,102,172,${alpha})` : `rgba(214,96,77,${alpha})`;
      if (v / top > 0.55) td.style.color = '#fff';
      tr.append(td);
    });
    return tr;
  }));
}
