// The receptive-field explorer's layer editor: rows of fields per layer, the request body they
// make, and the API's problems shown beside the fields they are about.

import { pair } from '../geometry.js';

export const KINDS = ['conv2d', 'maxpool2d', 'avgpool2d'];

/** "3" -> 3, "3,5" / "3x5" -> [3, 5]; anything else is sent as typed, for the API to name. */
export function parseSize(text) {
  const parts = String(text).trim().split(/\s*[,x×]\s*|\s+/).filter(Boolean);
  if (parts.length === 1 && /^-?\d+$/.test(parts[0])) return Number(parts[0]);
  if (parts.length === 2 && parts.every((p) => /^-?\d+$/.test(p))) return parts.map(Number);
  return String(text);
}

/** A layer (from a preset or the API) -> an editor row of texts. */
export function editorRow(layer) {
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

/** [h, w] -> "h" or "h×w". */
export function showPair(value) {
  const [h, w] = pair(value);
  return h === w ? String(h) : `${h}×${w}`;
}

/** The POST body: the preset, or the edited rows, with the input size as typed. */
export function requestBody({ presetId, rows, inputH, inputW }) {
  const inputSize = [parseSize(inputH), parseSize(inputW)];
  if (presetId) return { preset: presetId, input_size: inputSize };
  return {
    layers: rows.map((row) => {
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


/** Put each problem's message beside its field ([{layer, field, message}], see
 * rf_problems.js; [] clears them), without rebuilding the inputs (a rebuild would steal the
 * focus from the field being typed in). `inputs` holds the input-size fields. */
export function markInvalid(list, problems, inputs = []) {
  for (const old of document.querySelectorAll('.field-error')) old.remove();
  const flag = (control, problem, id) => {
    if (!problem) {
      control.removeAttribute('aria-invalid');
      control.removeAttribute('aria-describedby');
      return;
    }
    control.setAttribute('aria-invalid', 'true');
    const message = document.createElement('span');
    message.className = 'field-error';
    message.id = id;
    message.dataset.testid = id;
    message.textContent = problem.message;
    control.setAttribute('aria-describedby', id);
    control.closest('label').after(message);
  };
  [...list.children].forEach((li, index) => {
    const mine = problems.filter((p) => p.layer === index);
    li.classList.toggle('invalid', mine.length > 0);
    for (const control of li.querySelectorAll('[data-key]')) {
      const key = control.dataset.key;
      flag(control, mine.find((p) => p.field === key), `rf-error-${index}-${key}`);
    }
  });
  const sizeProblem = problems.find((p) => p.layer === null && p.field === 'input_size');
  inputs.forEach((control, axis) => flag(control, axis === 0 ? sizeProblem : null, `rf-error-input-size-${axis}`));
}

/** The editable layer list: one row of fields per layer; onEdit() after every change. */
export function renderEditor(list, rows, onEdit) {
  list.replaceChildren();
  rows.forEach((row, index) => {
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
      input.addEventListener('input', () => { row[key] = input.value; onEdit(); });
      return input;
    };
    add('name', textInput('name', 7));
    const kind = document.createElement('select');
    kind.dataset.key = 'kind';
    for (const k of KINDS) kind.add(new Option(k, k, false, k === row.kind));
    kind.addEventListener('change', () => { row.kind = kind.value; onEdit(); });
    add('kind', kind);
    add('kernel', textInput('kernel_size', 3));
    add('stride', textInput('stride', 3));
    add('padding', textInput('padding', 3));
    add('dilation', textInput('dilation', 3));
    const ceil = document.createElement('input');
    ceil.type = 'checkbox';
    ceil.checked = row.ceil_mode;
    ceil.dataset.key = 'ceil_mode';
    ceil.addEventListener('change', () => { row.ceil_mode = ceil.checked; onEdit(); });
    add('ceil', ceil);
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.textContent = 'Remove';
    remove.setAttribute('aria-label', `Remove layer ${index + 1}`);
    remove.disabled = rows.length === 1;
    remove.addEventListener('click', () => {
      rows.splice(index, 1);
      renderEditor(list, rows, onEdit);
      onEdit();
    });
    li.append(remove);
    list.append(li);
  });
}
