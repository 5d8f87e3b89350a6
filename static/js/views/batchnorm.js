// BatchNorm detail (inference mode, as the trace runs): per channel the running mean and
// variance (buffers) and γ, β turn x into y = γ (x − mean) / sqrt(var + ε) + β; backward,
// the statistics are constants, so δ_x = δ_y · γ / sqrt(var + ε), and dL/dβ, dL/dγ are the
// map's sums of δ_y and δ_y · x̂.

import { magnitudeOf } from '../numbers.js';
import {
  at, deltaMatches, el, layerInput, layerInputGrad, layerInputName, matches, need, note, num,
  panel, sum,
} from './detail_parts.js';

const PARAMS = 'the parameters and buffers (include=params)';

function channelStats(layer, c) {
  const affine = layer.config.affine !== false;
  const buffers = need(layer.buffers, PARAMS);
  const mean = at(need(buffers.running_mean, PARAMS), c);
  const variance = at(need(buffers.running_var, PARAMS), c);
  const gamma = affine ? at(need(layer.params && layer.params.weight, PARAMS), c) : 1;
  const beta = affine ? at(need(layer.params.bias, PARAMS), c) : 0;
  const eps = Number(layer.config.eps ?? 1e-5);
  const std = Math.sqrt(variance + eps);
  return { mean, variance, gamma, beta, eps, std, scale: gamma / std };
}

function channelTable(layer, ctx, tools) {
  const channels = layer.output.shape[0];
  const rows = [];
  for (let c = 0; c < channels; c++) {
    const s = channelStats(layer, c);
    rows.push(el('tr', {
      class: c === ctx.channel ? 'selected' : '', dataset: { channel: String(c) },
    },
    el('td', {}, el('button', {
      type: 'button', class: 'link-button', text: String(c), 'aria-label': `show channel ${c}`,
      onclick: () => tools.select(ctx.layerIndex, c, ctx.y ?? 0, ctx.x ?? 0),
    })),
    ...[s.mean, s.variance, s.gamma, s.beta, s.scale, s.beta - s.mean * s.scale]
      .map((v) => el('td', {}, num(v)))));
  }
  return el('div', { class: 'table-scroll' }, el('table', { class: 'bn-table', testid: 'detail-bn-channels' },
    el('caption', { text: 'Per channel: y = scale · x + shift' }),
    el('thead', {}, el('tr', {}, ...['c', 'running mean', 'running var', 'γ', 'β',
      'scale γ/√(var+ε)', 'shift β − mean·scale'].map((t) => el('th', { scope: 'col', text: t })))),
    el('tbody', {}, ...rows)));
}

export function showBatchNorm(ctx, tools) {
  const { trace, layerIndex, channel: c } = ctx;
  const y0 = ctx.y ?? 0;
  const x0 = ctx.x ?? 0;
  const layer = trace.layers[layerIndex];
  const input = need(layerInput(trace, layerIndex), 'activations (include=activations)');
  const output = need(layer.output, 'activations (include=activations)');
  const s = channelStats(layer, c);
  const x = at(input, c, y0, x0);
  const xHat = (x - s.mean) / s.std;
  const y = s.gamma * xHat + s.beta;
  const reported = at(output, c, y0, x0);
  const forward = panel(`Forward (inference): y = γ (x − mean) / √(var + ε) + β, channel ${c}`,
    { testid: 'detail-bn' },
    note('The trace runs the network in inference mode: the mean and variance are the running '
      + 'statistics learned in training (buffers), not this image\'s.'),
    el('p', { class: 'conv-total' },
      `x (${layerInputName(trace, layerIndex)} at ${c}, ${y0}, ${x0}) = `, num(x, { testid: 'detail-bn-x', label: 'x' }),
      ' ; x̂ = (', num(x), ' − ', num(s.mean, { testid: 'detail-bn-mean', label: 'running mean' }),
      ') / √(', num(s.variance, { testid: 'detail-bn-var', label: 'running var' }), ' + ', num(s.eps), ') = ',
      num(xHat, { testid: 'detail-bn-xhat', label: 'normalised x' })),
    el('p', { class: 'conv-total' },
      'y = γ ', num(s.gamma, { testid: 'detail-bn-gamma', label: 'gamma' }), ' × x̂ + β ',
      num(s.beta, { testid: 'detail-bn-beta', label: 'beta' }), ' = ',
      num(y, { testid: 'detail-bn-y', cls: 'total', label: 'gamma × x̂ + beta' }),
      ' ; the trace says ', num(reported, { testid: 'detail-bn-y-trace', cls: 'total', label: 'output' }),
      ' ', matches(y, reported, { magnitude: (Math.abs(x) + Math.abs(s.mean)) * Math.abs(s.scale) + Math.abs(s.beta) })),
    channelTable(layer, ctx, tools));
  if (ctx.mode !== 'backward') return forward;

  const gradOut = need(layer.grad_output, 'deltas (include=gradients)');
  const gradIn = need(layerInputGrad(trace, layerIndex), 'deltas (include=gradients)');
  const deltaY = at(gradOut, c, y0, x0);
  const deltaX = deltaY * s.scale;
  const children = [
    note('In inference mode the mean and variance are constants, so each x only moves its own y: '
      + 'the delta is scaled by the same factor as the value.'),
    el('p', { class: 'conv-total' },
      'δ_x = δ_y ', num(deltaY, { testid: 'detail-bn-delta-y', label: 'delta of the output' }),
      ' × γ/√(var+ε) ', num(s.scale, { testid: 'detail-bn-scale', label: 'scale' }), ' = ',
      num(deltaX, { testid: 'detail-bn-delta-x', cls: 'total', label: 'delta × scale' }),
      ' ; the trace says ', num(at(gradIn, c, y0, x0), { testid: 'detail-bn-delta-x-trace', cls: 'total', label: 'trace delta of the input' }),
      ' ', deltaMatches(trace, layerIndex, deltaX, at(gradIn, c, y0, x0))),
  ];
  const grads = layer.param_grads;
  if (grads && grads.bias && grads.weight) {
    const [, h, w] = gradOut.shape;
    const deltas = [];
    const products = [];
    let scaleOfProducts = 0; // x − mean cancels: float32 rounds on the scale of |x| + |mean|
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const d = at(gradOut, c, i, j);
        deltas.push(d);
        const xi = at(input, c, i, j);
        products.push(d * ((xi - s.mean) / s.std));
        scaleOfProducts += Math.abs(d) * (Math.abs(xi) + Math.abs(s.mean)) / s.std;
      }
    }
    const dBeta = sum(deltas);
    const dGamma = sum(products);
    children.push(
      el('p', { class: 'conv-total' }, `dL/dβ[${c}] = Σ over the map of δ_y = `,
        num(dBeta, { testid: 'detail-bn-dbeta' }), ' ; the trace says ', num(at(grads.bias, c)),
        ' ', matches(dBeta, at(grads.bias, c), { magnitude: magnitudeOf(deltas) })),
      el('p', { class: 'conv-total' }, `dL/dγ[${c}] = Σ over the map of δ_y · x̂ = `,
        num(dGamma, { testid: 'detail-bn-dgamma' }), ' ; the trace says ', num(at(grads.weight, c)),
        ' ', matches(dGamma, at(grads.weight, c), { magnitude: scaleOfProducts })));
  }
  return el('div', { class: 'detail-views' },
    panel('Backward: δ_x = δ_y · γ / √(var + ε)', { testid: 'detail-bn-backward' }, ...children),
    forward);
}
