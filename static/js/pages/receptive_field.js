// The receptive-field explorer: a preset or an edited layer list -> POST /api/v1/receptive-field
// -> the table, and the chosen unit's field drawn on the input, layer by layer.
// The server computes every number; the page picks units and draws.

import { ApiError, receptiveField, receptiveFieldPresets } from '../api.js';
import { receptiveBox } from '../geometry.js';
import {
  drawInput, drawUnits, INPUT_CSS, inputView, UNIT_CSS, unitFor, unitView,
} from './rf_draw.js';
import { editorRow, markInvalid, renderEditor, requestBody, showPair } from './rf_editor.js';
import { fieldProblems, problemText } from './rf_problems.js';
/** Wire the explorer inside root (the page's #rf-page). */
export function mount(root) {
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
      renderEditor(ui.layers, state.rows, edited);
    }
    refresh();
  }

  // ---- talking to the API ----

  function showError(error) {
    // the last good table stays on screen, dimmed, until the layers are valid again
    root.classList.toggle('stale', Boolean(error));
    if (!error) {
      ui.error.hidden = true;
      ui.error.textContent = '';
      markInvalid(ui.layers, [], [ui.inputH, ui.inputW]);
      return;
    }
    // A validation answer names its fields: each message goes beside its field, and the
    // summary lists them in words (never the validator's raw text).
    const problems = error instanceof ApiError ? fieldProblems(error) : [];
    markInvalid(ui.layers, problems, [ui.inputH, ui.inputW]);
    ui.error.hidden = false;
    ui.error.textContent = problems.length
      ? `Please fix: ${problems.map(problemText).join('; ')}.` : error.message;
  }

  async function refresh({ keepUnit = false } = {}) {
    const ticket = ++state.request;
    try {
      const body = requestBody({ presetId: state.presetId, rows: state.rows, inputH: ui.inputH.value, inputW: ui.inputW.value });
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
      render();
    } catch (error) {
      if (ticket !== state.request) return;
      showError(error instanceof ApiError ? error : { message: String(error) });
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
    drawInput(ui.inputCanvas, table, state);
    ui.unitCaption.textContent = drawUnits(ui.unitCanvas, table, state.layerIndex);
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
    const { cell, offX, offY } = unitView(state.table, state.layerIndex);
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
    renderEditor(ui.layers, state.rows, edited);
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
}
