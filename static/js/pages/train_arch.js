// The /train page's architecture view: a bundled architecture or an edited layer list (JSON),
// checked by the server as you type (POST /training-runs/check): each layer's output shape
// and parameters, or the error naming the layer.

import { checkArchitecture } from './train_api.js';

const DATASET_OF = { 'colour-cnn': 'colour-shapes' };
const DEBOUNCE_MS = 350;

function shapesTable(table, result) {
  const rows = result.layers.map((layer) => {
    const tr = document.createElement('tr');
    for (const text of [layer.name, layer.kind, `[${layer.output_shape.join(', ')}]`,
      layer.parameters.toLocaleString('en')]) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.append(td);
    }
    return tr;
  });
  table.tBodies[0].replaceChildren(...rows);
}

/**
 * ui: {preset (select), dataset (select), layers (textarea), table, total, error}.
 * Returns {value(): {architecture, dataset} | null (invalid or unchecked), label()}.
 */
export function mountArchitecture(ui, onChange = () => {}) {
  let valid = false;
  let timer = null;
  let generation = 0;

  async function check(architecture, fill) {
    const mine = ++generation;
    ui.error.textContent = '';
    ui.layers.setAttribute('aria-invalid', 'false');
    ui.total.textContent = 'Checking…';
    try {
      const result = await checkArchitecture(architecture, ui.dataset.value);
      if (mine !== generation) return;
      if (fill) ui.layers.value = JSON.stringify(result.spec, null, 1).replace(/\n\s+/g, ' ')
        .replace(/\[ \{/, '[\n {').replace(/\}, \{/g, '},\n {').replace(/\} \]$/, '}\n]');
      shapesTable(ui.table, result);
      ui.total.textContent = `Input [${result.input_shape.join(', ')}] · `
        + `${result.parameters.toLocaleString('en')} parameters`;
      valid = true;
    } catch (error) {
      if (mine !== generation) return;
      valid = false;
      ui.total.textContent = '';
      ui.error.textContent = error.message;
      ui.layers.setAttribute('aria-invalid', 'true');
    }
    onChange();
  }

  function fromPreset() {
    const preset = ui.preset.value;
    if (preset === 'custom') return;
    ui.dataset.value = DATASET_OF[preset] ?? 'digits';
    check(preset, true);
  }

  ui.preset.addEventListener('change', fromPreset);
  ui.dataset.addEventListener('change', () => {
    if (ui.preset.value !== 'custom' && (DATASET_OF[ui.preset.value] ?? 'digits')
      !== ui.dataset.value) ui.preset.value = 'custom';
    ui.layers.dispatchEvent(new Event('input'));
  });
  ui.layers.addEventListener('input', () => {
    valid = false;
    onChange();
    clearTimeout(timer);
    timer = setTimeout(() => {
      let spec;
      try {
        spec = JSON.parse(ui.layers.value);
      } catch (error) {
        ui.error.textContent = `The layer list is not valid JSON: ${error.message}`;
        ui.layers.setAttribute('aria-invalid', 'true');
        return;
      }
      if (ui.preset.value !== 'custom') ui.preset.value = 'custom';
      check(spec, false);
    }, DEBOUNCE_MS);
  });
  fromPreset();

  return {
    value() {
      if (!valid) return null;
      const architecture = ui.preset.value === 'custom' ? JSON.parse(ui.layers.value)
        : ui.preset.value;
      return { architecture, dataset: ui.dataset.value };
    },
  };
}
