// The receptive-field explorer: a preset or an edited layer list -> POST /api/v1/receptive-field
// -> the table, and the chosen unit's field drawn on the input, layer by layer.
// The server computes every number; the page picks units and draws.

import { ApiError, receptiveField, receptiveFieldPresets } from '../api.js';
import { pair, receptiveBox } from '../geometry.js';
import { hatch, prepareCanvas } from './explorer_canvas.js';

const KINDS = ['conv2d', 'maxpool2d', 'avgpool2d'];
const COLOURS = {
  image: '#c9d6e8',
  grid: 'rgba(29, 35, 48, 0.12)',
  padding: '#f1f1f1',
  hatch: '#d3d3d3',
  field: 'rgba(230, 97, 0, 0.35)',
  box: '#e66100',
  footprint: '#1f5fa8',
  earlier: 'rgba(29, 35, 48, 0.45)',
  point: '#1d2330',
  unit: '#e0e4ec',
  seeing: '#f6c08f',
  chosen: '#e66100',
};
const PLAY_MS = 700;

const $ = (id) => document.getElementById(id);
const ui = {
  preset: $('rf-preset'),
  presetDescription: $('rf-preset-description'),
  inputH: $('rf-input-h'),
  inputW: $('rf-input-w'),
  layers: $('rf-layers'),
  add: $('rf-add'),
  error: $('rf-error'),
  tableBody: document.querySelector('#rf-table tbody'),
  play: $('rf-play'),
  range: $('rf-layer-range'),
  rangeLabel: $('rf-layer-label'),
  inputCanvas: $('rf-input-canvas'),
  unitCanvas: $('rf-unit-canvas'),
  unitCaption: $('rf-unit-caption'),
  readout: $('rf-readout'),
  windowHint: $('rf-window-hint'),
};

const state = {
  presets: [],
  presetId: 'alexnet',
  rows: [],          // the layer editor's rows: {name, kind, kernel_size, stride, padding, dilation, ceil_mode} (text)
  table: null,       // the last good response
  layerIndex: 0,
  point: null,       // the input pixel {y, x} whose covering units are followed
  unit: null,        // {y, x} at layerIndex
  timer: null,
  request: 0,
};

/** [h, w] -> "h" or "h×w". */
function showPair(value) {
  const [h, w] = pair(value);
  return h === w ? String(h) : `${h}×${w}`;
}

/** "3" -> 3, "3,5" / "3x5" -> [3, 5]; anything else is sent as typed, for the API to name. */
function parseSize(text) {
  const parts = String(text).trim().split(/\s*[,x×]\s*|\s+/).filter(Boolean);
  if (parts.length === 1 && /^-?\d+$/.test(parts[0])) return Number(parts[0]);
  if (parts.length === 2 && parts.every((p) => /^-?\d+$/.test(p))) return parts.map(Number);
  return String(text);
}

function editorRow(layer) {
  const text = (v) => (v === undefined || v === null ? '' : Array.isArray(v) ? (v[0] === v[1] ? String(v[0]) : v.join(',')) : String(v));
  return {
    name: layer.name || '',
    kind: layer.kind || 'conv2d',
    kernel_size: text(layer.kernel_size ?? 3),
    stride: text(layer.stride ?? 1),
    padding: text(layer.padding ?? 0),
    dilation: text(layer.dilation ?? 1),
    ceil_mode: Boolean(layer.ceil_mode),
  };
}

function requestBody() {
  const inputSize = [parseSize(ui.inputH.value), parseSize(ui.inputW.value)];
  if (state.presetId) return { preset: state.presetId, input_size: inputSize };
  return {
    layers: state.rows.map((row) => {
      const layer = {
        kind: row.kind,
        kernel_size: parseSize(row.kernel_size),
        stride: parseSize(row.stride),
        padding: parseSize(row.padding),
        dilation: parseSize(row.dilation),
        ceil_mode: row.ceil_mode,
      };
      if (row.name.trim()) layer.name = row.name.trim();
      return layer;
    }),
    input_size: inputSize,
  };
}

// ---- the layer editor ----

/** Flag the row and field the API named (or clear every flag), without rebuilding the inputs
 * (a rebuild would steal the focus from the field being typed in). */
function markInvalid(invalid) {
  [...ui.layers.children].forEach((li, index) => {
    const bad = Boolean(invalid) && invalid.layer === index;
    li.classList.toggle('invalid', bad);
    for (const control of li.querySelectorAll('[data-key]')) {
      if (bad && control.dataset.key === invalid.field) control.setAttribute('aria-invalid', 'true');
      else control.removeAttribute('aria-invalid');
    }
  });
}

function renderEditor() {
  ui.layers.replaceChildren();
  state.rows.forEach((row, index) => {
    const li = document.createElement('li');
    li.className = 'layer-row';
    const add = (label, control) => {
      const wrap = document.createElement('label');
      wrap.className = 'field';
      wrap.append(label, control);
      li.append(wrap);
    };
    const textInput = (key, size) => {
      const input = document.createElement('input');
      input.type = 'text';
      input.value = row[key];
      input.size = size;
      input.dataset.key = key;
      input.addEventListener('input', () => { row[key] = input.value; edited(); });
      return input;
    };
    add('name', textInput('name', 7));
    const kind = document.createElement('select');
    kind.dataset.key = 'kind';
    for (const k of KINDS) kind.add(new Option(k, k, false, k === row.kind));
    kind.addEventListener('change', () => { row.kind = kind.value; edited(); });
    add('kind', kind);
    add('kernel', textInput('kernel_size', 3));
    add('stride', textInput('stride', 3));
    add('padding', textInput('padding', 3));
    add('dilation', textInput('dilation', 3));
    const ceil = document.createElement('input');
    ceil.type = 'checkbox';
    ceil.checked = row.ceil_mode;
    ceil.dataset.key = 'ceil_mode';
    ceil.addEventListener('change', () => { row.ceil_mode = ceil.checked; edited(); });
    add('ceil', ceil);
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.textContent = 'Remove';
    remove.setAttribute('aria-label', `Remove layer ${index + 1}`);
    remove.disabled = state.rows.length === 1;
    remove.addEventListener('click', () => {
      state.rows.splice(index, 1);
      renderEditor();
      edited();
    });
    li.append(remove);
    ui.layers.append(li);
  });
}

let debounce = null;
function edited() {
  state.presetId = '';
  ui.preset.value = '';
  ui.presetDescription.textContent = 'A custom layer list.';
  clearTimeout(debounce);
  debounce = setTimeout(() => refresh(), 250);
}

function choosePreset(id) {
  const preset = state.presets.find((p) => p.id === id);
  state.presetId = id;
  if (preset) {
    state.rows = preset.layers.map(editorRow);
    [ui.inputH.value, ui.inputW.value] = preset.input_size;
    ui.presetDescription.textContent = preset.description;
    state.layerIndex = preset.layers.length - 1;
    state.point = null;
    renderEditor();
  }
  refresh();
}

// ---- talking to the API ----

function showError(error) {
  // the last good table stays on screen, dimmed, until the layers are valid again
  document.getElementById('rf-page').classList.toggle('stale', Boolean(error));
  if (!error) {
    ui.error.hidden = true;
    ui.error.textContent = '';
    return;
  }
  ui.error.hidden = false;
  ui.error.textContent = error.message;
}

function unitFor(row, point) {
  const size = pair(row.size);
  const jump = pair(row.jump);
  const start = pair(row.start, 0);
  const out = pair(row.output_size);
  return {
    y: Math.min(out[0] - 1, Math.max(0, Math.round((point.y - start[0]) / jump[0]))),
    x: Math.min(out[1] - 1, Math.max(0, Math.round((point.x - start[1]) / jump[1]))),
    size,
  };
}

async function refresh({ keepUnit = false } = {}) {
  const ticket = ++state.request;
  try {
    const body = requestBody();
    const table = await receptiveField(body);
    if (ticket !== state.request) return;
    const layers = table.layers;
    state.layerIndex = Math.min(Math.max(0, state.layerIndex), layers.length - 1);
    const [h, w] = table.input_size;
    if (!state.point || state.point.y >= h || state.point.x >= w) {
      state.point = { y: Math.floor((h - 1) / 2), x: Math.floor((w - 1) / 2) };
    }
    if (!keepUnit || !state.unit) state.unit = unitFor(layers[state.layerIndex], state.point);
    const withUnit = await receptiveField({
      ...body,
      unit: { layer: state.layerIndex, y: state.unit.y, x: state.unit.x },
      pixel: state.point,
    });
    if (ticket !== state.request) return;
    state.table = withUnit;
    showError(null);
    markInvalid(null);
    render();
  } catch (error) {
    if (ticket !== state.request) return;
    showError(error instanceof ApiError ? error : { message: String(error) });
    if (error instanceof ApiError) markInvalid({ layer: error.details.layer, field: error.details.field });
  }
}

// ---- drawing ----

function render() {
  const table = state.table;
  if (!table) return;
  renderTable(table);
  ui.range.max = String(table.layers.length - 1);
  ui.range.value = String(state.layerIndex);
  const row = table.layers[state.layerIndex];
  ui.rangeLabel.textContent = `${state.layerIndex + 1} / ${table.layers.length}: ${row.name}`;
  drawInput(table);
  drawUnits(table);
  const b = table.unit_box;
  const c = table.unit_box_clipped;
  const f = table.unit_footprint;
  const span = (box) => (box ? `rows ${box.y0}…${box.y1}, columns ${box.x0}…${box.x1}` : 'none');
  ui.readout.textContent = `${row.name} unit (${table.unit.y}, ${table.unit.x}) sees a `
    + `${showPair(row.size)} field: ${span(b)}; inside the input ${span(c)}; `
    + `reads ${span(f)}. Neighbouring units are ${showPair(row.jump)} pixels apart.`;
  renderWindowLink(table);
}

// The conv-arithmetic page's limits: a layer that fits them links to its sliding window there.
const WINDOW_LIMITS = { n: 32, k: 9, s: 5, p: 8, d: 4 };

function renderWindowLink(table) {
  const index = state.layerIndex;
  const row = table.layers[index];
  const inputSize = index === 0 ? table.input_size : table.layers[index - 1].output_size;
  const cfg = row.config;
  const values = { n: inputSize, k: cfg.kernel_size, s: cfg.stride, p: cfg.padding, d: cfg.dilation };
  ui.windowHint.replaceChildren();
  const square = Object.values(values).every(([h, w]) => h === w);
  const fits = Object.entries(values).every(([key, [h]]) => h <= WINDOW_LIMITS[key]);
  if (!square || !fits || cfg.ceil_mode) {
    ui.windowHint.textContent = `${row.name}'s window (input ${showPair(inputSize)}) is too large, `
      + 'not square or in ceil mode: the Conv arithmetic page draws square floor-mode windows up to '
      + `an input of ${WINDOW_LIMITS.n}.`;
    return;
  }
  const query = new URLSearchParams(Object.entries(values).map(([key, [h]]) => [key, String(h)]));
  const link = document.createElement('a');
  link.href = `/conv-arithmetic?${query}`;
  link.textContent = `${row.name}'s window sliding over its ${showPair(inputSize)} input`;
  ui.windowHint.append('See ', link, ' in Conv arithmetic.');
}

function renderTable(table) {
  ui.tableBody.replaceChildren();
  table.layers.forEach((row, index) => {
    const tr = document.createElement('tr');
    if (index === state.layerIndex) tr.classList.add('selected');
    const th = document.createElement('th');
    th.scope = 'row';
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'link-button';
    button.textContent = row.name;
    button.setAttribute('aria-pressed', String(index === state.layerIndex));
    button.addEventListener('click', () => selectLayer(index));
    th.append(button);
    tr.append(th);
    const cfg = row.config;
    for (const value of [row.kind, showPair(cfg.kernel_size), showPair(cfg.stride), showPair(cfg.padding) + (cfg.ceil_mode ? ' (ceil)' : ''),
      showPair(cfg.dilation), showPair(row.output_size), showPair(row.jump), showPair(row.size), showPair(row.start)]) {
      const td = document.createElement('td');
      td.textContent = value;
      tr.append(td);
    }
    ui.tableBody.append(tr);
  });
}

/** The input-coordinate rectangle that holds the input and every unit box of every layer. */
function extent(table) {
  const [h, w] = table.input_size;
  let y0 = 0; let x0 = 0; let y1 = h - 1; let x1 = w - 1;
  for (const row of table.layers) {
    const last = receptiveBox(row, row.output_size[0] - 1, row.output_size[1] - 1);
    y0 = Math.min(y0, -row.padding[0]);
    x0 = Math.min(x0, -row.padding[1]);
    y1 = Math.max(y1, last.y1);
    x1 = Math.max(x1, last.x1);
  }
  return { y0, x0, y1, x1 };
}

const INPUT_CSS = 360;
const UNIT_CSS = 240;

/** Input-canvas geometry: input pixel (y, x) -> canvas point. */
function inputView(table) {
  const ext = extent(table);
  const spanH = ext.y1 - ext.y0 + 1;
  const spanW = ext.x1 - ext.x0 + 1;
  const scale = (INPUT_CSS - 4) / Math.max(spanH, spanW);
  const offX = 2 + (INPUT_CSS - 4 - spanW * scale) / 2;
  const offY = 2 + (INPUT_CSS - 4 - spanH * scale) / 2;
  return {
    ext, scale,
    px: (x) => offX + (x - ext.x0) * scale,
    py: (y) => offY + (y - ext.y0) * scale,
    toPixel: (cx, cy) => ({ y: Math.floor((cy - offY) / scale + ext.y0), x: Math.floor((cx - offX) / scale + ext.x0) }),
  };
}

function strokeBox(ctx, view, box, colour, width, dash = []) {
  ctx.save();
  ctx.strokeStyle = colour;
  ctx.lineWidth = width;
  ctx.setLineDash(dash);
  const x = view.px(box.x0);
  const y = view.py(box.y0);
  ctx.strokeRect(x, y, view.px(box.x1 + 1) - x, view.py(box.y1 + 1) - y);
  ctx.restore();
}

function drawInput(table) {
  const ctx = prepareCanvas(ui.inputCanvas, INPUT_CSS);
  const view = inputView(table);
  const { ext } = view;
  const [h, w] = table.input_size;
  hatch(ctx, view.px(ext.x0), view.py(ext.y0), view.px(ext.x1 + 1) - view.px(ext.x0),
    view.py(ext.y1 + 1) - view.py(ext.y0), COLOURS.padding, COLOURS.hatch);
  ctx.fillStyle = COLOURS.image;
  ctx.fillRect(view.px(0), view.py(0), view.px(w) - view.px(0), view.py(h) - view.py(0));
  if (view.scale >= 6) {
    ctx.strokeStyle = COLOURS.grid;
    ctx.beginPath();
    for (let y = 0; y <= h; y++) { ctx.moveTo(view.px(0), view.py(y)); ctx.lineTo(view.px(w), view.py(y)); }
    for (let x = 0; x <= w; x++) { ctx.moveTo(view.px(x), view.py(0)); ctx.lineTo(view.px(x), view.py(h)); }
    ctx.stroke();
  }
  // The same point's field at every earlier layer: the growth the scrubber walks through.
  for (let l = 0; l < state.layerIndex; l++) {
    const row = table.layers[l];
    const unit = unitFor(row, state.point);
    strokeBox(ctx, view, receptiveBox(row, unit.y, unit.x), COLOURS.earlier, 1);
  }
  const clipped = table.unit_box_clipped;
  if (clipped) {
    ctx.fillStyle = COLOURS.field;
    ctx.fillRect(view.px(clipped.x0), view.py(clipped.y0), view.px(clipped.x1 + 1) - view.px(clipped.x0), view.py(clipped.y1 + 1) - view.py(clipped.y0));
  }
  strokeBox(ctx, view, table.unit_box, COLOURS.box, 2, [6, 4]);
  if (clipped) strokeBox(ctx, view, clipped, COLOURS.box, 2);
  if (table.unit_footprint) strokeBox(ctx, view, table.unit_footprint, COLOURS.footprint, 2);
  // the followed point
  const cx = view.px(state.point.x + 0.5);
  const cy = view.py(state.point.y + 0.5);
  ctx.strokeStyle = COLOURS.point;
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.moveTo(cx - 6, cy); ctx.lineTo(cx + 6, cy);
  ctx.moveTo(cx, cy - 6); ctx.lineTo(cx, cy + 6);
  ctx.stroke();
}

function unitView(table) {
  const [oh, ow] = table.layers[state.layerIndex].output_size;
  const cell = (UNIT_CSS - 4) / Math.max(oh, ow);
  const offX = 2 + (UNIT_CSS - 4 - ow * cell) / 2;
  const offY = 2 + (UNIT_CSS - 4 - oh * cell) / 2;
  return { oh, ow, cell, offX, offY };
}

function drawUnits(table) {
  const ctx = prepareCanvas(ui.unitCanvas, UNIT_CSS);
  const row = table.layers[state.layerIndex];
  const { oh, ow, cell, offX, offY } = unitView(table);
  ctx.fillStyle = COLOURS.unit;
  ctx.fillRect(offX, offY, ow * cell, oh * cell);
  const seeing = row.units_seeing;
  if (seeing) {
    ctx.fillStyle = COLOURS.seeing;
    ctx.fillRect(offX + seeing.x0 * cell, offY + seeing.y0 * cell, (seeing.x1 - seeing.x0 + 1) * cell, (seeing.y1 - seeing.y0 + 1) * cell);
  }
  if (cell >= 5) {
    ctx.strokeStyle = 'rgba(255, 255, 255, 0.9)';
    ctx.beginPath();
    for (let y = 0; y <= oh; y++) { ctx.moveTo(offX, offY + y * cell); ctx.lineTo(offX + ow * cell, offY + y * cell); }
    for (let x = 0; x <= ow; x++) { ctx.moveTo(offX + x * cell, offY); ctx.lineTo(offX + x * cell, offY + oh * cell); }
    ctx.stroke();
  }
  const unit = table.unit;
  ctx.fillStyle = COLOURS.chosen;
  ctx.fillRect(offX + unit.x * cell, offY + unit.y * cell, Math.max(cell, 2), Math.max(cell, 2));
  const count = seeing ? (seeing.y1 - seeing.y0 + 1) * (seeing.x1 - seeing.x0 + 1) : 0;
  ui.unitCaption.textContent = `${row.name}: ${oh}×${ow} units. Orange: the chosen unit; light orange: the ${count} unit${count === 1 ? '' : 's'} whose field holds the marked pixel.`;
}

// ---- interaction ----

function selectLayer(index) {
  state.layerIndex = index;
  refresh();
}

function canvasPoint(canvas, event, cssSize) {
  const rect = canvas.getBoundingClientRect();
  return { cx: ((event.clientX - rect.left) / rect.width) * cssSize, cy: ((event.clientY - rect.top) / rect.height) * cssSize };
}

function setPoint(y, x) {
  const [h, w] = state.table.input_size;
  state.point = { y: Math.min(h - 1, Math.max(0, y)), x: Math.min(w - 1, Math.max(0, x)) };
  refresh();
}

function setUnit(y, x) {
  const row = state.table.layers[state.layerIndex];
  const [oh, ow] = row.output_size;
  state.unit = { y: Math.min(oh - 1, Math.max(0, y)), x: Math.min(ow - 1, Math.max(0, x)) };
  const [h, w] = state.table.input_size;
  // follow the unit's centre from now on (clamped into the input)
  const centre = receptiveBox(row, state.unit.y, state.unit.x);
  state.point = {
    y: Math.min(h - 1, Math.max(0, Math.floor((centre.y0 + centre.y1) / 2))),
    x: Math.min(w - 1, Math.max(0, Math.floor((centre.x0 + centre.x1) / 2))),
  };
  refresh({ keepUnit: true });
}

const ARROWS = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };

ui.inputCanvas.addEventListener('click', (event) => {
  if (!state.table) return;
  const { cx, cy } = canvasPoint(ui.inputCanvas, event, INPUT_CSS);
  const { y, x } = inputView(state.table).toPixel(cx, cy);
  setPoint(y, x);
});
ui.inputCanvas.addEventListener('keydown', (event) => {
  const move = ARROWS[event.key];
  if (!move || !state.table) return;
  event.preventDefault();
  const step = event.shiftKey ? 10 : 1;
  setPoint(state.point.y + move[0] * step, state.point.x + move[1] * step);
});
ui.unitCanvas.addEventListener('click', (event) => {
  if (!state.table) return;
  const { cx, cy } = canvasPoint(ui.unitCanvas, event, UNIT_CSS);
  const { cell, offX, offY } = unitView(state.table);
  setUnit(Math.floor((cy - offY) / cell), Math.floor((cx - offX) / cell));
});
ui.unitCanvas.addEventListener('keydown', (event) => {
  const move = ARROWS[event.key];
  if (!move || !state.table) return;
  event.preventDefault();
  setUnit(state.table.unit.y + move[0], state.table.unit.x + move[1]);
});

ui.range.addEventListener('input', () => selectLayer(Number(ui.range.value)));

function stopPlaying() {
  clearInterval(state.timer);
  state.timer = null;
  ui.play.textContent = 'Play';
  ui.play.setAttribute('aria-pressed', 'false');
}

ui.play.addEventListener('click', () => {
  if (state.timer) { stopPlaying(); return; }
  if (!state.table) return;
  ui.play.textContent = 'Pause';
  ui.play.setAttribute('aria-pressed', 'true');
  if (state.layerIndex >= state.table.layers.length - 1) selectLayer(0);
  state.timer = setInterval(() => {
    if (!state.table || state.layerIndex >= state.table.layers.length - 1) { stopPlaying(); return; }
    selectLayer(state.layerIndex + 1);
  }, PLAY_MS);
});

ui.preset.addEventListener('change', () => {
  if (ui.preset.value) choosePreset(ui.preset.value);
  else edited();
});
for (const input of [ui.inputH, ui.inputW]) {
  input.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => refresh(), 250);
  });
}
ui.add.addEventListener('click', () => {
  state.rows.push(editorRow({ kind: 'conv2d', kernel_size: 3, stride: 1, padding: 0 }));
  renderEditor();
  edited();
  const inputs = ui.layers.querySelectorAll('li:last-child input');
  if (inputs.length) inputs[0].focus();
});

async function init() {
  try {
    state.presets = await receptiveFieldPresets();
  } catch (error) {
    showError(error);
    return;
  }
  for (const preset of state.presets) ui.preset.add(new Option(preset.id, preset.id));
  const wanted = new URLSearchParams(window.location.search).get('preset');
  const first = state.presets.find((p) => p.id === wanted) || state.presets.find((p) => p.id === 'alexnet') || state.presets[0];
  ui.preset.value = first.id;
  choosePreset(first.id);
}

init();
