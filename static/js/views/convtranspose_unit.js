// The inspect page's detail of one output unit of a ConvTranspose2d (torch's semantics: weight
// (C_in, C_out/groups, kH, kW)). Forward, every input value scatters value x kernel; seen
// from one output pixel (y, x), the copies that land on it are the (input i, tap a) pairs with
// i*s - p + a*d = y (and the same for columns), over the input channels of its group: their
// products plus the bias are the output. How many pairs land there is the overlap count, and
// a crop of the layer's count map around the unit shows the checkerboard when the kernel is not
// divisible by the stride. Backward, the layer's input gradient is an ordinary convolution of
// the delta with the same kernel.

import { countGrid, tapsOnto } from './convtranspose.js';
import { at, el, layerInput, layerInputName, matches, need, note, num, panel, sum } from './detail_parts.js';

const MAX_ROWS = 16;  // terms listed; the rest are summed but not shown
const CROP = 4;  // count map rows/columns shown either side of the unit

const pairOf = (v) => [].concat(v).concat(v).slice(0, 2).map(Number);

export function showConvTransposeUnit(ctx) {
  const { trace, layerIndex, channel: o } = ctx;
  const y = ctx.y ?? 0;
  const x = ctx.x ?? 0;
  const layer = trace.layers[layerIndex];
  const input = need(layerInput(trace, layerIndex), 'activations (include=activations)');
  const output = need(layer.output, 'activations (include=activations)');
  const weight = need(layer.params && layer.params.weight, 'the weights (include=params)');
  const bias = layer.params.bias ? at(layer.params.bias, o) : 0;
  const cfg = layer.config;
  const [kh, kw] = pairOf(cfg.kernel_size);
  const [sh, sw] = pairOf(cfg.stride ?? 1);
  const [ph, pw] = pairOf(cfg.padding ?? 0);
  const [dh, dw] = pairOf(cfg.dilation ?? 1);
  const [cIn, h, w] = input.shape;
  const perGroup = weight.shape[1];
  const groups = Number(cfg.groups ?? 1);
  const group = Math.floor(o / perGroup);
  const inPerGroup = cIn / groups;
  const rows = tapsOnto(y, h, kh, sh, ph, dh);
  const cols = tapsOnto(x, w, kw, sw, pw, dw);
  const terms = [];
  for (let c = group * inPerGroup; c < (group + 1) * inPerGroup; c += 1) {
    for (const [i, a] of rows) {
      for (const [j, b] of cols) {
        const v = at(input, c, i, j);
        const k = at(weight, c, o % perGroup, a, b);
        terms.push({ c, i, j, a, b, v, k, product: v * k });
      }
    }
  }
  const total = sum(terms.map((t) => t.product)) + bias;
  const reported = at(output, o, y, x);
  const table = el('table', { class: 'num-grid ct-terms' },
    el('caption', { text: `copies landing on (${y}, ${x}): input (c, i, j) × kernel tap (a, b)` }),
    el('tr', {}, ...['input (c, i, j)', 'value', 'tap (a, b)', 'weight', 'product']
      .map((t) => el('th', { text: t }))),
    ...terms.slice(0, MAX_ROWS).map((t) => el('tr', {},
      el('td', { text: `(${t.c}, ${t.i}, ${t.j})` }), el('td', {}, num(t.v)),
      el('td', { text: `(${t.a}, ${t.b})` }), el('td', {}, num(t.k)), el('td', {}, num(t.product)))));
  const more = terms.length > MAX_ROWS ? ` (the first ${MAX_ROWS} listed)` : '';
  const forward = panel('Forward: the kernel copies that land on this pixel', { testid: 'detail-convtranspose' },
    note(`Each value of ${layerInputName(trace, layerIndex)} scatters value × kernel, its top-left tap at `
      + `(i·${sh} − ${ph}, j·${sw} − ${pw}); overlaps add. ${rows.length} row tap(s) × ${cols.length} `
      + `column tap(s) × ${inPerGroup} input channel(s) = ${terms.length} copies land here${more}.`),
    table,
    el('p', { class: 'conv-total' }, 'sum of the products + bias ', num(bias, { label: 'bias' }), ' = ',
      num(total, { testid: 'detail-convtranspose-total', label: 'computed output' }),
      ' ; the trace says ', num(reported, { testid: 'detail-convtranspose-out', label: 'output' }), ' ',
      matches(total, reported)));
  const [, outH, outW] = output.shape;
  const top = Math.max(0, y - CROP);
  const left = Math.max(0, x - CROP);
  const bottom = Math.min(outH - 1, y + CROP);
  const right = Math.min(outW - 1, x + CROP);
  const crop = [];
  for (let r = top; r <= bottom; r += 1) {
    const row = [];
    for (let q = left; q <= right; q += 1) {
      row.push(tapsOnto(r, h, kh, sh, ph, dh).length * tapsOnto(q, w, kw, sw, pw, dw).length);
    }
    crop.push(row);
  }
  const map = countGrid(crop, `(input, tap) pairs per output pixel, rows ${top}–${bottom}, `
    + `columns ${left}–${right}; this unit (${y}, ${x}) ringed`, [y - top, x - left]);
  const parts = [forward, panel('Overlap counts around this pixel', { testid: 'detail-convtranspose-counts' }, map,
    note(kh % sh || kw % sw ? `Kernel ${kh}×${kw} is not a multiple of stride ${sh}×${sw}: the counts alternate, `
      + 'a checkerboard the output can inherit.' : `Kernel ${kh}×${kw} is a multiple of stride ${sh}×${sw}: `
      + 'away from the border every pixel receives the same number of copies.'))];
  if (ctx.mode === 'backward') {
    parts.unshift(panel('Backward', { testid: 'detail-convtranspose-backward' },
      note('The gradient of the input is the delta correlated with the same kernel: a transposed '
        + 'convolution runs backward as an ordinary convolution (and a convolution backward as a '
        + 'transposed one).')));
  }
  return el('div', { class: 'detail-views' }, ...parts);
}
