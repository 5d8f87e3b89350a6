// The colour lesson: a convolution over three channels as three 2-D correlations, their sum and
// the bias (numbers from the server), and the colour CNN's held-out gallery.

import { colourConv, colourGallery } from '../lessons/api.js';
import { prepare } from '../lessons/canvas.js';
import { formatNumber } from '../lessons/matrix.js';
import { clamp, divergingColour } from '../lessons/plot.js';

const CHANNELS = ['red', 'green', 'blue'];
const PIC = 100;

export function mount(root) {
  const $ = (id) => root.querySelector(`#${id}`);
  const ui = {
    preset: $('co-preset'), reseed: $('co-reseed'), unitField: $('co-unit-field'),
    unit: $('co-unit'), error: $('co-error'), rows: $('co-rows'), equation: $('co-equation'),
    accuracy: $('co-accuracy'), gallery: $('co-gallery'),
  };
  const state = { seed: 0, sample: 0, ticket: 0 };

  function showError(error) {
    ui.error.hidden = !error;
    ui.error.textContent = error ? error.message : '';
  }

  function numbers(plane, cls = '') {
    const table = document.createElement('table');
    table.className = `num-grid ${cls}`;
    for (const row of plane) {
      const tr = document.createElement('tr');
      for (const v of row) {
        const td = document.createElement('td');
        td.textContent = formatNumber(v);
        tr.append(td);
      }
      table.append(tr);
    }
    return table;
  }

  /** A plane as a picture: one channel tinted (0..1), or signed values (diverging). */
  function picture(plane, tint) {
    const canvas = document.createElement('canvas');
    canvas.className = 'co-pic';
    const ctx = prepare(canvas, PIC, PIC);
    const h = plane.length;
    const w = plane[0].length;
    const limit = Math.max(...plane.flat().map(Math.abs), 1e-9);
    plane.forEach((row, i) => row.forEach((v, j) => {
      if (tint) {
        const g = Math.round(255 * clamp(v, 0, 1));
        ctx.fillStyle = tint === 'red' ? `rgb(${g},0,0)` : tint === 'green' ? `rgb(0,${g},0)` : `rgb(0,0,${g})`;
      } else ctx.fillStyle = divergingColour(v, limit);
      ctx.fillRect((j * PIC) / w, (i * PIC) / h, PIC / w + 0.5, PIC / h + 0.5);
    }));
    return canvas;
  }

  function rgbCanvas(volume, size, className) {
    const canvas = document.createElement('canvas');
    canvas.className = className;
    const h = volume[0].length;
    const w = volume[0][0].length;
    const ctx = prepare(canvas, size, size);
    const scale = (v) => (v > 1 ? v : Math.round(255 * v));
    for (let i = 0; i < h; i += 1) {
      for (let j = 0; j < w; j += 1) {
        ctx.fillStyle = `rgb(${scale(volume[0][i][j])},${scale(volume[1][i][j])},${scale(volume[2][i][j])})`;
        ctx.fillRect((j * size) / w, (i * size) / h, size / w + 0.5, size / h + 0.5);
      }
    }
    return canvas;
  }

  function figure(content, caption) {
    const fig = document.createElement('figure');
    const cap = document.createElement('figcaption');
    cap.textContent = caption;
    fig.append(content, cap);
    return fig;
  }

  function op(text) {
    const span = document.createElement('span');
    span.className = 'op';
    span.textContent = text;
    return span;
  }

  function render(d) {
    const classic = d.preset === 'classic';
    const show = (plane, cls, tint) => (classic ? numbers(plane, cls) : picture(plane, tint));
    const rows = CHANNELS.map((name, c) => {
      const row = document.createElement('div');
      row.className = 'co-row';
      row.append(
        figure(show(d.image[c], name, name), `${name} channel`), op('*'),
        figure(classic ? numbers(d.kernel[c], name) : picture(d.kernel[c]), `kernel slice ${c}`), op('='),
        figure(show(d.per_channel[c], name), `correlation ${c}`),
      );
      return row;
    });
    const total = document.createElement('div');
    total.className = 'co-row';
    total.append(
      figure(show(d.sum), 'sum of the three'), op('+'),
      figure(numbers([[d.bias]]), 'bias'), op('='),
      figure(show(d.output), 'output: one map'),
    );
    if (!classic) total.prepend(figure(rgbCanvas(d.image, PIC, 'co-pic'), 'the picture'), op('→'));
    ui.rows.replaceChildren(...rows, total);
    const [h, w] = [d.image[0].length, d.image[0][0].length];
    const [oh, ow] = [d.output.length, d.output[0].length];
    const k = d.kernel[0].length;
    ui.equation.textContent = classic
      ? `${h}×${w}×3 * ${k}×${k}×3 → ${oh}×${ow}×1. For example output (0, 0) = `
        + `${d.per_channel.map((p) => formatNumber(p[0][0])).join(' + ')} + ${formatNumber(d.bias)} `
        + `= ${formatNumber(d.output[0][0])}. The network's own 3-channel convolution gives the same map `
        + `(largest difference ${d.max_abs_difference.toExponential(1)}).`
      : `Held-out picture ${d.sample}, a ${d.label}: kernel ${d.unit} of conv1 (3×3×3, padding 1) gives one `
        + `${oh}×${ow} map. The network says ${d.prediction} (${(100 * d.probability).toFixed(1)}%). `
        + `Largest difference from its own convolution: ${d.max_abs_difference.toExponential(1)}.`;
  }

  async function load() {
    const ticket = ++state.ticket;
    const preset = ui.preset.value;
    ui.unitField.hidden = preset !== 'model';
    ui.reseed.hidden = preset !== 'classic';
    const unit = clamp(Math.round(Number(ui.unit.value) || 0), 0, 7);
    ui.unit.value = String(unit);
    try {
      const d = await colourConv({ preset, seed: state.seed, sample: state.sample, unit });
      if (ticket !== state.ticket) return;
      showError(null);
      render(d);
    } catch (error) {
      if (ticket === state.ticket) showError(error);
    }
  }

  async function loadGallery() {
    try {
      const g = await colourGallery({ per_class: 2 });
      ui.accuracy.textContent = `Held-out accuracy: ${(100 * g.heldout_accuracy).toFixed(1)}% `
        + `(${g.heldout_correct} of ${g.heldout_total} pictures), with ${g.parameters.toLocaleString('en-US')} weights.`;
      ui.gallery.replaceChildren(...g.items.map((item) => {
        const button = document.createElement('button');
        button.type = 'button';
        if (item.prediction !== item.label) button.classList.add('wrong');
        const text = document.createElement('span');
        text.textContent = item.prediction === item.label
          ? item.class_name : `${item.prediction_name}? (${item.class_name})`;
        button.append(rgbCanvas(item.image, 60, ''), text);
        button.addEventListener('click', () => {
          state.sample = item.sample;
          ui.preset.value = 'model';
          load();
          ui.rows.scrollIntoView({ block: 'start' });
        });
        return button;
      }));
    } catch (error) {
      showError(error);
    }
  }

  ui.preset.addEventListener('change', load);
  ui.unit.addEventListener('change', load);
  ui.reseed.addEventListener('click', () => { state.seed += 1; load(); });
  load();
  loadGallery();
}
