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
import { COMPACT_WIDTH, denseCellOf, denseCells, denseUnitAt, mapCount } from './overview_grid.js';
import { cellAt, sizeCanvas, wireMap } from './overview_maps.js';
import { partOf, renderStrip, usesStrip } from './overview_strip.js';

export { denseCellOf, denseCells, denseGrid, denseUnitAt, mapCount } from './overview_grid.js';
export { moveUnit, strongestUnit } from './overview_maps.js';

/** The tensor a mode shows for a layer: its activation (forward) or its delta (backward). */
export function layerTensor(layer, mode) {
  return mode === 'backward' ? layer.grad_output : layer.output;
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
  // A layer left out of the response still has its summary's range (global scale, strips).
  const layerRanges = tensors.map((t, i) => (t ? { min: t.min, max: t.max }
    : summaryRange(trace.layers[i], mode)));
  const global = unionRange(layerRanges.filter(Boolean));
  return tensors.map((tensor, i) => {
    if (!tensor) {
      if (!layerRanges[i]) return null;
      const range = scaleMode === 'global' ? global : layerRanges[i];
      return { signed: mode === 'backward' || range.min < 0, legend: range, maps: [] };
    }
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

/** {min, max} of a layer's summary for the mode's part, or null. */
function summaryRange(layer, mode) {
  const summary = layer.summary?.[partOf(mode)];
  return summary ? { min: summary.min, max: summary.max } : null;
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
 *       compact: layers stacked on a narrow screen (dense strips become wide blocks),
 *       loader: trace_fetch's loader for the layers left out of the response (or null),
 *       onLoaded(): a left-out dense layer arrived (the page draws again)}.
 * Large nodes (left out, or over STRIP_ABOVE channels) are summary strips (overview_strip.js)
 * whose maps are fetched when they scroll into view.
 * A unit is {layerIndex, channel, y, x}; for dense layers channel is the unit index, y = x = 0.
 * Returns {preview(unit | null)} to draw a unit's receptive field on the input and on every
 * layer in between, select(unit), and dispose() (stops watching what scrolls into view).
 */
export function renderOverview(container, ctx) {
  const { trace, mode, scaleMode, layerInfo = [], selected = null, compact = false } = ctx;
  const layerScales = scales(trace, mode, scaleMode);
  const wrappersByLayer = [];
  const columns = [];
  const watch = watcher();

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
    if (usesStrip(layer, mode)) {
      const scale = layerScales[layerIndex];
      column.append(legendOf(scale, scaleMode));
      wrappersByLayer[layerIndex] = renderStrip(column, {
        layer, layerIndex, mode, scale, scaleMode, ctx, loader: ctx.loader, observe: watch.observe,
      });
      columns.push(column);
      return;
    }
    if (!tensor && layer.omitted?.includes(partOf(mode)) && ctx.loader) {
      // A small layer left out (a tight budget): fetched whole when seen, then drawn again.
      column.append(element('p', 'hint', 'fetching…'));
      watch.observe(column, () => ctx.loader.layer(layer.name, [partOf(mode)]).then((body) => {
        layer[partOf(mode)] = body[partOf(mode)];
        ctx.onLoaded?.();
      }).catch(() => {}));
      columns.push(column);
      return;
    }
    if (!tensor) {
      column.append(element('p', 'hint', mode === 'backward' ? 'no delta in this trace' : 'no activation in this trace'));
      columns.push(column);
      return;
    }
    const scale = layerScales[layerIndex];
    const legend = legendOf(scale, scaleMode);
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
      // Stacked on a phone, a wide flatten (thousands of units) shrinks its cells to fit.
      const cell = Math.max(compact ? 2 : 4, Math.min(14, fit));
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
  watch.start();

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
      for (const target of wrappersByLayer[k].filter(Boolean)) placeBox(target.wrapper, units, h, w, 'rf-box');
    }
  }

  mark(selected, 'selected-box');
  return { preview, select: (unit) => mark(unit, 'selected-box'), dispose: watch.dispose };
}

function legendOf(scale, scaleMode) {
  const legend = element('div');
  drawLegend(legend, {
    ...scale.legend,
    signed: scale.signed,
    label: scaleMode === 'map' ? 'layer range; maps scaled one by one' : '',
  });
  return legend;
}

/** Call back once per element when it comes near the viewport (IntersectionObserver; at
 * once where there is none). Elements are watched from start(), once they are on the page. */
function watcher() {
  const callbacks = new Map();
  let observer = null;
  return {
    observe(node, callback) {
      callbacks.set(node, callback);
      if (observer) observer.observe(node);
    },
    start() {
      if (typeof IntersectionObserver !== 'function') {
        for (const callback of callbacks.values()) callback();
        callbacks.clear();
        return;
      }
      observer = new IntersectionObserver((entries) => {
        for (const entry of entries) {
          if (!entry.isIntersecting) continue;
          const callback = callbacks.get(entry.target);
          callbacks.delete(entry.target);
          observer.unobserve(entry.target);
          callback?.();
        }
      }, { rootMargin: '200px' });
      for (const node of callbacks.keys()) observer.observe(node);
    },
    dispose() {
      observer?.disconnect();
      callbacks.clear();
    },
  };
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

