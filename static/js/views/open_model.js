// "Open your model": an ONNX file from the picker or dropped, optional name, classes and input
// normalisation, upload progress then the import stage, then the model card (input spec,
// parameters, the layer table) and the model chosen in the page's picker. Errors show the
// server's message, which names an unsupported operator.

import * as api from '../api.js';

const MAX_CLASSES_SHOWN = 12;

/** "0.485, 0.456 0.406" -> {values: [0.485, 0.456, 0.406]}; "" -> {values: null};
 * anything that is not 1 or 3 finite numbers -> {error}. */
export function parseNumberList(text, what) {
  const trimmed = String(text ?? '').trim();
  if (!trimmed) return { values: null };
  const parts = trimmed.replace(/^\[|\]$/g, '').split(/[\s,;]+/).filter(Boolean);
  const values = parts.map(Number);
  if (values.some((v) => !Number.isFinite(v)) || parts.some((p) => !/^[-+.\deE]+$/.test(p))) {
    return { error: `${what}: write numbers separated by commas, e.g. 0.485, 0.456, 0.406` };
  }
  if (values.length !== 1 && values.length !== 3) {
    return { error: `${what}: give 1 value (grey) or 3 (one per colour channel), not ${values.length}` };
  }
  return { values };
}

/** Class names: a JSON list, or one label a line (blank lines dropped). */
export function parseClasses(text) {
  const trimmed = String(text ?? '').trim();
  if (!trimmed) return [];
  if (trimmed.startsWith('[')) {
    try {
      const list = JSON.parse(trimmed);
      if (Array.isArray(list)) return list.map(String);
    } catch {
      // not JSON: read it as lines
    }
  }
  return trimmed.split(/\r?\n/).map((line) => line.trim()).filter(Boolean);
}

/** The form's input fields -> {input: {mean?, std?, colour_order?}} or {error}. */
export function inputFields({ mean, std, colourOrder }) {
  const parsedMean = parseNumberList(mean, 'mean');
  if (parsedMean.error) return parsedMean;
  const parsedStd = parseNumberList(std, 'std');
  if (parsedStd.error) return parsedStd;
  if (parsedStd.values && parsedStd.values.some((v) => v <= 0)) return { error: 'std: every value must be above 0' };
  const input = {};
  if (parsedMean.values) input.mean = parsedMean.values;
  if (parsedStd.values) input.std = parsedStd.values;
  if (colourOrder) input.colour_order = colourOrder;
  return { input };
}

/** 1536 -> "1.5 KB", 3.2e6 -> "3.2 MB". */
export function formatBytes(bytes) {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} KB`;
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** The stage label under the progress bar. */
export function progressText({ stage, loaded = 0, total = 0 }) {
  if (stage === 'importing') return 'Importing: reading every operator and its weights…';
  if (stage === 'card') return 'Reading the model card…';
  const percent = total ? ` (${Math.round((100 * loaded) / total)}%)` : '';
  return `Uploading ${formatBytes(loaded)}${total ? ` of ${formatBytes(total)}` : ''}${percent}`;
}

/** The error line: the server's message (it names an unsupported op) and its code. */
export function errorText(error) {
  const code = error.code ? ` (${error.code}${error.status ? `, HTTP ${error.status}` : ''})` : '';
  return `Could not open this model: ${error.message}${code}`;
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'text') node.textContent = value;
    else if (key === 'testid') node.dataset.testid = value;
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function shapeText(shape) {
  return Array.isArray(shape) ? shape.join('×') : '';
}

function specText(spec, inputShape) {
  if (!spec) return shapeText(inputShape);
  const order = spec.channels === 3 ? `, ${spec.colour_order.toUpperCase()}` : '';
  const norm = spec.mean && spec.std ? `; mean ${spec.mean.join(', ')}, std ${spec.std.join(', ')}` : '';
  const kind = spec.kind === 'digit' ? '; digit recipe' : '; resize the shorter side, centre-crop';
  return `${spec.channels}×${spec.height}×${spec.width}${order}${norm}${kind}`;
}

/** The model card: name, id, input spec, parameters, classes and the layer table. */
export function renderCard(container, detail, uploaded = {}) {
  const card = detail.card || {};
  const given = [card.input, uploaded.input].find((s) => s && s.channels);
  const spec = given ? { kind: given.channels === 1 ? 'digit' : 'image', ...given } : null;
  const classes = detail.classes || [];
  const classText = classes.length > MAX_CLASSES_SHOWN
    ? `${classes.slice(0, MAX_CLASSES_SHOWN).join(', ')}, … (${classes.length})`
    : classes.join(', ');
  const facts = [
    ['id', detail.id],
    ['input', specText(spec, detail.input_shape)],
    ['parameters', Number(detail.parameters).toLocaleString('en')],
    ['layers', String((detail.layers || []).length)],
    ['classes', classText],
  ];
  if (card.macs !== undefined) facts.push(['multiply-adds', Number(card.macs).toLocaleString('en')]);
  if (card.sha256 || uploaded.sha256) facts.push(['sha256', card.sha256 || uploaded.sha256]);
  const list = el('dl', { class: 'card-facts' }, ...facts.flatMap(([k, v]) => [
    el('dt', { text: k }), el('dd', { text: v, testid: `model-card-${k}` })]));
  // The receptive-field column only when some layer has one (a graph's merge may have none).
  const withFields = (detail.layers || []).some((layer) => layer.receptive_field);
  // Multiply-adds per layer, from the stored card's layer table (uploaded models have it).
  const macs = new Map((card.layers || []).map((layer) => [layer.name, layer.macs]));
  const withMacs = [...macs.values()].some((v) => v !== undefined);
  const rows = (detail.layers || []).map((layer) => el('tr', {},
    el('td', { text: String(layer.index) }),
    el('td', { text: layer.name }),
    el('td', { text: layer.kind }),
    el('td', { text: shapeText(layer.output_shape) }),
    el('td', { class: 'num', text: Number(layer.parameters || 0).toLocaleString('en') }),
    withMacs ? el('td', { class: 'num', text: Number(macs.get(layer.name) || 0).toLocaleString('en') }) : null,
    withFields ? el('td', { text: layer.receptive_field ? shapeText(layer.receptive_field.size) : '' }) : null));
  const heads = ['#', 'name', 'kind', 'output', 'parameters', ...(withMacs ? ['multiply-adds'] : []),
    ...(withFields ? ['receptive field'] : [])];
  const table = el('table', { class: 'card-layers', testid: 'model-card-layers' },
    el('caption', { text: 'Layers' }),
    el('thead', {}, el('tr', {}, ...heads.map((h) => el('th', { scope: 'col', text: h })))),
    el('tbody', {}, ...rows));
  container.replaceChildren(
    el('h3', { text: detail.name || detail.id }),
    list,
    el('div', { class: 'card-layers-scroll', tabindex: '0', role: 'region', 'aria-label': 'Layer table' }, table),
  );
  container.hidden = false;
}

/**
 * Wire the "Open your model" panel inside root; `toggle` (a button with aria-expanded) shows
 * and hides it. onOpened(summary) is called with the model's
 * summary (as GET /api/v1/models lists it) once it is imported and its card shown.
 */
export function mount(root, { onOpened = () => {}, toggle = null } = {}) {
  const $ = (id) => root.querySelector(`#${id}`);
  toggle?.addEventListener('click', () => {
    const open = root.hidden;
    root.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
    if (open) root.querySelector('input, button')?.focus();
  });
  const ui = {
    form: $('open-model-form'), file: $('model-file'), dropZone: $('model-drop-zone'),
    fileName: $('model-file-name'), name: $('model-name'), classes: $('model-classes'),
    mean: $('model-mean'), std: $('model-std'), colourOrder: $('model-colour-order'),
    submit: $('model-open'), progress: $('model-progress'), bar: $('model-progress-bar'),
    stage: $('model-progress-label'), error: $('model-error'), card: $('model-card'),
  };
  let chosen = null;
  let controller = null;

  function showError(message) {
    ui.error.textContent = message || '';
    ui.error.hidden = !message;
  }

  function choose(file) {
    chosen = file;
    ui.fileName.textContent = file ? `${file.name} (${formatBytes(file.size)})` : '';
    ui.submit.disabled = !file;
    showError('');
  }

  function setProgress(event) {
    ui.progress.hidden = false;
    if (event.stage === 'uploading' && event.total) {
      ui.bar.max = event.total;
      ui.bar.value = event.loaded;
    } else {
      ui.bar.removeAttribute('value'); // indeterminate while the server imports
    }
    ui.stage.textContent = progressText(event);
  }

  async function open() {
    if (!chosen) return;
    const fields = inputFields({
      mean: ui.mean.value, std: ui.std.value, colourOrder: ui.colourOrder.value,
    });
    if (fields.error) {
      showError(fields.error);
      return;
    }
    controller?.abort();
    controller = new AbortController();
    showError('');
    ui.card.hidden = true;
    ui.submit.disabled = true;
    root.setAttribute('aria-busy', 'true');
    setProgress({ stage: 'uploading', loaded: 0, total: chosen.size });
    try {
      const uploaded = await api.uploadModel(chosen, {
        name: ui.name.value.trim(), classes: parseClasses(ui.classes.value),
        input: fields.input, onProgress: setProgress, signal: controller.signal,
      });
      setProgress({ stage: 'card' });
      const detail = await api.getModel(uploaded.id, { signal: controller.signal });
      renderCard(ui.card, detail, uploaded);
      ui.progress.hidden = true;
      const { layers, card, ...summary } = detail;
      onOpened({ source: 'onnx', ...summary });
    } catch (error) {
      if (error.name === 'AbortError') return;
      ui.progress.hidden = true;
      showError(errorText(error));
    } finally {
      root.removeAttribute('aria-busy'); // busy only while importing
      ui.submit.disabled = !chosen;
    }
  }

  ui.file.addEventListener('change', () => {
    const [file] = ui.file.files;
    if (file) choose(file);
    ui.file.value = '';
  });
  const setHover = (on) => ui.dropZone.classList.toggle('drag-over', on);
  ui.dropZone.addEventListener('dragover', (event) => {
    event.preventDefault();
    setHover(true);
  });
  ui.dropZone.addEventListener('dragleave', () => setHover(false));
  ui.dropZone.addEventListener('drop', (event) => {
    event.preventDefault();
    setHover(false);
    const [file] = event.dataTransfer.files;
    if (file) choose(file);
  });
  ui.form.addEventListener('submit', (event) => {
    event.preventDefault();
    open();
  });
}
