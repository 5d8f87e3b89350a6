// The network overview: one column per layer, every channel of every layer as a small heatmap
// (dense layers as one strip of cells), a legend per column, the receptive-field preview on
// hover and unit selection on click.
//
// Canvas ids: fmap-{layerIndex}-{channel} for every channel of a (C, H, W) output, and ONE
// canvas fmap-{layerIndex}-0 for a dense (N,) output (flatten, linear and what follows them),
// whose cells are its N units. So a layer contributes mapCount(output_shape) canvases.

import { drawHeatmap, drawLegend, fmt, rangeOf, unionRange } from '../render/colormap.js';
import { clipBox, receptiveBox, unitsInField } from '../geometry.js';
import { ancestorsOf } from '../graph.js';
import { drawSkipConnectors } from './skips.js';

// A dense strip is tall and narrow (columns of at most DENSE_MAX_ROWS cells) beside the other
// layers; when the layers are stacked (phones) it is a block about twice as wide as tall that
// fits in COMPACT_WIDTH pixels.
const DENSE_MAX_ROWS = 40;
const COMPACT_WIDTH = 220;

/** How many canvases a layer output of this shape gets: C for (C, H, W), 1 for dense (N,). */
export function mapCount(shape) {
  return shape.length === 3 ? shape[0] : 1;
}

/** The cell grid of a dense strip of n units, unit i at (row i % rows, column floor(i / rows)):
 * columns of at most DENSE_MAX_ROWS cells, or (compact) about twice as wide as tall. */
export function denseGrid(n, compact = false) {
  const wanted = compact ? Math.ceil(Math.sqrt(2 * n)) : Math.ceil(n / DENSE_MAX_ROWS);
  const rows = Math.ceil(n / Math.max(1, wanted));
  return { rows, cols: Math.ceil(n / rows) };
}

/** Unit i of a dense strip with `rows` rows -> its cell [row, col] (columns read downwards). */
export function denseCellOf(unit, rows) {
  return [unit % rows, Math.floor(unit / rows)];
}

/** The inverse of denseCellOf: the unit in cell (row, col). */
export function denseUnitAt(row, col, rows) {
  return col * rows + row;
}

/** The per-unit values of a dense layer laid out on its grid (row-major), NaN where unused. */
export function denseCells(data, n, compact = false) {
  const { rows, cols } = denseGrid(n, compact);
  const cells = new Float32Array(rows * cols).fill(NaN);
  for (let i = 0; i < n; i += 1) {
    const [row, col] = denseCellOf(i, rows);
    cells[row * cols + col] = data[i];
  }
  return { rows, cols, cells };
}

/** The tensor a mode shows for a layer: its activation (forward) or its delta (backward). */
export function layerTensor(layer, mode) {
  return mode === 'backward' ? layer.grad_output : layer.output;
}

/** On-screen size of one map cell, so that small maps stay readable and large ones fit. */
function cellSize(h, w) {
  const side = Math.max(h, w);
  return Math.max(2, Math.min(8, Math.round(42 / side)));
}

function planeRanges(tensor) {
  const shape = tensor.shape;
  if (shape.length !== 3) return [{ min: tensor.min, max: tensor.max }];
  const [c, h, w] = shape;
  return Array.from({ length: c }, (_, k) => rangeOf(tensor.data, k * h * w, (k + 1) * h * w));
}

/**
 * The colour scale of every map: {signed, min, max} per layer and channel.
 * scaleMode 'map' scales each map to itself, 'layer' each layer to itself, 'global' every layer
 * to the union. Deltas are always signed; activations are signed when their range dips below 0.
 */
export function scales(trace, mode, scaleMode) {
  const tensors = trace.layers.map((layer) => layerTensor(layer, mode));
  const layerRanges = tensors.map((t) => (t ? { min: t.min, max: t.max } : null));
  const global = unionRange(layerRanges.filter(Boolean));
  return tensors.map((tensor, i) => {
    if (!tensor) return null;
    const layerRange = scaleMode === 'global' ? global : layerRanges[i];
    const signed = mode === 'backward' || layerRange.min < 0;
    const maps = scaleMode === 'map' ? planeRanges(tensor) : [layerRange];
    return {
      signed,
      legend: layerRange,
      maps: Array.from({ length: mapCount(tensor.shape) }, (_, c) => ({
        signed, ...(maps[c] || maps[0]),
      })),
    };
  });
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function shapeText(shape) {
  return shape.join('×');
}

function columnHead(title, lines) {
  const head = element('header', 'layer-head');
  head.append(element('h3', 'layer-name', title));
  for (const line of lines) head.append(element('p', 'layer-meta', line));
  return head;
}

/** Where a pointer event falls on a canvas of h x w cells -> [row, col]. */
function cellAt(canvas, event, h, w) {
  const rect = canvas.getBoundingClientRect();
  const row = Math.floor(((event.clientY - rect.top) / rect.height) * h);
  const col = Math.floor(((event.clientX - rect.left) / rect.width) * w);
  return [Math.min(h - 1, Math.max(0, row)), Math.min(w - 1, Math.max(0, col))];
}

function placeBox(wrapper, box, h, w, className) {
  const node = element('span', className);
  node.style.top = `${(box.y0 / h) * 100}%`;
  node.style.left = `${(box.x0 / w) * 100}%`;
  node.style.height = `${((box.y1 - box.y0 + 1) / h) * 100}%`;
  node.style.width = `${((box.x1 - box.x0 + 1) / w) * 100}%`;
  wrapper.append(node);
}

/**
 * Draw the overview into `container`.
 * ctx: {trace, mode, scaleMode, layerInfo (the model's layer table, for parameter counts),
 *       selected: {layerIndex, channel, y, x} | null, onHover(unit | null), onSelect(unit),
 *       compact: layers stacked on a narrow screen (dense strips become wide blocks)}.
 * A unit is {layerIndex, channel, y, x}; for dense layers channel is the unit index, y = x = 0.
 * Returns {preview(unit | null)} to draw a unit's receptive field on the input and on every
 * layer in between.
 */
export function renderOverview(container, ctx) {
  const { trace, mode, scaleMode, layerInfo = [], selected = null, compact = false } = ctx;
  const layerScales = scales(trace, mode, scaleMode);
  const wrappersByLayer = [];
  const columns = [];

  // The input column: what the network saw (forward) or its gradient, the saliency (backward).
  const [, inH, inW] = trace.input.shape;
  const inputTensor = mode === 'backward' && trace.input_grad ? trace.input_grad : trace.input;
  const inputSigned = inputTensor === trace.input_grad;
  const inputColumn = element('div', 'layer-column input-column');
  inputColumn.append(columnHead('input', [inputSigned ? 'dL/d input' : 'image', shapeText(trace.input.shape)]));
  const inputLegend = element('div');
  drawLegend(inputLegend, { min: inputTensor.min, max: inputTensor.max, signed: inputSigned });
  const inputWrapper = element('div', 'fmap');
  const inputCanvas = element('canvas', 'fmap-canvas');
  inputCanvas.setAttribute('data-testid', 'overview-input');
  drawHeatmap(inputCanvas, inputTensor.data, inH, inW, {
    signed: inputSigned,
    min: inputSigned ? inputTensor.min : 0,
    max: inputSigned ? inputTensor.max : 1,
  });
  sizeCanvas(inputCanvas, inH, inW);
  inputWrapper.append(inputCanvas);
  const inputMaps = element('div', 'maps');
  inputMaps.append(inputWrapper);
  inputColumn.append(inputLegend, inputMaps);
  columns.push(inputColumn);

  trace.layers.forEach((layer, layerIndex) => {
    const tensor = layerTensor(layer, mode);
    const info = layerInfo[layerIndex] || {};
    const column = element('div', layer.output_shape.length === 3 ? 'layer-column' : 'layer-column dense-column');
    column.dataset.layer = String(layerIndex);
    const parameters = info.parameters ?? null;
    column.append(columnHead(layer.name, [
      layer.kind,
      shapeText(layer.output_shape),
      parameters === null ? '' : `${parameters.toLocaleString('en')} params`,
    ].filter(Boolean)));
    const wrappers = [];
    wrappersByLayer.push(wrappers);
    if (!tensor) {
      column.append(element('p', 'hint', mode === 'backward' ? 'no delta in this trace' : 'no activation in this trace'));
      columns.push(column);
      return;
    }
    const scale = layerScales[layerIndex];
    const legend = element('div');
    drawLegend(legend, {
      ...scale.legend,
      signed: scale.signed,
      label: scaleMode === 'map' ? 'layer range; maps scaled one by one' : '',
    });
    const maps = element('div', 'maps');
    const shape = tensor.shape;
    if (shape.length === 3) {
      const [channels, h, w] = shape;
      maps.style.setProperty('--map-columns', String(Math.ceil(channels / 8)));
      for (let channel = 0; channel < channels; channel += 1) {
        const canvas = element('canvas', 'fmap-canvas');
        const { signed, min, max } = scale.maps[channel];
        drawHeatmap(canvas, tensor.data, h, w, { signed, min, max, offset: channel * h * w });
        sizeCanvas(canvas, h, w);
        const planeRange = rangeOf(tensor.data, channel * h * w, (channel + 1) * h * w);
        canvas.title = `${layer.name} channel ${channel}: ${fmt(planeRange.min)} … ${fmt(planeRange.max)}`;
        const toUnit = (event) => {
          const [y, x] = cellAt(canvas, event, h, w);
          return { layerIndex, channel, y, x };
        };
        wrappers.push(wireMap(canvas, { layerIndex, channel, h, w, toUnit, ctx, tensor }));
        maps.append(wrappers[wrappers.length - 1].wrapper);
      }
    } else {
      const n = shape.reduce((a, b) => a * b, 1);
      const { rows, cols, cells } = denseCells(tensor.data, n, compact);
      const canvas = element('canvas', 'fmap-canvas dense');
      const { signed, min, max } = scale.maps[0];
      drawHeatmap(canvas, cells, rows, cols, { signed, min, max });
      const fit = compact ? Math.floor(COMPACT_WIDTH / cols) : Math.floor(240 / rows);
      const cell = Math.max(4, Math.min(14, fit));
      canvas.style.width = `${cols * cell}px`;
      canvas.style.height = `${rows * cell}px`;
      canvas.title = `${layer.name}: ${n} units, ${fmt(tensor.min)} … ${fmt(tensor.max)}`;
      const toUnit = (event) => {
        const [row, col] = cellAt(canvas, event, rows, cols);
        const unit = denseUnitAt(row, col, rows);
        return unit < n ? { layerIndex, channel: unit, y: 0, x: 0 } : null;
      };
      wrappers.push(wireMap(canvas, { layerIndex, channel: 0, h: rows, w: cols, toUnit, ctx, tensor, dense: { rows, cols, n } }));
      maps.append(wrappers[0].wrapper);
      if (layerIndex === trace.layers.length - 1 && trace.classes && trace.classes.length === n) {
        maps.classList.add('labelled');
        maps.append(classLabels(trace.classes, rows, cols, cell));
      }
    }
    column.append(legend, maps);
    columns.push(column);
  });

  container.replaceChildren(...columns);
  drawSkipConnectors(trace, columns);

  function clear(className) {
    for (const node of container.querySelectorAll(`.${className}`)) node.remove();
  }

  function mark(unit, className) {
    clear(className);
    const layer = unit && trace.layers[unit.layerIndex];
    if (!layer) return;
    const wrappers = wrappersByLayer[unit.layerIndex] || [];
    if (layer.output_shape.length !== 3) {
      const target = wrappers[0];
      if (!target) return;
      const { rows, cols } = target.dense;
      const [row, col] = denseCellOf(unit.channel, rows);
      placeBox(target.wrapper, { y0: row, x0: col, y1: row, x1: col }, rows, cols, className);
      return;
    }
    const target = wrappers[unit.channel];
    if (target) placeBox(target.wrapper, { y0: unit.y, x0: unit.x, y1: unit.y, x1: unit.x }, target.h, target.w, className);
  }

  /** Draw unit's receptive field on the input and on every windowed layer before it. */
  function preview(unit) {
    clear('rf-box');
    mark(unit, 'unit-box');
    if (!unit) return;
    const field = trace.layers[unit.layerIndex].receptive_field;
    if (!field) return;
    const box = receptiveBox(field, unit.y, unit.x);
    const inputBox = clipBox(box, inH, inW);
    if (inputBox) placeBox(inputWrapper, inputBox, inH, inW, 'rf-box');
    // A dense unit, or a global pool's (jump 0), sees everything: no box on the maps between.
    if (trace.layers[unit.layerIndex].output_shape.length !== 3 || [].concat(field.jump)[0] === 0) return;
    const ancestors = ancestorsOf(trace.layers, unit.layerIndex); // in a graph, the unit's path
    for (const k of ancestors) {
      const layer = trace.layers[k];
      const own = layer.receptive_field;
      if (!own || layer.output_shape.length !== 3) continue;
      const [, h, w] = layer.output_shape;
      const units = unitsInField(box, own, h, w);
      if (!units) continue;
      for (const target of wrappersByLayer[k]) placeBox(target.wrapper, units, h, w, 'rf-box');
    }
  }

  mark(selected, 'selected-box');
  return { preview, select: (unit) => mark(unit, 'selected-box') };
}

/** The class names laid out like the logits' strip beside it (unit i in cell i's place). */
function classLabels(classes, rows, cols, cell) {
  const labels = element('div', 'class-labels');
  labels.dataset.testid = 'class-labels';
  labels.style.gridTemplateRows = `repeat(${rows}, ${cell}px)`;
  labels.style.gridTemplateColumns = `repeat(${cols}, minmax(${cell}px, max-content))`;
  classes.forEach((name, i) => {
    const [row, col] = denseCellOf(i, rows);
    const label = element('span', 'class-label', String(name));
    label.style.gridRow = String(row + 1);
    label.style.gridColumn = String(col + 1);
    labels.append(label);
  });
  return labels;
}

function sizeCanvas(canvas, h, w) {
  const cell = cellSize(h, w);
  canvas.style.width = `${w * cell}px`;
  canvas.style.height = `${h * cell}px`;
}

/** Hover, click and keyboard for one map canvas; returns its {wrapper, h, w, dense}. */
function wireMap(canvas, { layerIndex, channel, h, w, toUnit, ctx, tensor, dense = null }) {
  canvas.setAttribute('data-testid', `fmap-${layerIndex}-${channel}`);
  canvas.dataset.layer = String(layerIndex);
  canvas.dataset.channel = String(channel);
  canvas.tabIndex = 0;
  canvas.setAttribute('role', 'button');
  canvas.setAttribute('aria-label', `${canvas.title || `layer ${layerIndex} map ${channel}`}; `
    + 'arrow keys move between units, Enter shows the detail');
  const wrapper = element('div', 'fmap');
  wrapper.append(canvas);
  const valueOf = (unit) => {
    if (tensor.shape.length !== 3) return tensor.data[unit.channel];
    const [, th, tw] = tensor.shape;
    return tensor.data[(unit.channel * th + unit.y) * tw + unit.x];
  };
  canvas.addEventListener('pointermove', (event) => {
    const unit = toUnit(event);
    ctx.onHover?.(unit, unit ? valueOf(unit) : null);
  });
  canvas.addEventListener('pointerleave', () => ctx.onHover?.(null, null));
  canvas.addEventListener('click', (event) => {
    const unit = toUnit(event);
    if (unit) ctx.onSelect?.(unit, { keyboard: false });
  });
  // Keyboard: arrow keys move a cursor between the map's units (starting at its strongest
  // unit, the largest |value|), shown like a hover; Enter / Space selects the cursor's unit.
  let cursor = null;
  canvas.addEventListener('blur', () => {
    if (cursor) ctx.onHover?.(null, null);
  });
  canvas.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      ctx.onSelect?.(cursor || strongestUnit(tensor, layerIndex, channel, dense), { keyboard: true });
      return;
    }
    const move = ARROWS[event.key];
    if (!move) return;
    event.preventDefault();
    cursor = moveUnit(cursor || strongestUnit(tensor, layerIndex, channel, dense), move, { h, w, dense });
    ctx.onHover?.(cursor, valueOf(cursor));
  });
  return { wrapper, h, w, dense };
}

const ARROWS = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };

/** A unit moved by [dy, dx] within its map (clamped); a dense unit moves along its strip's
 * grid (up / down by one unit, left / right by one column). */
export function moveUnit(unit, [dy, dx], { h, w, dense = null }) {
  if (dense) {
    const [row, col] = denseCellOf(unit.channel, dense.rows);
    const r = Math.min(dense.rows - 1, Math.max(0, row + dy));
    const c = Math.min(dense.cols - 1, Math.max(0, col + dx));
    const next = Math.min(dense.n - 1, denseUnitAt(r, c, dense.rows));
    return { ...unit, channel: next, y: 0, x: 0 };
  }
  return {
    ...unit,
    y: Math.min(h - 1, Math.max(0, unit.y + dy)),
    x: Math.min(w - 1, Math.max(0, unit.x + dx)),
  };
}

/** The unit of largest |value| in a map (or in a dense layer). */
export function strongestUnit(tensor, layerIndex, channel, dense) {
  if (dense || tensor.shape.length !== 3) {
    let best = 0;
    for (let i = 1; i < tensor.data.length; i += 1) {
      if (Math.abs(tensor.data[i]) > Math.abs(tensor.data[best])) best = i;
    }
    return { layerIndex, channel: best, y: 0, x: 0 };
  }
  const [, h, w] = tensor.shape;
  const offset = channel * h * w;
  let best = 0;
  for (let i = 1; i < h * w; i += 1) {
    if (Math.abs(tensor.data[offset + i]) > Math.abs(tensor.data[offset + best])) best = i;
  }
  return { layerIndex, channel, y: Math.floor(best / w), x: best % w };
}
