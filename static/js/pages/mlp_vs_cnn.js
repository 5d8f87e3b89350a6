// The MLP-vs-CNN lesson: a hidden layer's forward and backward step as matrix-vector products
// (numbers from the server's trace), a weight-count calculator, and LeNet-5 next to the MLP on
// shifted held-out digits.

import { mlpMatrixForm, mlpParameters, mlpShift } from '../lessons/api.js';
import { prepare } from '../lessons/canvas.js';
import { formatCount, formatNumber } from '../lessons/matrix.js';
import { clamp, divergingColour } from '../lessons/plot.js';

const PICTURE = 140;
const VEC_W = 640;
const VEC_H = 210;
const DIRECTIONS = ['right', 'left', 'down', 'up'];

export function mount(root) {
  const $ = (id) => root.querySelector(`#${id}`);
  const ui = {
    sample: $('mv-sample'), layer: $('mv-layer'), unit: $('mv-unit'), error: $('mv-error'),
    digit: $('mv-digit'), digitCaption: $('mv-digit-caption'), row: $('mv-row'),
    rowCaption: $('mv-row-caption'), vectors: $('mv-vectors'), forward: $('mv-forward'),
    backward: $('mv-backward'), check: $('mv-check'),
    h: $('mv-h'), w: $('mv-w'), n: $('mv-n'), k: $('mv-k'),
    counts: root.querySelector('#mv-counts tbody'), pixels: $('mv-pixels'),
    sideHead: root.querySelector('#mv-side thead'), sideBody: root.querySelector('#mv-side tbody'),
    sideReadout: $('mv-side-readout'),
  };
  const tickets = { form: 0, count: 0, side: 0 };

  function showError(error) {
    ui.error.hidden = !error;
    ui.error.textContent = error ? error.message : '';
  }

  function intValue(input, lo, hi) {
    const v = clamp(Math.round(Number(input.value) || lo), lo, hi);
    input.value = String(v);
    return v;
  }

  // ---------------------------------------------------------------- the matrix form

  /** values as a square-ish picture: grey (0..1) or diverging (signed). */
  function picture(canvas, values, { signed }) {
    const ctx = prepare(canvas, PICTURE, PICTURE);
    const side = Math.ceil(Math.sqrt(values.length));
    const cell = PICTURE / side;
    const limit = Math.max(...values.map(Math.abs)) || 1;
    values.forEach((v, i) => {
      if (signed) ctx.fillStyle = divergingColour(v, limit);
      else {
        const g = Math.round(255 * clamp(v, 0, 1));
        ctx.fillStyle = `rgb(${g}, ${g}, ${g})`;
      }
      ctx.fillRect((i % side) * cell, Math.floor(i / side) * cell, cell + 0.5, cell + 0.5);
    });
  }

  function bars(ctx, values, top, height, label, unit, colour) {
    const limit = Math.max(...values.map(Math.abs)) || 1;
    const mid = top + height / 2;
    const left = 44;
    const step = (VEC_W - left - 4) / values.length;
    ctx.fillStyle = '#1d2330';
    ctx.font = '12px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    ctx.fillText(label, 2, mid);
    ctx.fillStyle = '#c9ced8';
    ctx.fillRect(left, mid, VEC_W - left - 4, 1);
    values.forEach((v, i) => {
      const h = (v / limit) * (height / 2 - 2);
      ctx.fillStyle = i === unit ? '#e66100' : colour;
      ctx.fillRect(left + i * step, Math.min(mid, mid - h), Math.max(1, step - 0.3), Math.abs(h) || 1);
    });
  }

  function drawVectors(d, unit) {
    const ctx = prepare(ui.vectors, VEC_W, VEC_H);
    bars(ctx, d.n, 0, 68, 'n', unit, '#4e79a7');
    bars(ctx, d.a, 70, 68, 'a', unit, '#59a14f');
    bars(ctx, d.delta, 140, 68, 'δ', unit, '#b07aa1');
  }

  function renderForm(d) {
    const u = d.unit;
    const [units, inputs] = d.theta_shape;
    const [nextUnits] = d.theta_next_shape;
    const first = d.layer === d.hidden_layers[0];
    picture(ui.digit, d.x, { signed: !first });
    ui.digitCaption.textContent = first
      ? `Gallery digit ${d.sample} (a ${d.label}): x, 784 pixels. The MLP says ${d.prediction} `
        + `(${(100 * d.probability).toFixed(1)}%).`
      : `x: the ${inputs} outputs of the layer before, as a square (blue negative, red positive).`;
    picture(ui.row, u.theta_row, { signed: true });
    ui.rowCaption.textContent = `Row ${u.unit} of Θ (${units}×${inputs}): unit ${u.unit}'s ${inputs} `
      + `weights${first ? ', laid out like the image' : ''} (blue negative, red positive).`;
    drawVectors(d, u.unit);
    ui.forward.textContent = `Forward, ${d.layer}: n = Θx + b is a ${units}×${inputs} matrix times `
      + `a ${inputs}-vector. Unit ${u.unit}: n = Θ_${u.unit} · x + b_${u.unit} = `
      + `${formatNumber(u.n - u.bias)} + (${formatNumber(u.bias)}) = ${formatNumber(u.n)}; `
      + `a = ${d.activation}(${formatNumber(u.n)}) = ${formatNumber(u.a)}.`;
    ui.backward.textContent = `Backward: δ = (Θ_nextᵀ δ_next) ∘ ${d.activation}'(n), with `
      + `Θ_nextᵀ ${units}×${nextUnits} (${d.next_layer}'s weights, transposed). `
      + `Unit ${u.unit}: (Θ_nextᵀ δ_next) = ${u.back.toExponential(3)}, `
      + `${d.activation}'(n) = 1 − a² = ${formatNumber(u.act_prime)}, `
      + `δ = ${u.delta.toExponential(3)}.`;
    ui.check.textContent = `Largest difference from the network's own forward pass: `
      + `${d.forward_max_abs_difference.toExponential(1)} (it computes in float32); from its `
      + `backward pass: ${d.backward_max_abs_difference.toExponential(1)}. Loss ${d.loss.toFixed(4)}.`;
  }

  async function loadForm() {
    const ticket = ++tickets.form;
    const layer = ui.layer.value;
    const units = layer === 'fc1' ? 300 : 100;
    ui.unit.max = String(units - 1);
    const params = {
      sample: intValue(ui.sample, 0, 499), layer, unit: intValue(ui.unit, 0, units - 1),
    };
    try {
      const d = await mlpMatrixForm(params);
      if (ticket !== tickets.form) return;
      showError(null);
      renderForm(d);
    } catch (error) {
      if (ticket === tickets.form) showError(error);
    }
  }

  // ---------------------------------------------------------------- weight counts

  async function loadCounts() {
    const ticket = ++tickets.count;
    const params = {
      height: intValue(ui.h, 1, 100000), width: intValue(ui.w, 1, 100000),
      hidden: intValue(ui.n, 1, 1000000), kernel: intValue(ui.k, 1, 1000),
    };
    try {
      const c = await mlpParameters(params);
      if (ticket !== tickets.count) return;
      showError(null);
      const rows = [
        ['fully connected', `H·W·N = ${[c.height, c.width, c.hidden].map((v) => v.toLocaleString('en-US')).join(' · ')}`, c.fully_connected],
        ['locally connected', `N·k·k: each unit its own ${c.kernel}×${c.kernel} patch`, c.locally_connected],
        ['one shared kernel', `k·k: every position uses the same ${c.kernel}×${c.kernel} weights`, c.shared_kernel],
      ];
      ui.counts.replaceChildren(...rows.map(([name, how, count]) => {
        const tr = document.createElement('tr');
        const th = document.createElement('th');
        th.scope = 'row';
        th.textContent = name;
        const td1 = document.createElement('td');
        td1.textContent = how;
        const td2 = document.createElement('td');
        td2.textContent = `${formatCount(count)} weights`;
        tr.append(th, td1, td2);
        return tr;
      }));
    } catch (error) {
      if (ticket === tickets.count) showError(error);
    }
  }

  // ---------------------------------------------------------------- side by side

  function cell(tag, text) {
    const el = document.createElement(tag);
    el.textContent = text;
    if (tag === 'th') el.scope = 'col';
    return el;
  }

  async function loadSide() {
    const ticket = ++tickets.side;
    const pixels = intValue(ui.pixels, 0, 8);
    ui.sideReadout.textContent = 'Scoring 500 held-out digits…';
    try {
      const s = await mlpShift({ pixels });
      if (ticket !== tickets.side) return;
      showError(null);
      const pct = (v) => `${(100 * v).toFixed(1)}%`;
      const head = document.createElement('tr');
      head.append(cell('th', 'model'), cell('th', 'weights'), cell('th', 'accuracy'),
        ...DIRECTIONS.map((d) => cell('th', `${pixels} px ${d}`)), cell('th', `${pixels} px, mean`));
      ui.sideHead.replaceChildren(head);
      ui.sideBody.replaceChildren(...s.models.map((m) => {
        const tr = document.createElement('tr');
        const name = cell('th', m.name);
        name.scope = 'row';
        tr.append(name, cell('td', formatCount(m.parameters)), cell('td', pct(m.unshifted.accuracy)),
          ...DIRECTIONS.map((d) => cell('td', pct(m.shifted[d].accuracy))),
          cell('td', pct(m.shifted_mean_accuracy)));
        return tr;
      }));
      const [cnn, mlp] = s.models;
      const drop = (m) => 100 * (m.unshifted.accuracy - m.shifted_mean_accuracy);
      ui.sideReadout.textContent = `Shifted by ${pixels} pixels, ${cnn.name} loses `
        + `${drop(cnn).toFixed(1)} points of accuracy and the MLP ${drop(mlp).toFixed(1)}; `
        + `the MLP has ${(mlp.parameters / cnn.parameters).toFixed(1)} times as many weights.`;
    } catch (error) {
      if (ticket === tickets.side) showError(error);
    }
  }

  for (const input of [ui.sample, ui.layer, ui.unit]) input.addEventListener('change', loadForm);
  for (const input of [ui.h, ui.w, ui.n, ui.k]) input.addEventListener('change', loadCounts);
  ui.pixels.addEventListener('change', loadSide);
  loadForm();
  loadCounts();
  loadSide();
}
