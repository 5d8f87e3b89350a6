// The conv-as-a-matrix lesson: a small convolution's weight matrix W (from the server), coloured
// by kernel weight; y = W x + b next to the convolution; W^T dy next to the convolution's input
// gradient and the transposed convolution.

import { convMatrix } from '../lessons/api.js';
import { pointerPosition, prepare } from '../lessons/canvas.js';
import { cellSize, formatNumber, tapColour, volumePosition } from '../lessons/matrix.js';
import { clamp } from '../lessons/plot.js';

const FIELDS = [  // [input id, query key, lo, hi]
  ['cm-size', 'size', 1, 8], ['cm-kernel', 'kernel_size', 1, 5], ['cm-stride', 'stride', 1, 3],
  ['cm-padding', 'padding', 0, 3], ['cm-dilation', 'dilation', 1, 3],
  ['cm-channels', 'in_channels', 1, 3],
];
const LABEL = 14;  // px above the matrix for the column ruler

export function mount(root) {
  const $ = (id) => root.querySelector(`#${id}`);
  const ui = {
    error: $('cm-error'), summary: $('cm-summary'), kernel: $('cm-kernel-grid'),
    input: $('cm-input-grid'), matrix: $('cm-matrix'), row: $('cm-row'),
    yMatrix: $('cm-y-matrix'), yConv: $('cm-y-conv'), forward: $('cm-forward'),
    dy: $('cm-dy'), dxMatrix: $('cm-dx-matrix'), dxBackward: $('cm-dx-backward'),
    dxTranspose: $('cm-dx-transpose'), transposeCaption: $('cm-transpose-caption'),
    backward: $('cm-backward'), reseed: $('cm-reseed'),
  };
  const state = { data: null, row: 0, seed: 0, request: 0, cell: 0, size: [1, 1] };

  function showError(error) {
    ui.error.hidden = !error;
    ui.error.textContent = error ? error.message : '';
  }

  function query() {
    const q = { seed: state.seed, out_channels: 1 };
    for (const [id, key, lo, hi] of FIELDS) {
      const input = $(id);
      const v = clamp(Math.round(Number(input.value) || lo), lo, hi);
      input.value = String(v);
      q[key] = v;
    }
    q.height = q.size;
    q.width = q.size;
    delete q.size;
    return q;
  }

  // ---------------------------------------------------------------- number grids

  /** One small table per channel of a (C, H, W) volume; colour(c, i, j) -> css or null. */
  function grids(holder, volume, { colour = () => null, label = (c) => `channel ${c}` } = {}) {
    holder.replaceChildren();
    volume.forEach((plane, c) => {
      const table = document.createElement('table');
      table.className = 'num-grid';
      if (volume.length > 1) {
        const caption = document.createElement('caption');
        caption.textContent = label(c);
        table.append(caption);
      }
      plane.forEach((row, i) => {
        const tr = document.createElement('tr');
        row.forEach((v, j) => {
          const td = document.createElement('td');
          td.textContent = formatNumber(v);
          const bg = colour(c, i, j);
          if (bg) { td.style.background = bg; td.classList.add('read'); }
          tr.append(td);
        });
        table.append(tr);
      });
      holder.append(table);
    });
  }

  // ---------------------------------------------------------------- the matrix

  function drawMatrix() {
    const d = state.data;
    const width = Math.max(240, Math.min(960, ui.matrix.parentElement.clientWidth - 2));
    const cell = cellSize(width, d.columns, 3, 26);
    const w = cell * d.columns;
    const h = cell * d.rows + LABEL;
    state.cell = cell;
    state.size = [w, h];
    const ctx = prepare(ui.matrix, w, h);
    ui.matrix.style.width = `${w}px`;
    const count = d.weight.flat(3).length;
    const [, height, widthIn] = d.geometry.input;
    ctx.fillStyle = '#5b6375';
    ctx.font = '10px system-ui, sans-serif';
    ctx.textBaseline = 'top';
    // a tick at the start of every input row, a longer one at every channel
    for (let col = 0; col < d.columns; col += widthIn) {
      const tall = col % (height * widthIn) === 0;
      ctx.fillRect(col * cell, tall ? 0 : LABEL / 2, 1, tall ? LABEL : LABEL / 2);
    }
    const numbers = cell >= 18;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.font = `${Math.max(9, Math.floor(cell * 0.45))}px system-ui, sans-serif`;
    d.kernel_index.forEach((row, r) => row.forEach((k, c) => {
      const x = c * cell;
      const y = LABEL + r * cell;
      const bg = tapColour(k, count);
      ctx.fillStyle = bg || '#ffffff';
      ctx.fillRect(x, y, cell, cell);
      if (numbers && bg) {
        ctx.fillStyle = '#1d2330';
        ctx.fillText(formatNumber(d.matrix[r][c]), x + cell / 2, y + cell / 2 + 0.5);
      }
    }));
    if (cell >= 6) {
      ctx.strokeStyle = '#e3e6ec';
      ctx.lineWidth = 1;
      ctx.beginPath();
      for (let r = 0; r <= d.rows; r += 1) { ctx.moveTo(0, LABEL + r * cell + 0.5); ctx.lineTo(w, LABEL + r * cell + 0.5); }
      for (let c = 0; c <= d.columns; c += 1) { ctx.moveTo(c * cell + 0.5, LABEL); ctx.lineTo(c * cell + 0.5, h); }
      ctx.stroke();
    }
    ctx.strokeStyle = '#1d2330';
    ctx.lineWidth = 2;
    ctx.strokeRect(1, LABEL + state.row * cell + 1, w - 2, cell - 2);
  }

  function explainRow() {
    const d = state.data;
    const [cOut, oh, ow] = d.geometry.output;
    const r = state.row;
    const o = Math.floor(r / (oh * ow));
    const i = Math.floor(r / ow) % oh;
    const j = r % ow;
    const terms = [];
    d.kernel_index[r].forEach((k, col) => {
      if (k < 0) return;
      const [c, yy, xx] = volumePosition(col, d.geometry.input);
      const channel = d.geometry.input[0] > 1 ? `${c},` : '';
      const v = d.matrix[r][col];
      const sign = terms.length ? (v < 0 ? ' − ' : ' + ') : (v < 0 ? '−' : '');
      terms.push(`${sign}${formatNumber(Math.abs(v))}·x[${channel}${yy},${xx}]`);
    });
    const b = d.bias[Math.floor(r / (oh * ow))];
    const bias = `${b < 0 ? ' − ' : ' + '}${formatNumber(Math.abs(b))}`;
    const out = cOut > 1 ? `${o},` : '';
    ui.row.textContent = `Row ${r} of W is output y[${out}${i},${j}]: ${terms.join('') || '0'}${bias} (b)`
      + ` = ${formatNumber(d.y_matrix[o][i][j])}. ${terms.length} of its ${d.columns} entries are`
      + ' kernel weights; the rest are 0.';
  }

  function drawInputs() {
    const d = state.data;
    const count = d.weight.flat(3).length;
    const row = d.kernel_index[state.row];
    const [, h, w] = d.geometry.input;
    grids(ui.input, d.input, {
      colour: (c, i, j) => tapColour(row[(c * h + i) * w + j], count),
    });
    const [, oh, ow] = d.geometry.output;
    const o = Math.floor(state.row / (oh * ow));  // the output channel of this row
    const kh = d.geometry.kernel_size[0];
    const kw = d.geometry.kernel_size[1];
    grids(ui.kernel, d.weight[o], {
      colour: (c, a, b) => tapColour(((o * d.geometry.input[0] + c) * kh + a) * kw + b, count),
    });
    const bias = document.createElement('p');
    bias.className = 'readout';
    bias.textContent = `bias b = ${formatNumber(d.bias[o])}`;
    ui.kernel.append(bias);
    explainRow();
  }

  function render() {
    const d = state.data;
    const g = d.geometry;
    const [cIn, h, w] = g.input;
    const [, oh, ow] = g.output;
    const nonzero = (100 * d.nonzeros) / (d.rows * d.columns);
    ui.summary.textContent = `${cIn > 1 ? `${cIn}×` : ''}${h}×${w} input, ${g.kernel_size.join('×')} kernel, `
      + `stride ${g.stride[0]}, padding ${g.padding[0]}, dilation ${g.dilation[0]} → ${oh}×${ow} output. `
      + `W is ${d.rows}×${d.columns}: ${d.nonzeros} of its ${d.rows * d.columns} entries `
      + `(${nonzero.toFixed(0)}%) are kernel weights, all copies of the same `
      + `${d.weight.flat(3).length} numbers.`;
    state.row = Math.min(state.row, d.rows - 1);
    drawMatrix();
    drawInputs();
    grids(ui.yMatrix, d.y_matrix);
    grids(ui.yConv, d.y_conv);
    ui.forward.textContent = `Largest difference between W x + b and the convolution: `
      + `${d.forward_max_abs_difference.toExponential(1)}.`;
    grids(ui.dy, d.output_gradient);
    grids(ui.dxMatrix, d.dx_matrix);
    grids(ui.dxBackward, d.dx_backward);
    grids(ui.dxTranspose, d.dx_transpose);
    const pad = g.output_padding;
    ui.transposeCaption.textContent = 'A transposed-convolution layer with the same kernel, run '
      + `forward on dy (stride ${g.stride[0]}, padding ${g.padding[0]}`
      + `${pad[0] || pad[1] ? `, output padding ${pad.join('×')} to give ${h}×${w} back` : ''}).`;
    ui.backward.textContent = `Largest difference between Wᵀ dy, the backward pass and the `
      + `transposed convolution: ${d.backward_max_abs_difference.toExponential(1)}.`;
  }

  async function load() {
    const ticket = ++state.request;
    try {
      const data = await convMatrix(query());
      if (ticket !== state.request) return;
      state.data = data;
      showError(null);
      render();
    } catch (error) {
      if (ticket === state.request) showError(error);
    }
  }

  function pickRow(event) {
    if (!state.data) return;
    const cell = state.cell;
    const { y } = pointerPosition(ui.matrix, event, ...state.size);
    const r = Math.floor((y - LABEL) / cell);
    if (r < 0 || r >= state.data.rows) return;
    state.row = r;
    drawMatrix();
    drawInputs();
  }

  function stepRow(event) {
    if (!state.data || !['ArrowUp', 'ArrowDown'].includes(event.key)) return;
    event.preventDefault();
    state.row = clamp(state.row + (event.key === 'ArrowDown' ? 1 : -1), 0, state.data.rows - 1);
    drawMatrix();
    drawInputs();
  }

  for (const [id] of FIELDS) $(id).addEventListener('change', () => { state.row = 0; load(); });
  ui.reseed.addEventListener('click', () => { state.seed += 1; load(); });
  ui.matrix.addEventListener('click', pickRow);
  ui.matrix.addEventListener('keydown', stepRow);
  let resizeTimer = null;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => { if (state.data) drawMatrix(); }, 150);
  });
  load();
}
