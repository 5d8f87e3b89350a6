// Activation detail: f and f' drawn over the range of the layer's inputs with the unit marked
// on both curves (x, f(x)) and (x, f'(x)); the values f(x) and f'(x) beside the trace's
// output; backward: dL/dx = f'(x) · dL/dy with the unit's numbers, beside the trace's delta.

import { activationOf, short } from '../activation_functions.js';
import {
  at, deltaMatches, el, layerInput, layerInputGrad, layerInputName, matches, need, note, num, panel,
} from './detail_parts.js';

/** The unit's index in a tensor: (c, y, x) for feature maps, (channel) for dense layers. */
function unitIndex(tensor, ctx) {
  return tensor.shape.length === 3 ? [ctx.channel, ctx.y, ctx.x] : [ctx.channel];
}

function drawCurves(canvas, fn, config, lo, hi, xIn) {
  const g = canvas.getContext('2d');
  const { width, height } = canvas;
  const left = 36;
  const right = 12;
  const top = 10;
  const bottom = 34;
  const samples = 240;
  const xs = Array.from({ length: samples + 1 }, (_, i) => lo + ((hi - lo) * i) / samples);
  const ys = xs.map((v) => fn.f(v, config));
  const ds = xs.map((v, i) => fn.df(v, ys[i], config));
  const yIn = fn.f(xIn, config);
  const dIn = fn.df(xIn, yIn, config);
  const yLo = Math.min(0, ...ys, ...ds);
  const yHi = Math.max(1, ...ys, ...ds);
  const px = (v) => left + ((v - lo) / (hi - lo)) * (width - left - right);
  const py = (v) => height - bottom - ((v - yLo) / (yHi - yLo)) * (height - top - bottom);
  g.clearRect(0, 0, width, height);
  g.fillStyle = '#fff';
  g.fillRect(0, 0, width, height);
  g.strokeStyle = '#999';
  g.lineWidth = 1;
  g.beginPath();
  g.moveTo(left, py(0));
  g.lineTo(width - right, py(0));
  if (lo <= 0 && hi >= 0) {
    g.moveTo(px(0), top);
    g.lineTo(px(0), height - bottom);
  }
  g.stroke();
  const curve = (values, colour, dash) => {
    g.save();
    g.strokeStyle = colour;
    g.lineWidth = 2;
    if (dash) g.setLineDash(dash);
    g.beginPath();
    values.forEach((v, i) => (i ? g.lineTo(px(xs[i]), py(v)) : g.moveTo(px(xs[i]), py(v))));
    g.stroke();
    g.restore();
  };
  curve(ys, '#2166ac');
  curve(ds, '#b2182b', [5, 4]);
  // The unit: a guide at x, a dot on f and a ring on f'.
  g.save();
  g.strokeStyle = '#555';
  g.setLineDash([2, 3]);
  g.beginPath();
  g.moveTo(px(xIn), top);
  g.lineTo(px(xIn), height - bottom);
  g.stroke();
  g.restore();
  g.fillStyle = '#2166ac';
  g.beginPath();
  g.arc(px(xIn), py(yIn), 5, 0, 2 * Math.PI);
  g.fill();
  g.strokeStyle = '#b2182b';
  g.lineWidth = 2;
  g.beginPath();
  g.arc(px(xIn), py(dIn), 5, 0, 2 * Math.PI);
  g.stroke();
  g.font = '11px system-ui, sans-serif';
  g.fillStyle = '#333';
  g.textAlign = 'left';
  g.fillText(short(lo), left, height - bottom + 13);
  g.textAlign = 'right';
  g.fillText(short(hi), width - right, height - bottom + 13);
  g.textAlign = 'center';
  g.fillText(`x = ${short(xIn)}`, Math.min(width - right - 30, Math.max(left + 30, px(xIn))), height - bottom + 13);
  g.fillText('x (the unit’s input)', (left + width - right) / 2, height - 6);
  g.save();
  g.translate(12, (top + height - bottom) / 2);
  g.rotate(-Math.PI / 2);
  g.fillText('f(x), f′(x)', 0, 0);
  g.restore();
}

export function showActivation(ctx) {
  const { trace, layerIndex } = ctx;
  const layer = trace.layers[layerIndex];
  const fn = activationOf(layer.kind);
  const config = layer.config || {};
  const input = need(layerInput(trace, layerIndex), 'activations (include=activations)');
  const output = need(layer.output, 'activations (include=activations)');
  const index = unitIndex(output, ctx);
  const xIn = at(input, ...index);
  const yOut = at(output, ...index);
  const derivative = fn.df(xIn, yOut, config);
  const lo = Math.min(input.min, xIn, -1);
  const hi = Math.max(input.max, xIn, 1);
  const canvas = el('canvas', {
    class: 'activation-curve', width: 360, height: 210, role: 'img', testid: 'detail-activation-plot',
    'aria-label': `${fn.name} (solid) and its derivative (dashed) from ${short(lo)} to ${short(hi)}; `
      + `this unit at x = ${short(xIn)}: f(x) = ${short(yOut)}, f′(x) = ${short(derivative)}`,
  });
  drawCurves(canvas, fn, config, lo, hi, xIn);
  const where = index.join(', ');
  const forward = panel(`${fn.name}: f(x) = ${fn.formula}, f′(x) = ${fn.derivative}`,
    { testid: 'detail-activation' },
    el('div', { class: 'conv-row' }, canvas,
      el('dl', { class: 'activation-values' },
        el('dt', { text: `in  x (${layerInputName(trace, layerIndex)} at ${where})` }),
        el('dd', {}, num(xIn, { testid: 'detail-activation-in', label: 'input' })),
        el('dt', { text: 'out  y = f(x) (the trace)' }),
        el('dd', {}, num(yOut, { testid: 'detail-activation-out', label: 'output' }), ' ',
          el('span', { class: 'muted' }, 'f(x) = ', num(fn.f(xIn, config), { label: 'f(in)' })), ' ',
          matches(fn.f(xIn, config), yOut)),
        el('dt', { text: 'slope  f′(x)' }),
        el('dd', {}, num(derivative, { testid: 'detail-activation-derivative', label: "f'(in)" }),
          Math.abs(derivative) < 0.01 ? el('span', { class: 'muted', testid: 'detail-activation-saturated', text: ' saturated: almost nothing flows back' }) : ''))),
    note('The x axis spans the range of the layer’s inputs; the dot is this unit on f, the ring '
      + 'is its slope f′ (dashed).'));
  if (ctx.mode !== 'backward') return forward;
  const gradOut = need(layer.grad_output, 'deltas (include=gradients)');
  const gradIn = need(layerInputGrad(trace, layerIndex), 'deltas (include=gradients)');
  const deltaOut = at(gradOut, ...index);
  const deltaIn = deltaOut * derivative;
  const reported = at(gradIn, ...index);
  const backward = panel('Backward: dL/dx = f′(x) · dL/dy', { testid: 'detail-activation-backward' },
    el('p', { class: 'conv-total' },
      'dL/dx = f′(x) ', num(derivative), ' × dL/dy ',
      num(deltaOut, { testid: 'detail-activation-delta-out', label: 'delta of the output' }), ' = ',
      num(deltaIn, { testid: 'detail-activation-delta-in', label: 'delta_out × f\'(in)' }),
      ' ; the trace says ', num(reported, { testid: 'detail-activation-delta-in-trace', label: 'trace delta of the input' }),
      // f′ of tanh / sigmoid is 1 − y² / y − y²: float32 rounds its terms, not its difference.
      ' ', deltaMatches(trace, layerIndex, deltaIn, reported, { magnitude: Math.abs(deltaOut) * (1 + fn.f(xIn, config) ** 2) })));
  return el('div', { class: 'detail-views' }, backward, forward);
}
