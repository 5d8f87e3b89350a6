// The fc-as-conv lesson: fc1 computed as a matrix product and as a convolution (same numbers,
// from the server), then the converted network slid over a drawn canvas: a prediction map.

import { fcAsConv, fcAsConvMap } from '../lessons/api.js';
import { pointerPosition, prepare } from '../lessons/canvas.js';
import { DIGIT_COLOURS, clamp, divergingColour, extent } from '../lessons/plot.js';

const TILES = 260;
const CANVAS_W = 112;
const CANVAS_H = 56;
const GRID_SCALE = 4;
const INK_SHOWN = 0.02;
const GALLERY = [[7, 4, 4], [2, 4, 44], [11, 24, 80]];  // [sample id, top, left]

export function mount(root) {
  const $ = (id) => root.querySelector(`#${id}`);
  const ui = {
    sample: $('fc-sample'), unit: $('fc-unit'), error: $('fc-error'),
    mapTiles: $('fc-map-tiles'), kernelTiles: $('fc-kernel-tiles'),
    kernelCaption: $('fc-kernel-caption'), equation: $('fc-equation'),
    layers: root.querySelector('#fc-layers tbody'), gallery: $('fc-gallery'), clear: $('fc-clear'),
    canvas: $('fc-canvas'), grid: $('fc-grid'), key: $('fc-key'),
    mapReadout: $('fc-map-readout'), cellReadout: $('fc-cell-readout'),
  };
  const state = { map: null, cell: null, drawing: false, last: null, request: 0 };

  function showError(error) {
    ui.error.hidden = !error;
    ui.error.textContent = error ? error.message : '';
  }

  // ---------------------------------------------------------------- fc1 both ways

  function drawTiles(canvas, volume, colour) {
    const ctx = prepare(canvas, TILES, TILES);
    const channels = volume.length;
    const per = Math.ceil(Math.sqrt(channels));
    const gap = 4;
    const tile = (TILES - gap * (per - 1)) / per;
    volume.forEach((plane, c) => {
      const ox = (c % per) * (tile + gap);
      const oy = Math.floor(c / per) * (tile + gap);
      const h = plane.length;
      const w = plane[0].length;
      plane.forEach((row, i) => row.forEach((v, j) => {
        ctx.fillStyle = colour(v);
        ctx.fillRect(ox + (j * tile) / w, oy + (i * tile) / h, tile / w + 0.5, tile / h + 0.5);
      }));
      ctx.strokeStyle = '#8a93a6';
      ctx.strokeRect(ox + 0.5, oy + 0.5, tile - 1, tile - 1);
      ctx.fillStyle = '#e66100';
      ctx.font = '10px system-ui, sans-serif';
      ctx.fillText(String(c), ox + 2, oy + 10);
    });
  }

  function fillLayers(rows) {
    ui.layers.replaceChildren();
    for (const r of rows) {
      const tr = document.createElement('tr');
      const cells = [
        r.name,
        `${r.linear_weight[0]}×${r.linear_weight[1]} weights`,
        r.kernels,
        r.input.join('×'),
        r.output.join('×'),
      ];
      cells.forEach((text, i) => {
        const cell = document.createElement(i === 0 ? 'th' : 'td');
        if (i === 0) cell.scope = 'row';
        cell.textContent = text;
        tr.append(cell);
      });
      ui.layers.append(tr);
    }
  }

  async function loadKernels() {
    const sample = clamp(Math.round(Number(ui.sample.value) || 0), 0, 499);
    const unit = clamp(Math.round(Number(ui.unit.value) || 0), 0, 119);
    try {
      const r = await fcAsConv({ sample, unit });
      showError(null);
      const [, hi] = extent(r.feature_map);
      drawTiles(ui.mapTiles, r.feature_map, (v) => {
        const g = Math.round(255 * clamp(hi > 0 ? v / hi : 0, 0, 1));
        return `rgb(${g}, ${g}, ${g})`;
      });
      const [klo, khi] = extent(r.kernel);
      const limit = Math.max(Math.abs(klo), Math.abs(khi));
      drawTiles(ui.kernelTiles, r.kernel, (v) => divergingColour(v, limit));
      ui.kernelCaption.textContent = `Unit ${unit}'s 400 weights reshaped to a 5×5×16 kernel (blue negative, red positive; largest |w| ${limit.toFixed(3)}).`;
      const conv = r.conv_output[unit];
      const linear = r.linear_output[unit];
      ui.equation.textContent = `digit ${r.sample} (label ${r.label}), unit ${unit}: `
        + `as a convolution, Σ map ⊙ kernel + b = ${conv.toFixed(6)}; `
        + `as a matrix, row ${unit} of W · x + b = ${linear.toFixed(6)}. `
        + `Largest difference over all 120 units: ${r.max_abs_difference.toExponential(1)} (float32 rounding: the sums run in another order). `
        + `Prediction ${r.prediction} both ways.`;
      fillLayers(r.layers);
    } catch (error) {
      showError(error);
    }
  }

  // ---------------------------------------------------------------- the canvas

  const paper = ui.canvas.getContext('2d', { willReadFrequently: true });

  function clearCanvas() {
    paper.fillStyle = '#000';
    paper.fillRect(0, 0, CANVAS_W, CANVAS_H);
  }

  function canvasPixels() {
    const data = paper.getImageData(0, 0, CANVAS_W, CANVAS_H).data;
    const rows = [];
    for (let i = 0; i < CANVAS_H; i += 1) {
      const row = new Array(CANVAS_W);
      for (let j = 0; j < CANVAS_W; j += 1) row[j] = data[(i * CANVAS_W + j) * 4];
      rows.push(row);
    }
    return rows;
  }

  function loadImage(src) {
    return new Promise((resolve, reject) => {
      const img = new Image();
      img.onload = () => resolve(img);
      img.onerror = () => reject(new Error(`could not load ${src}`));
      img.src = src;
    });
  }

  async function placeGallery() {
    clearCanvas();
    try {
      const images = await Promise.all(GALLERY.map(([id]) => loadImage(`/api/v1/samples/${id}.png`)));
      paper.save();
      paper.globalCompositeOperation = 'lighten';
      images.forEach((img, k) => paper.drawImage(img, GALLERY[k][2], GALLERY[k][1]));
      paper.restore();
    } catch (error) {
      showError(error);
    }
    await runMap();
  }

  function stroke(to) {
    paper.strokeStyle = '#fff';
    paper.lineWidth = 2.6;
    paper.lineCap = 'round';
    paper.lineJoin = 'round';
    paper.beginPath();
    const from = state.last || to;
    paper.moveTo(from.x, from.y);
    paper.lineTo(to.x + (from === to ? 0.01 : 0), to.y);
    paper.stroke();
    state.last = to;
  }

  ui.canvas.addEventListener('pointerdown', (event) => {
    state.drawing = true;
    state.last = null;
    ui.canvas.setPointerCapture(event.pointerId);
    stroke(pointerPosition(ui.canvas, event, CANVAS_W, CANVAS_H));
    event.preventDefault();
  });
  ui.canvas.addEventListener('pointermove', (event) => {
    if (state.drawing) stroke(pointerPosition(ui.canvas, event, CANVAS_W, CANVAS_H));
  });
  const endStroke = () => {
    if (!state.drawing) return;
    state.drawing = false;
    state.last = null;
    runMap();
  };
  ui.canvas.addEventListener('pointerup', endStroke);
  ui.canvas.addEventListener('pointercancel', endStroke);

  // ---------------------------------------------------------------- the map

  async function runMap() {
    const request = ++state.request;
    try {
      const map = await fcAsConvMap(canvasPixels());
      if (request !== state.request) return;
      state.map = map;
      if (state.cell && (state.cell.i >= map.rows || state.cell.j >= map.cols)) state.cell = null;
      showError(null);
      const rf = map.receptive_field;
      ui.mapReadout.textContent = `${map.rows}×${map.cols} outputs over the ${map.width}×${map.height} canvas. `
        + `Neighbouring outputs are ${map.stride[0]} pixels apart (the product of the two poolings' strides); `
        + `each reads a ${map.window[0]}×${map.window[1]} crop, and its receptive field is ${rf.size[0]}×${rf.size[1]}: `
        + `the crop plus the ${rf.padding[0]}-pixel border the first convolution pads with.`;
      drawGrid();
    } catch (error) {
      showError(error);
    }
  }

  function drawGrid() {
    const W = CANVAS_W * GRID_SCALE;
    const H = CANVAS_H * GRID_SCALE;
    const ctx = prepare(ui.grid, W, H);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(ui.canvas, 0, 0, W, H);
    ctx.fillStyle = 'rgba(255, 255, 255, 0.35)';
    ctx.fillRect(0, 0, W, H);
    const map = state.map;
    if (!map) return;
    const [sh, sw] = map.stride;
    const [wh, ww] = map.window;
    const cell = GRID_SCALE * Math.min(sh, sw);
    ctx.font = `${Math.round(cell * 0.7)}px system-ui, sans-serif`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    for (let i = 0; i < map.rows; i += 1) {
      for (let j = 0; j < map.cols; j += 1) {
        const cx = (j * sw + ww / 2) * GRID_SCALE;
        const cy = (i * sh + wh / 2) * GRID_SCALE;
        const ink = map.ink[i][j] > INK_SHOWN;
        const p = map.probability[i][j];
        ctx.globalAlpha = ink ? 0.2 + 0.6 * p : 0.25;
        ctx.fillStyle = ink ? DIGIT_COLOURS[map.prediction[i][j]] : '#9aa0aa';
        ctx.fillRect(cx - cell / 2 + 0.5, cy - cell / 2 + 0.5, cell - 1, cell - 1);
        ctx.globalAlpha = 1;
        if (ink) {
          ctx.fillStyle = '#000';
          ctx.fillText(String(map.prediction[i][j]), cx, cy + 0.5);
        }
      }
    }
    ctx.save();
    ctx.globalCompositeOperation = 'screen';  // the ink shows through the cells
    ctx.drawImage(ui.canvas, 0, 0, W, H);
    ctx.restore();
    if (state.cell) {
      const { i, j } = state.cell;
      const rf = map.receptive_field;
      ctx.lineWidth = 2;
      ctx.strokeStyle = '#e66100';
      ctx.strokeRect(j * sw * GRID_SCALE, i * sh * GRID_SCALE, ww * GRID_SCALE, wh * GRID_SCALE);
      ctx.setLineDash([5, 4]);
      ctx.strokeRect((j * sw - rf.padding[1]) * GRID_SCALE, (i * sh - rf.padding[0]) * GRID_SCALE,
        rf.size[1] * GRID_SCALE, rf.size[0] * GRID_SCALE);
      ctx.setLineDash([]);
      const probs = map.probabilities[i][j]
        .map((p, c) => [p, c]).sort((a, b) => b[0] - a[0]).slice(0, 3)
        .map(([p, c]) => `${c}: ${(100 * p).toFixed(1)}%`).join(', ');
      ui.cellReadout.textContent = `Output (${i}, ${j}) reads the crop at rows ${i * sh}–${i * sh + wh - 1}, `
        + `columns ${j * sw}–${j * sw + ww - 1} (solid box; the dashed box is its whole field): ${probs}.`;
    } else {
      ui.cellReadout.textContent = '';
    }
  }

  ui.grid.addEventListener('click', (event) => {
    const map = state.map;
    if (!map) return;
    const p = pointerPosition(ui.grid, event, CANVAS_W, CANVAS_H);
    const i = clamp(Math.round((p.y - map.window[0] / 2) / map.stride[0]), 0, map.rows - 1);
    const j = clamp(Math.round((p.x - map.window[1] / 2) / map.stride[1]), 0, map.cols - 1);
    state.cell = { i, j };
    drawGrid();
  });

  function fillKey() {
    ui.key.replaceChildren();
    DIGIT_COLOURS.forEach((colour, c) => {
      const li = document.createElement('li');
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.background = colour;
      li.append(swatch, String(c));
      ui.key.append(li);
    });
    const li = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = '#9aa0aa';
    li.append(swatch, 'crop without ink');
    ui.key.append(li);
  }

  ui.sample.addEventListener('change', loadKernels);
  ui.unit.addEventListener('change', loadKernels);
  ui.gallery.addEventListener('click', placeGallery);
  ui.clear.addEventListener('click', () => { clearCanvas(); runMap(); });

  fillKey();
  loadKernels();
  placeGallery();
}
