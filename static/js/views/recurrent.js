// The /recurrent page's drawings: the digit read row by row, units-by-steps heatmaps (with
// saturation and the chosen unit and step marked), and per-step norms on a log scale.

import { colourOf, drawLegend, rangeOf } from '../render/colormap.js';
import { fmt } from '../numbers.js';
import { isSaturated, logRange, logTicks, powerLabel, unitsBySteps } from '../recurrent_math.js';

/** The SVG namespace, as the HTML parser assigns it to an <svg> element. */
const SVG = (() => {
  const host = document.createElement('div');
  host.innerHTML = '<svg></svg>';
  return host.firstChild.namespaceURI;
})();
/** Saturated cells are painted in this colour, outside both colour maps. */
export const SATURATED = [255, 0, 220];
const CELL_W = 6;
const CELL_H = 2;

/** The 28x28 input in grey with the row being read outlined (and the rows read so far lit). */
export function drawDigitRows(canvas, input, step, reverse) {
  const [, h, w] = input.shape;
  const scale = 8;
  canvas.width = w * scale;
  canvas.height = h * scale;
  const ctx = canvas.getContext('2d');
  for (let y = 0; y < h; y += 1) {
    const read = reverse ? y >= step : y <= step;
    for (let x = 0; x < w; x += 1) {
      const v = Math.round(255 * input.data[y * w + x]);
      const dim = read ? 1 : 0.35;
      ctx.fillStyle = `rgb(${v * dim},${v * dim},${Math.min(255, v * dim + (read ? 0 : 30))})`;
      ctx.fillRect(x * scale, y * scale, scale, scale);
    }
  }
  ctx.strokeStyle = '#ffb000';
  ctx.lineWidth = 3;
  ctx.strokeRect(1.5, step * scale + 1.5, w * scale - 3, scale - 3);
}

/**
 * A (T, H) time axis as a heatmap with units down and steps across, one CELL_W x CELL_H
 * block per value; `gate` marks its saturated values (SATURATED); the chosen unit's row and
 * step's column are outlined. scale: {signed, min, max}. Returns the canvas.
 */
export function drawTimeHeatmap(canvas, tensor, { scale, gate = null, unit, step }) {
  const [steps, units] = tensor.shape;
  const plane = unitsBySteps(tensor.data, steps, units);
  canvas.width = steps * CELL_W;
  canvas.height = units * CELL_H;
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(canvas.width, canvas.height);
  for (let u = 0; u < units; u += 1) {
    for (let t = 0; t < steps; t += 1) {
      const v = plane[u * steps + t];
      const rgb = gate && isSaturated(v, gate) ? SATURATED : colourOf(v, scale);
      for (let dy = 0; dy < CELL_H; dy += 1) {
        for (let dx = 0; dx < CELL_W; dx += 1) {
          const p = 4 * ((u * CELL_H + dy) * canvas.width + t * CELL_W + dx);
          image.data.set(rgb, p);
          image.data[p + 3] = 255;
        }
      }
    }
  }
  ctx.putImageData(image, 0, 0);
  ctx.strokeStyle = '#111';
  ctx.lineWidth = 1;
  ctx.strokeRect(step * CELL_W + 0.5, 0.5, CELL_W - 1, canvas.height - 1);
  ctx.strokeStyle = '#ffb000';
  ctx.strokeRect(0.5, unit * CELL_H - 0.5, canvas.width - 1, CELL_H + 1);
  return canvas;
}

/** The (step, unit) under a pointer event on a drawTimeHeatmap canvas. */
export function cellAt(canvas, event, steps, units) {
  const rect = canvas.getBoundingClientRect();
  const t = Math.floor(((event.clientX - rect.left) / rect.width) * steps);
  const u = Math.floor(((event.clientY - rect.top) / rect.height) * units);
  return { step: Math.min(steps - 1, Math.max(0, t)), unit: Math.min(units - 1, Math.max(0, u)) };
}

/**
 * One figure: title, heatmap canvas, labelled legend (and the saturation swatch for a gate).
 * Returns {figure, canvas}. `onPick({step, unit})` fires on a click in the heatmap.
 */
export function heatmapFigure({ title, tensor, scale, gate = null, saturated = null, unit, step,
  onPick, testid, legendLabel = title.split(' ')[0] }) {
  const figure = document.createElement('figure');
  figure.className = 'rnn-map';
  if (testid) figure.dataset.testid = testid;
  const caption = document.createElement('figcaption');
  caption.textContent = title;
  const canvas = document.createElement('canvas');
  canvas.className = 'rnn-heatmap';
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', `${title}: ${tensor.shape[1]} units (rows) by `
    + `${tensor.shape[0]} time steps (columns)`);
  drawTimeHeatmap(canvas, tensor, { scale, gate, unit, step });
  canvas.addEventListener('click', (event) => onPick(cellAt(canvas, event, ...tensor.shape)));
  const legend = document.createElement('div');
  drawLegend(legend, { ...scale, label: legendLabel });
  const body = document.createElement('div');
  body.className = 'rnn-map-body';
  body.append(canvas, legend);
  figure.append(caption, body);
  if (gate) {
    const note = document.createElement('p');
    note.className = 'rnn-saturation';
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = `rgb(${SATURATED.join(',')})`;
    const rule = gate === 'g' ? '|g| > 0.95' : '> 0.95 or < 0.05';
    note.append(swatch, ` saturated (${rule}): ${fmt(100 * saturated)}%`);
    figure.append(note);
  }
  return { figure, canvas };
}

/** The scale of a time-axis tensor: signed tensors are symmetric about 0. */
export function scaleOf(tensors, signed) {
  let min = Infinity;
  let max = -Infinity;
  for (const t of tensors) {
    const r = rangeOf(t.data);
    min = Math.min(min, r.min);
    max = Math.max(max, r.max);
  }
  return { signed, min, max };
}

function svg(tag, attrs, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/**
 * Per-step norms on a log scale: series [{label, values, colour, dash?}] over t = 0..T−1, the
 * chosen step marked. Axes labelled ("time step t (row read)", yLabel); ticks at powers of 10.
 */
export function drawNormPlot(host, series, { yLabel, step = null, title }) {
  const width = 520;
  const height = 260;
  const m = { left: 64, right: 12, top: 14, bottom: 44 };
  const all = series.flatMap((s) => Array.from(s.values));
  const range = logRange(all) || { low: -1, high: 0 };
  const steps = Math.max(...series.map((s) => s.values.length));
  const x = (t) => m.left + ((width - m.left - m.right) * t) / Math.max(1, steps - 1);
  const y = (v) => {
    const e = Math.log10(Math.max(v, 10 ** range.low));
    return m.top + ((height - m.top - m.bottom) * (range.high - e)) / (range.high - range.low);
  };
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'rnn-plot', role: 'img',
    'aria-label': title });
  root.append(svg('title', {}, title));
  for (const e of logTicks(range)) {
    const yy = y(10 ** e);
    root.append(svg('line', { x1: m.left, x2: width - m.right, y1: yy, y2: yy, class: 'grid' }));
    root.append(svg('text', { x: m.left - 6, y: yy + 4, 'text-anchor': 'end', class: 'tick' },
      powerLabel(e)));
  }
  for (let t = 0; t < steps; t += 3) {
    root.append(svg('text', { x: x(t), y: height - m.bottom + 16, 'text-anchor': 'middle',
      class: 'tick' }, String(t)));
  }
  root.append(svg('line', { x1: m.left, x2: m.left, y1: m.top, y2: height - m.bottom,
    class: 'axis' }));
  root.append(svg('line', { x1: m.left, x2: width - m.right, y1: height - m.bottom,
    y2: height - m.bottom, class: 'axis' }));
  root.append(svg('text', { x: (m.left + width - m.right) / 2, y: height - 6,
    'text-anchor': 'middle', class: 'label' }, 'time step t (row read)'));
  root.append(svg('text', { x: 14, y: (m.top + height - m.bottom) / 2, 'text-anchor': 'middle',
    class: 'label', transform: `rotate(-90 14 ${(m.top + height - m.bottom) / 2})` }, yLabel));
  if (step !== null) {
    root.append(svg('line', { x1: x(step), x2: x(step), y1: m.top, y2: height - m.bottom,
      class: 'cursor' }));
  }
  for (const s of series) {
    const points = Array.from(s.values, (v, t) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`);
    root.append(svg('polyline', { points: points.join(' '), fill: 'none', stroke: s.colour,
      'stroke-width': 2, 'stroke-dasharray': s.dash || 'none', 'data-series': s.label }));
  }
  const legend = document.createElement('ul');
  legend.className = 'rnn-plot-legend';
  for (const s of series) {
    const item = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.className = 'swatch line';
    swatch.style.borderColor = s.colour;
    swatch.style.borderStyle = s.dash ? 'dashed' : 'solid';
    item.append(swatch, ` ${s.label}`);
    legend.append(item);
  }
  host.replaceChildren(root, legend);
}
