// The summary strip of a large node: a layer whose tensor was left out of the inspect response
// (its `omitted` parts), or that has more than STRIP_ABOVE channels, is drawn from its summary
// first: a bar of every channel's energy (mean |x|) and the STRIP_CHANNELS strongest channels.
// Their maps are fetched (one channel each, GET /api/v1/traces/{id}/layers/{name}?channels=c)
// when the column scrolls into view, and "all N channels" expands the node (fetched in runs of
// EXPAND_CHUNK channels). A map waiting for its numbers says so (class is-loading,
// data-state="loading"); a failed fetch says so in the column.
//
// Canvas ids stay fmap-{layerIndex}-{channel}, so selection, hover and the tests work as for a
// small layer; only the strongest channels (or, expanded, all) get one.

import { drawHeatmap, fmt, rangeOf } from '../render/colormap.js';
import { channelChunks, strongestChannels } from '../trace_fetch.js';
import { cellAt, wireMap } from './overview_maps.js';

export const STRIP_CHANNELS = 8;
export const STRIP_ABOVE = 64;
const EXPAND_CHUNK = 64;
const ENERGY_WIDTH = 160;

/** The part a mode shows: a layer's output (forward) or its delta (backward). */
export function partOf(mode) {
  return mode === 'backward' ? 'grad_output' : 'output';
}

/** Whether a (C, H, W) layer is drawn as a summary strip in this mode: its tensor was not
 * sent (but its summary was), or it has more than STRIP_ABOVE channels. */
export function usesStrip(layer, mode) {
  if (!layer.output_shape || layer.output_shape.length !== 3) return false;
  const part = partOf(mode);
  if (!layer[part]) return Boolean(layer.summary?.[part]);
  return layer.output_shape[0] > STRIP_ABOVE;
}

/** A strip's maps are smaller than a full column's: whole pixels a cell up to ~56 px a side;
 * maps over STRIP_MAX_SIDE cells are shrunk to STRIP_MAX_SIDE px, smoothed. */
const STRIP_MAX_SIDE = 96;
function sizeStripCanvas(canvas, h, w) {
  const side = Math.max(h, w);
  const cell = side > STRIP_MAX_SIDE ? STRIP_MAX_SIDE / side
    : Math.max(1, Math.min(8, Math.round(48 / side)));
  if (cell < 1) canvas.style.imageRendering = 'auto';
  canvas.style.width = `${Math.round(w * cell)}px`;
  canvas.style.height = `${Math.round(h * cell)}px`;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Every channel's energy as one bar of cells (viridis, 0 to the largest). */
function energyBar(energy, layerIndex, name) {
  const canvas = element('canvas', 'energy-bar');
  canvas.dataset.testid = `energy-${layerIndex}`;
  const values = Float32Array.from(energy);
  const top = values.reduce((m, v) => Math.max(m, v), 0);
  drawHeatmap(canvas, values, 1, values.length, { signed: false, min: 0, max: top });
  canvas.style.width = `${Math.min(ENERGY_WIDTH, Math.max(values.length, 32))}px`;
  canvas.style.height = '8px';
  canvas.title = `${name}: energy (mean |x|) of its ${values.length} channels, 0 … ${fmt(top)}`;
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', canvas.title);
  return canvas;
}

/**
 * Draw layer `layerIndex` as a strip into `column` (after its head and legend).
 * s: {layer, layerIndex, mode, scale ({signed, legend: {min, max}}, the layer's colour scale),
 *     scaleMode, ctx (the overview's: onHover, onSelect), loader (trace_fetch's, or null),
 *     observe(element, callback): call back once when the element comes into view}.
 * Returns the wrappers drawn, indexed by channel (a sparse array).
 */
export function renderStrip(column, s) {
  const { layer, layerIndex, mode, scale, scaleMode, ctx, loader, observe } = s;
  const part = partOf(mode);
  const [channels, h, w] = layer.output_shape;
  const summary = layer.summary?.[part];
  const energy = summary?.channel_energy || [];
  const local = layer[part] || null;
  const wrappers = [];
  const strongest = strongestChannels(energy, STRIP_CHANNELS);
  const status = element('p', 'layer-meta strip-status');
  column.querySelector('.layer-head').append(
    element('p', 'layer-meta', `strongest ${strongest.length} of ${channels} channels`),
  );
  const maps = element('div', 'maps strip-maps');
  maps.style.setProperty('--map-columns', '2');
  column.append(energyBar(energy, layerIndex, layer.name), maps, status);

  function draw(canvas, c, data, offset) {
    const range = scaleMode === 'map' ? rangeOf(data, offset, offset + h * w) : scale.legend;
    drawHeatmap(canvas, data, h, w, { signed: scale.signed, min: range.min, max: range.max, offset });
    const plane = rangeOf(data, offset, offset + h * w);
    canvas.title = `${layer.name} channel ${c}: ${fmt(plane.min)} … ${fmt(plane.max)}`;
  }

  function slot(c) {
    if (wrappers[c]) return;
    const canvas = element('canvas', 'fmap-canvas');
    sizeStripCanvas(canvas, h, w);
    canvas.title = `${layer.name} channel ${c} (energy ${fmt(energy[c] ?? 0)})`;
    const toUnit = (event) => {
      const [y, x] = cellAt(canvas, event, h, w);
      return { layerIndex, channel: c, y, x };
    };
    const tensor = local || { shape: [1, h, w], data: new Float32Array(h * w) };
    const wired = wireMap(canvas, {
      layerIndex, channel: c, h, w, toUnit, ctx, tensor, offset: local ? null : 0,
    });
    wrappers[c] = { ...wired, canvas, tensor };
    if (local) {
      draw(canvas, c, local.data, c * h * w);
    } else {
      wired.wrapper.classList.add('is-loading');
      canvas.dataset.state = 'loading';
    }
    maps.append(wired.wrapper);
  }

  function fill(c, data, offset) {
    const target = wrappers[c];
    if (!target) return;
    target.tensor.data.set(data.subarray(offset, offset + h * w));
    draw(target.canvas, c, target.tensor.data, 0);
    target.wrapper.classList.remove('is-loading');
    target.canvas.dataset.state = 'drawn';
  }

  function failed(error) {
    if (error.name === 'AbortError') return;
    status.textContent = `could not fetch this layer: ${error.message}`;
    status.classList.add('strip-error');
  }

  function fetchChannels(list) {
    const pending = list.filter((c) => wrappers[c]?.canvas.dataset.state === 'loading');
    if (!loader || !pending.length) return;
    column.setAttribute('aria-busy', 'true');
    Promise.all(pending.map((c) => loader.channel(layer.name, part, c)
      .then((tensor) => fill(c, tensor.data, 0))))
      .catch(failed)
      .finally(() => column.setAttribute('aria-busy', 'false'));
  }

  function fetchAll() {
    if (!loader) return;
    column.setAttribute('aria-busy', 'true');
    const runs = channelChunks(channels, EXPAND_CHUNK).map(([a, b]) => loader.range(layer.name, part, [a, b])
      .then((tensor) => {
        for (let c = a; c <= b; c += 1) fill(c, tensor.data, (c - a) * h * w);
      }));
    Promise.all(runs).catch(failed).finally(() => column.setAttribute('aria-busy', 'false'));
  }

  strongest.forEach(slot);
  if (!local) observe(column, () => fetchChannels(strongest));

  const expand = element('button', 'strip-expand', `all ${channels} channels`);
  expand.type = 'button';
  expand.dataset.testid = `expand-${layerIndex}`;
  expand.setAttribute('aria-expanded', 'false');
  expand.addEventListener('click', () => {
    expand.setAttribute('aria-expanded', 'true');
    expand.disabled = true;
    maps.style.setProperty('--map-columns', String(Math.ceil(channels / 8)));
    for (let c = 0; c < channels; c += 1) slot(c);
    if (!local) fetchAll();
  });
  column.append(expand);
  return wrappers;
}
