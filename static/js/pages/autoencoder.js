// The autoencoder lesson: a gallery digit or a drawing through the convolutional autoencoder
// (the server's trace with the reconstruction head): input, reconstruction and error map with
// their colour scales, every layer's maps or gradients, and the transposed convolution taken
// apart (a small example stepped one input at a time, and the model's own layers).

import { autoencoderInspect, autoencoderScatter } from '../lessons/api.js';
import { pointerPosition } from '../lessons/canvas.js';
import { clamp } from '../lessons/plot.js';
import { drawHeatmap, drawLegend, rangeOf } from '../render/colormap.js';
import { countGrid, short, showConvTranspose } from '../views/convtranspose.js';

const SIDE = 28;
const SAMPLES = 500;

const flat = (plane) => Float64Array.from(plane.flat());

export function mount(root) {
  const $ = (id) => root.querySelector(`#${id}`);
  const state = {
    body: { sample: 0 }, data: null, request: 0, example: null, step: 0, seed: 0,
    drawing: false, drawn: false, picked: false,
  };
  const pad = $('ae-draw');
  const paper = pad.getContext('2d');
  paper.fillStyle = '#000';
  paper.fillRect(0, 0, SIDE, SIDE);

  function showError(el, error) {
    el.hidden = !error;
    el.textContent = error ? error.message : '';
  }

  // ---------------------------------------------------------------- the trio

  function picture(canvasId, legendId, plane, scale, label) {
    const data = flat(plane);
    const range = scale || rangeOf(data);
    drawHeatmap($(canvasId), data, plane.length, plane[0].length, range);
    drawLegend($(legendId), { ...range, label });
  }

  function drawTrio(d) {
    const unit = { min: 0, max: 1 };
    picture('ae-input', 'ae-input-legend', d.input, unit, 'pixel');
    picture('ae-recon', 'ae-recon-legend', d.reconstruction, unit, 'pixel');
    picture('ae-error-map', 'ae-error-legend', d.error_map, null, 'squared error');
    const where = 'sample' in state.body ? `gallery digit ${state.body.sample}` : 'your drawing';
    $('ae-loss').textContent = `${where}: loss = mean of the error map = ${d.loss.toExponential(3)} `
      + `(held-out digits average ${d.heldout_mse.toExponential(3)})`;
  }

  // ---------------------------------------------------------------- layer maps

  function drawMaps() {
    const d = state.data;
    const key = $('ae-show').value;
    const signed = key === 'grad_output';
    const holder = $('ae-maps');
    holder.replaceChildren();
    for (const layer of d.layers) {
      const volume = layer[key];
      const range = rangeOf(Float64Array.from(volume.flat(2)));
      const row = document.createElement('div');
      row.className = `ae-layer ae-${layer.part}`;
      row.dataset.layer = layer.name;
      const head = document.createElement('div');
      head.className = 'ae-layer-head';
      const [c, h, w] = layer.output_shape;
      const name = document.createElement('strong');
      name.textContent = layer.name;
      head.append(name, ` ${layer.part} · ${layer.kind} · ${c}×${h}×${w}`);
      const tiles = document.createElement('div');
      tiles.className = 'ae-tiles';
      volume.forEach((plane, ch) => {
        const canvas = document.createElement('canvas');
        canvas.className = 'ae-tile';
        canvas.title = `${layer.name} channel ${ch}`;
        drawHeatmap(canvas, flat(plane), h, w, { signed, ...range });
        tiles.append(canvas);
      });
      const legend = document.createElement('div');
      drawLegend(legend, { ...range, signed, label: signed ? 'dL/d(map)' : 'value' });
      row.append(head, tiles, legend);
      holder.append(row);
    }
  }

  // ---------------------------------------------------------------- the model's scatter

  function modelLimits() {
    const layer = $('mc-layer').value;
    const index = state.data.layers.findIndex((l) => l.name === layer);
    const [c, side] = state.data.layers[index - 1].output_shape;
    return { layer, c, side };
  }

  function drawModelScatter() {
    const s = state.data.scatter;
    $('mc-readout').textContent = `${s.layer}: input value x[${s.channel}, ${s.row}, ${s.col}] = `
      + `${short(s.value)} scatters ${short(s.value)} × w[${s.channel}, 0] with its top-left tap at `
      + `output (${s.top}, ${s.left}); the ${s.input_side}×${s.input_side} input becomes `
      + `${s.output_side}×${s.output_side}.${s.value === 0 ? ' A zero input scatters nothing: '
        + 'pick a value where the map before it is lit.' : ''}`;
    const view = $('mc-view');
    const copy = document.createElement('div');
    copy.className = 'num-grids';
    const kernel = document.createElement('canvas');
    kernel.className = 'ae-kernel';
    const data = flat(s.copy);
    const range = rangeOf(data);
    drawHeatmap(kernel, data, s.kernel_size, s.kernel_size, { signed: true, ...range });
    const fig = document.createElement('figure');
    const legend = document.createElement('div');
    drawLegend(legend, { ...range, signed: true, label: 'value × kernel' });
    const cap = document.createElement('figcaption');
    cap.textContent = `the copy (${s.kernel_size}×${s.kernel_size})`;
    const pic = document.createElement('div');
    pic.className = 'ae-pic-row';
    pic.append(kernel, legend);
    fig.append(pic, cap);
    copy.append(fig);
    view.replaceChildren(copy, countGrid(s.overlap_counts,
      `${s.layer}: (input, tap) pairs per output pixel`));
  }

  /** Once, on the first answer: move the scatter's input to the largest value of its map, so
   * the copy is not all zeros. */
  function pickLitValue() {
    state.picked = true;
    const { layer } = modelLimits();
    const index = state.data.layers.findIndex((l) => l.name === layer);
    let best = { v: 0, c: 0, i: 0, j: 0 };
    state.data.layers[index - 1].output.forEach((plane, c) => plane.forEach((row, i) =>
      row.forEach((v, j) => { if (v > best.v) best = { v, c, i, j }; })));
    $('mc-channel').value = String(best.c);
    $('mc-row').value = String(best.i);
    $('mc-col').value = String(best.j);
    inspect();
  }

  // ---------------------------------------------------------------- requests

  async function inspect() {
    const request = ++state.request;
    const { layer, c, side } = state.data ? modelLimits() : { layer: 'deconv1', c: 8, side: 7 };
    const fields = { layer };
    for (const [id, key, hi] of [['mc-channel', 'channel', c - 1], ['mc-row', 'row', side - 1],
      ['mc-col', 'col', side - 1]]) {
      const input = $(id);
      input.max = String(hi);
      const v = clamp(Math.round(Number(input.value) || 0), 0, hi);
      input.value = String(v);
      fields[key] = v;
    }
    try {
      const d = await autoencoderInspect({ ...state.body, ...fields });
      if (request !== state.request) return;
      showError($('ae-error'), null);
      state.data = d;
      drawTrio(d);
      drawMaps();
      drawModelScatter();
      if (d.scatter.value === 0 && !state.picked) pickLitValue();
    } catch (error) {
      if (request === state.request) showError($('ae-error'), error);
    }
  }

  function pickSample(v) {
    const sample = ((Math.round(Number(v) || 0) % SAMPLES) + SAMPLES) % SAMPLES;
    $('ae-sample').value = String(sample);
    state.body = { sample };
    inspect();
  }

  // ---------------------------------------------------------------- small example

  function drawExample() {
    const e = state.example;
    const n = e.n;
    const step = clamp(state.step, 0, n * n - 1);
    const at = showConvTranspose($('ct-view'), e, step);
    $('ct-where').textContent = `input ${step + 1} of ${n * n}: x[${at.row}, ${at.col}] = `
      + `${short(at.value)}, copy at (${at.top}, ${at.left})`;
    $('ct-check').textContent = `The full sum equals the core's ConvTranspose2d on the same numbers `
      + `(largest difference ${e.max_abs_difference}). ${e.divisible
        ? `Kernel ${e.kernel_size} is a multiple of stride ${e.stride}: even overlaps.`
        : `Kernel ${e.kernel_size} is not a multiple of stride ${e.stride}: uneven overlaps, a checkerboard.`}`;
  }

  async function loadExample() {
    const q = {};
    for (const [id, key, lo, hi] of [['ct-n', 'n', 1, 6], ['ct-k', 'kernel_size', 1, 6],
      ['ct-s', 'stride', 1, 4]]) {
      const v = clamp(Math.round(Number($(id).value) || lo), lo, hi);
      $(id).value = String(v);
      q[key] = v;
    }
    q.seed = state.seed;
    try {
      state.example = await autoencoderScatter(q);
      showError($('ct-error'), null);
      state.step = 0;
      drawExample();
    } catch (error) {
      showError($('ct-error'), error);
    }
  }

  // ---------------------------------------------------------------- drawing pad

  function stroke(p) {
    paper.fillStyle = '#fff';
    paper.beginPath();
    paper.arc(p.x, p.y, 1.4, 0, 2 * Math.PI);
    paper.fill();
    state.drawn = true;
  }

  pad.addEventListener('pointerdown', (event) => {
    state.drawing = true;
    pad.setPointerCapture(event.pointerId);
    stroke(pointerPosition(pad, event, SIDE, SIDE));
  });
  pad.addEventListener('pointermove', (event) => {
    if (state.drawing) stroke(pointerPosition(pad, event, SIDE, SIDE));
  });
  const end = () => { state.drawing = false; };
  pad.addEventListener('pointerup', end);
  pad.addEventListener('pointercancel', end);

  $('ae-clear').addEventListener('click', () => {
    paper.fillStyle = '#000';
    paper.fillRect(0, 0, SIDE, SIDE);
    state.drawn = false;
  });
  $('ae-send').addEventListener('click', () => {
    const rgba = paper.getImageData(0, 0, SIDE, SIDE).data;
    const pixels = Array.from({ length: SIDE }, (_, i) => Array.from({ length: SIDE },
      (__, j) => rgba[4 * (i * SIDE + j)]));
    state.body = { pixels };
    inspect();
  });

  $('ae-sample').addEventListener('change', (e) => pickSample(e.target.value));
  $('ae-prev').addEventListener('click', () => pickSample(Number($('ae-sample').value) - 1));
  $('ae-next').addEventListener('click', () => pickSample(Number($('ae-sample').value) + 1));
  $('ae-show').addEventListener('change', () => state.data && drawMaps());
  for (const id of ['mc-layer', 'mc-channel', 'mc-row', 'mc-col']) {
    $(id).addEventListener('change', () => inspect());
  }

  $('ct-preset').addEventListener('change', (e) => {
    const [k, s] = e.target.value.split(',');
    $('ct-k').value = k;
    $('ct-s').value = s;
    loadExample();
  });
  for (const id of ['ct-n', 'ct-k', 'ct-s']) $(id).addEventListener('change', loadExample);
  $('ct-reseed').addEventListener('click', () => { state.seed += 1; loadExample(); });
  $('ct-step').addEventListener('click', () => {
    if (!state.example) return;
    state.step = Math.min(state.example.n ** 2 - 1, state.step + 1);
    drawExample();
  });
  $('ct-back').addEventListener('click', () => {
    if (!state.example) return;
    state.step = Math.max(0, state.step - 1);
    drawExample();
  });
  $('ct-all').addEventListener('click', () => {
    if (!state.example) return;
    state.step = state.example.n ** 2 - 1;
    drawExample();
  });

  pickSample(0);
  loadExample();
}
