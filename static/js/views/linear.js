// Dense layers. Linear: for output unit j, the inputs that contribute most (weight x input,
// sorted by |product|), the rest summed, plus the bias = the output; backward: the unit's
// delta, dL/dbias[j] = delta and dL/dweight[j, i] = delta x input[i] beside the trace's.
// Flatten: the (c, h, w) -> c*H*W + h*W + w mapping of the selected unit.

import { flatIndex, unflattenIndex } from '../geometry.js';
import { magnitudeOf } from '../numbers.js';
import {
  at, deltaMatches, el, layerInput, layerInputGrad, layerInputName, matches, need, note, num, panel, sum,
} from './detail_parts.js';

const TOP = 12;

export function showLinear(ctx) {
  const { trace, layerIndex, channel: j } = ctx;
  const layer = trace.layers[layerIndex];
  const input = need(layerInput(trace, layerIndex), 'activations (include=activations)');
  const output = need(layer.output, 'activations (include=activations)');
  const params = need(layer.params, 'the weights (include=params)');
  const weight = need(params.weight, 'the weights (include=params)');
  const [, nIn] = weight.shape;
  const terms = Array.from({ length: nIn }, (_, i) => {
    const xi = Number(input.data[i]);
    const w = at(weight, j, i);
    return { i, x: xi, w, product: xi * w };
  });
  const ranked = [...terms].sort((a, b) => Math.abs(b.product) - Math.abs(a.product));
  const shown = ranked.slice(0, TOP);
  const rest = ranked.slice(TOP);
  const restSum = sum(rest.map((t) => t.product));
  const bias = params.bias ? at(params.bias, j) : 0;
  const total = sum(terms.map((t) => t.product)) + bias;
  const reported = at(output, j);
  const inputShape = layerIndex > 0 ? trace.layers[layerIndex - 1].input_shape : null;
  const fromFlatten = layerIndex > 0 && trace.layers[layerIndex - 1].kind === 'flatten'
    && inputShape && inputShape.length === 3;
  const describe = (i) => {
    if (!fromFlatten) return `input[${i}]`;
    const [c, h, w] = unflattenIndex(i, inputShape);
    return `input[${i}] = (c ${c}, h ${h}, w ${w})`;
  };
  const table = el('table', { class: 'linear-table', testid: 'detail-linear-terms' },
    el('thead', {}, el('tr', {},
      ...['input', 'x', 'weight', 'x × weight'].map((h) => el('th', { scope: 'col', text: h })))),
    el('tbody', {},
      ...shown.map((t) => el('tr', {},
        el('td', { text: describe(t.i) }), el('td', {}, num(t.x, { label: `x[${t.i}]` })),
        el('td', {}, num(t.w, { label: `weight[${j}, ${t.i}]` })),
        el('td', {}, num(t.product, { cls: 'term', label: `x[${t.i}] × weight[${j}, ${t.i}]` })))),
      rest.length ? el('tr', { class: 'rest' },
        el('td', { colspan: 3, text: `the other ${rest.length} inputs` }),
        el('td', {}, num(restSum, { cls: 'term', testid: 'detail-linear-rest', label: 'sum of the other products' }))) : null));
  const forward = panel(`Linear: output[${j}] = Σ_i x_i · weight[${j}, i] + bias[${j}]`, { testid: 'detail-linear' },
    note(`The ${Math.min(TOP, nIn)} largest contributions of ${nIn} inputs (${layerInputName(trace, layerIndex)}), `,
      'sorted by |x × weight|.'),
    el('div', { class: 'table-scroll' }, table),
    el('p', { class: 'conv-total' },
      'Σ products ', num(sum(terms.map((t) => t.product)), { testid: 'detail-linear-products-sum', label: 'sum of all products' }),
      ' + bias ', num(bias, { testid: 'detail-linear-bias', label: `bias[${j}]` }), ' = ',
      num(total, { testid: 'detail-linear-sum', cls: 'total', label: 'sum + bias' }),
      ' ; the trace says ', num(reported, { testid: 'detail-linear-output', cls: 'total', label: `output[${j}]` }),
      ' ', matches(total, reported, { magnitude: magnitudeOf(terms.map((t) => t.product)) + Math.abs(bias) })));
  if (ctx.mode !== 'backward') return forward;

  const gradOut = need(layer.grad_output, 'deltas (include=gradients)');
  const delta = at(gradOut, j);
  const children = [el('p', { class: 'conv-total' }, `δ[${j}] = `,
    num(delta, { testid: 'detail-linear-delta', label: `delta of output ${j}` }))];
  const grads = layer.param_grads;
  if (grads && grads.bias) {
    children.push(el('p', { class: 'conv-total' }, `dL/dbias[${j}] = δ[${j}] = `, num(delta),
      ' ; the trace says ', num(at(grads.bias, j), { testid: 'detail-linear-bias-grad', label: `dL/dbias[${j}]` }),
      ' ', matches(delta, at(grads.bias, j))));
  }
  if (grads && grads.weight) {
    children.push(el('table', { class: 'linear-table', testid: 'detail-linear-weight-grads' },
      el('thead', {}, el('tr', {}, ...['input', 'δ × x', 'dL/dweight (trace)', '']
        .map((h) => el('th', { scope: 'col', text: h })))),
      el('tbody', {}, ...shown.map((t) => {
        const g = at(grads.weight, j, t.i);
        return el('tr', {}, el('td', { text: describe(t.i) }),
          el('td', {}, num(delta * t.x, { label: `delta[${j}] × x[${t.i}]` })),
          el('td', {}, num(g, { label: `dL/dweight[${j}, ${t.i}]` })), el('td', {}, matches(delta * t.x, g)));
      }))));
  } else {
    children.push(note('Request include=param_grads to see the weight gradients.'));
  }
  const backward = panel(`Backward: dL/dweight[${j}, i] = δ[${j}] · x_i`, { testid: 'detail-linear-backward' }, ...children);
  return el('div', { class: 'detail-views' }, backward, forward);
}

export function showFlatten(ctx) {
  const { trace, layerIndex, channel: i } = ctx;
  const layer = trace.layers[layerIndex];
  const input = need(layerInput(trace, layerIndex), 'activations (include=activations)');
  const output = need(layer.output, 'activations (include=activations)');
  const shape = input.shape;
  const [c, h, w] = unflattenIndex(i, shape);
  const [, H, W] = shape;
  const backward = ctx.mode === 'backward';
  const source = backward ? need(layerInputGrad(trace, layerIndex), 'deltas (include=gradients)') : input;
  const target = backward ? need(layer.grad_output, 'deltas (include=gradients)') : output;
  const what = backward ? 'δ' : 'value';
  return panel('Flatten: (c, h, w) → c·H·W + h·W + w', { testid: 'detail-flatten' },
    el('p', { class: 'conv-total' },
      `(c ${c}, h ${h}, w ${w}) → ${c}·${H * W} + ${h}·${W} + ${w} = `,
      el('span', { testid: 'detail-flatten-index', text: String(flatIndex(c, h, w, shape)) })),
    el('p', { class: 'conv-total' },
      `${what} at (${c}, ${h}, ${w}) of ${layerInputName(trace, layerIndex)} = `,
      num(at(source, c, h, w), { testid: 'detail-flatten-in' }),
      ` ; ${what} at flat index ${i} = `, num(at(target, i), { testid: 'detail-flatten-out' }),
      ' ', backward ? deltaMatches(trace, layerIndex, at(target, i), at(source, c, h, w))
        : matches(at(source, c, h, w), at(target, i))),
    note('Flatten only re-indexes: rows of each channel are laid end to end, channel after channel; ',
      'backward, each delta goes back to the same place.'));
}
