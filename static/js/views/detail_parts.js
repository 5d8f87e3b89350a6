// Building blocks shared by the detail views: DOM helpers, numbers shown to 4 significant
// digits (exact value on hover and in data-value, which the browser tests read), number grids,
// tensor access and scaled heatmaps with boxes drawn over them.

import { inputsOf, INPUT, nodeTensor, readersOf } from '../graph.js';
import { agreement, agreementText, fmt } from '../numbers.js';
import { colourOf, drawHeatmap, rangeOf } from '../render/colormap.js';

/** el('div', {class: 'x', dataset: {a: 1}, testid: 'y'}, child, 'text', ...) -> Element. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'testid') node.dataset.testid = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** A number: 4 significant digits shown, the exact value in title and data-value. */
export function num(value, { testid, cls = '', label } = {}) {
  const v = Number(value);
  return el('span', {
    class: `num ${cls}`.trim(),
    testid,
    title: label ? `${label} = ${v}` : String(v),
    dataset: { value: String(v) },
    text: fmt(v),
  });
}

/** A titled panel (a <section>) holding the children. */
export function panel(title, { testid, cls = '' } = {}, ...children) {
  return el('section', { class: `detail-panel ${cls}`.trim(), testid },
    el('h3', { text: title }), ...children);
}

/** A short explanatory paragraph. */
export function note(...children) {
  return el('p', { class: 'detail-note' }, ...children);
}

/** A part of the trace a view needs but the request did not include (e.g. params). */
export class MissingPart extends Error {}

/** value, or a MissingPart error naming the include part that brings it. */
export function need(value, what) {
  if (value === undefined || value === null) {
    throw new MissingPart(`This view needs ${what}, which the trace does not include.`);
  }
  return value;
}

/** Row-major offset of an index into a tensor of `shape`. */
export function offsetOf(shape, index) {
  let offset = 0;
  for (let i = 0; i < shape.length; i++) offset = offset * shape[i] + index[i];
  return offset;
}

/** tensor.data at a multi-index (numbers; BigInt-free: api.js decodes int64 to Float64). */
export function at(tensor, ...index) {
  return Number(tensor.data[offsetOf(tensor.shape, index)]);
}

/** A list of numbers from a plain array or a decoded Tensor. */
export function numbers(value) {
  if (!value) return [];
  if (Array.isArray(value)) return value.map(Number);
  if (value.data) return Array.from(value.data, Number);
  return Array.from(value, Number);
}

/** The tensor a layer reads (its first input): the output of the node it names in `inputs`
 * (in a chain, the previous layer), or the network input. */
export function layerInput(trace, index) {
  return nodeTensor(trace, inputsOf(trace.layers, index)[0], 'output');
}

/** The delta of a layer's (first) input: that node's grad_output, or input_grad. Where the
 * node has several readers it is the SUM of their shares (see sharedInput). */
export function layerInputGrad(trace, index) {
  return nodeTensor(trace, inputsOf(trace.layers, index)[0], 'grad_output');
}

/** The name of what a layer reads, for captions. */
export function layerInputName(trace, index) {
  const name = inputsOf(trace.layers, index)[0];
  return name === INPUT ? 'the input' : `${name}'s output`;
}

/** When the node a layer reads also feeds other layers: {name, others: [their names]};
 * else null. Its delta is then the sum of every reader's share, not this layer's alone. */
export function sharedInput(trace, index) {
  const name = inputsOf(trace.layers, index)[0];
  const others = readersOf(trace.layers, name).filter((i) => i !== index)
    .map((i) => trace.layers[i].name);
  return others.length ? { name, others } : null;
}

/**
 * The badge for "this layer's share of its input's delta ; the trace's delta of the input":
 * `matches` when the layer is the input's only reader; where the input fans out, the trace
 * holds the sum of every reader's share, so the badge says so instead of comparing (the
 * fan-out panel of that node checks the sum).
 */
export function deltaMatches(trace, index, computed, reported, opts = {}) {
  const shared = sharedInput(trace, index);
  if (!shared) return matches(computed, reported, opts);
  return el('span', {
    class: 'match shared', testid: 'detail-delta-shared',
    text: `this layer's share only: ${shared.name}'s delta also sums ${shared.others.join(', ')}'s `
      + `(select ${shared.name} to see the sum)`,
  });
}

/** Sum of a list of numbers in float64, pairwise-free but ordered as shown. */
export function sum(values) {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

/** A light tint of a value's heatmap colour, readable under dark text. */
export function tint(value, scale) {
  const [r, g, b] = colourOf(value, scale);
  const mix = (c) => Math.round(255 - (255 - c) * 0.55);
  return `rgb(${mix(r)}, ${mix(g)}, ${mix(b)})`;
}

/**
 * A grid of numbers: rows x cols cells, cell(r, c) -> {value, cls, title, testid, dataset}
 * (value null/undefined draws an empty cell). Cells are tinted on `scale` when given.
 */
export function numberGrid(rows, cols, cell, { scale, caption, testid, cls = '' } = {}) {
  const table = el('table', { class: `num-grid ${cls}`.trim(), testid });
  if (caption) table.append(el('caption', { text: caption }));
  const body = el('tbody');
  for (let r = 0; r < rows; r++) {
    const tr = el('tr');
    for (let c = 0; c < cols; c++) {
      const spec = cell(r, c) || {};
      const td = el('td', { class: spec.cls, testid: spec.testid, dataset: spec.dataset });
      if (spec.value !== undefined && spec.value !== null) {
        const v = Number(spec.value);
        td.textContent = spec.text ?? fmt(v);
        td.title = spec.title ? `${spec.title} = ${v}` : String(v);
        td.dataset.value = String(v);
        if (scale && !spec.plain) td.style.backgroundColor = tint(v, scale);
      } else if (spec.text) {
        td.textContent = spec.text;
        if (spec.title) td.title = spec.title;
      }
      tr.append(td);
    }
    body.append(tr);
  }
  table.append(body);
  return table;
}

/** A signed scale symmetric about zero for a list of values. */
export function signedScale(values) {
  let m = 0;
  for (const v of values) m = Math.max(m, Math.abs(v));
  return { signed: true, min: -m, max: m };
}

/**
 * A heatmap of one (h, w) plane of `tensor` (channel c of a (C, H, W) tensor; a 2-D tensor is
 * one plane) drawn `cell` CSS pixels per value, with boxes {y0, x0, y1, x1, colour, dash}
 * (inclusive cell bounds) stroked over it and cells {y, x, colour, width, halo} outlined.
 */
export function heatmapCanvas(tensor, c, { cell = 8, signed, boxes = [], marks = [], label } = {}) {
  const [h, w] = tensor.shape.length === 3 ? tensor.shape.slice(1) : tensor.shape;
  const offset = tensor.shape.length === 3 ? c * h * w : 0;
  const range = rangeOf(tensor.data, offset, offset + h * w);
  const isSigned = signed ?? range.min < 0;
  const source = document.createElement('canvas');
  drawHeatmap(source, tensor.data, h, w, { signed: isSigned, ...range, offset });
  const canvas = el('canvas', { class: 'detail-heatmap', role: 'img', 'aria-label': label });
  canvas.width = w * cell;
  canvas.height = h * cell;
  const g = canvas.getContext('2d');
  g.imageSmoothingEnabled = false;
  g.drawImage(source, 0, 0, w * cell, h * cell);
  // Every outline gets a white halo so that it shows on dark and light cells alike.
  const outline = (x0, y0, w0, h0, colour, width, dash, halo = true) => {
    g.save();
    if (dash) g.setLineDash(dash);
    g.strokeStyle = '#fff';
    g.lineWidth = width + 2;
    if (halo) g.strokeRect(x0, y0, w0, h0);
    g.strokeStyle = colour;
    g.lineWidth = width;
    g.strokeRect(x0, y0, w0, h0);
    g.restore();
  };
  const inset = Math.min(2, cell / 4);
  for (const m of marks) {
    outline(m.x * cell + inset, m.y * cell + inset, cell - 2 * inset, cell - 2 * inset,
      m.colour || '#000', m.width || Math.max(1, Math.min(2, cell / 4)), null, m.halo !== false);
  }
  for (const b of boxes) {
    outline(b.x0 * cell + 1, b.y0 * cell + 1, (b.x1 - b.x0 + 1) * cell - 2,
      (b.y1 - b.y0 + 1) * cell - 2, b.colour || '#111', b.width || 2, b.dash);
  }
  canvas.dataset.h = String(h);
  canvas.dataset.w = String(w);
  canvas.dataset.cell = String(cell);
  return canvas;
}

/** The cell (y, x) of a heatmapCanvas under a pointer event. */
export function cellAt(canvas, event) {
  const rect = canvas.getBoundingClientRect();
  const h = Number(canvas.dataset.h);
  const w = Number(canvas.dataset.w);
  const y = Math.floor(((event.clientY - rect.top) / rect.height) * h);
  const x = Math.floor(((event.clientX - rect.left) / rect.width) * w);
  return [Math.min(h - 1, Math.max(0, y)), Math.min(w - 1, Math.max(0, x))];
}

/**
 * The badge beside "computed ; the trace says reported": "✓ matches" when they agree within
 * float32 rounding of the operands' magnitude (opts: {magnitude, rtol, atol}, see
 * numbers.agreement), else "✗ differs by X%". Never hidden; the tolerance is in its title.
 */
export function matches(computed, reported, opts = {}) {
  const result = agreement(computed, reported, opts);
  return el('span', {
    class: result.ok ? 'match ok' : 'match bad',
    text: agreementText(result),
    title: `page ${Number(computed)} vs trace ${Number(reported)}: |difference| = ${result.diff}, `
      + `allowed ${result.tolerance}`,
    dataset: { diff: String(result.diff), tolerance: String(result.tolerance) },
  });
}
