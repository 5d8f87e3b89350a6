// Activation detail: the function and its derivative drawn over the range of the layer's
// inputs, the unit's input (the previous layer's output) and output marked on the curve;
// backward: delta_out x f'(in) = delta_in, beside the trace's delta of the input.

import {
  at, deltaMatches, el, layerInput, layerInputGrad, layerInputName, matches, need, note, num, panel,
} from './detail_parts.js';

// f(x), and f'(x) given x and y = f(x) (ReLU'(0) = 0 as in the core).
const FUNCTIONS = {
  relu: {
    name: 'ReLU', formula: 'max(0, x)', derivative: "1 if x > 0, else 0",
    f: (v) => Math.max(0, v), df: (v) => (v > 0 ? 1 : 0),
  },
  sigmoid: {
    name: 'sigmoid', formula: '1 / (1 + e^−x)', derivative: 'y (1 − y)',
    f: (v) => 1 / (1 + Math.exp(-v)), df: (v, y) => y * (1 - y),
  },
  tanh: {
    name: 'tanh', formula: 'tanh(x)', derivative: '1 − y²',
    f: Math.tanh, df: (v, y) => 1 - y * y,
  },
};

/** The unit's index in a tensor: (c, y, x) for feature maps, (channel) for dense layers. */
function unitIndex(tensor, ctx) {
  return tensor.shape.length === 3 ? [ctx.channel, ctx.y, ctx.x] : [ctx.channel];
}

function drawCurves(canvas, fn, lo, hi, xIn, yOut) {
  const g = canvas.getContext('2d');
  const { width, height } = canvas;
  const pad = 28;
  const samples = 200;
  const xs = Array.from({ length: samples + 1 }, (_, i) => lo + ((hi - lo) * i) / samples);
  const ys = xs.map(fn.f);
  const ds = xs.map((v, i) => fn.df(v, ys[i]));
  const yLo = Math.min(0, ...ys, ...ds);
  const yHi = Math.max(1, ...ys, ...ds);
  const px = (v) => pad + ((v - lo) / (hi - lo)) * (width - 2 * pad);
  const py = (v) => height - pad - ((v - yLo) / (yHi - yLo)) * (height - 2 * pad);
  g.clearRect(0, 0, width, height);
  g.fillStyle = '#fff';
  g.fillRect(0, 0, width, height);
  g.strokeStyle = '#999';
  g.lineWidth = 1;
  g.beginPath();
  g.moveTo(pad, py(0));
  g.lineTo(width - pad, py(0));
  if (lo <= 0 && hi >= 0) {
    g.moveTo(px(0), pad / 2);
    g.lineTo(px(0), height - pad);
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
  g.fillStyle = '#000';
  g.beginPath();
  g.arc(px(xIn), py(yOut), 5, 0, 2 * Math.PI);
  g.fill();
  g.font = '12px system-ui, sans-serif';
  g.fillStyle = '#333';
  g.fillText(lo.toPrecision(3), pad, height - 8);
  g.fillText(hi.toPrecision(3), width - pad - 30, height - 8);
  g.fillStyle = '#2166ac';
  g.fillText(`f(x)`, width - pad - 40, py(ys[samples]) - 6);
  g.fillStyle = '#b2182b';
  g.fillText(`f′(x)`, width - pad - 40, py(ds[samples]) + 14);
}

export function showActivation(ctx) {
  const { trace, layerIndex } = ctx;
  const layer = trace.layers[layerIndex];
  const fn = FUNCTIONS[layer.kind];
  const input = need(layerInput(trace, layerIndex), 'activations (include=activations)');
  const output = need(layer.output, 'activations (include=activations)');
  const index = unitIndex(output, ctx);
  const xIn = at(input, ...index);
  const yOut = at(output, ...index);
  const derivative = fn.df(xIn, yOut);
  const lo = Math.min(input.min, xIn, -1);
  const hi = Math.max(input.max, xIn, 1);
  const canvas = el('canvas', {
    class: 'activation-curve', width: 360, height: 200, role: 'img',
    'aria-label': `${fn.name} (solid) and its derivative (dashed) with the unit's input marked`,
  });
  drawCurves(canvas, fn, lo, hi, xIn, yOut);
  const where = index.join(', ');
  const forward = panel(`${fn.name}: f(x) = ${fn.formula}, f′(x) = ${fn.derivative}`,
    { testid: 'detail-activation' },
    el('div', { class: 'conv-row' }, canvas,
      el('dl', { class: 'activation-values' },
        el('dt', { text: `in  x (${layerInputName(trace, layerIndex)} at ${where})` }),
        el('dd', {}, num(xIn, { testid: 'detail-activation-in', label: 'input' })),
        el('dt', { text: 'out  y = f(x) (the trace)' }),
        el('dd', {}, num(yOut, { testid: 'detail-activation-out', label: 'output' }), ' ',
          el('span', { class: 'muted' }, 'f(x) = ', num(fn.f(xIn), { label: 'f(in)' })), ' ',
          matches(fn.f(xIn), yOut)),
        el('dt', { text: 'slope  f′(x)' }),
        el('dd', {}, num(derivative, { testid: 'detail-activation-derivative', label: "f'(in)" })))),
    note('The x axis spans the range of the layer’s inputs; the dot is this unit.'));
  if (ctx.mode !== 'backward') return forward;
  const gradOut = need(layer.grad_output, 'deltas (include=gradients)');
  const gradIn = need(layerInputGrad(trace, layerIndex), 'deltas (include=gradients)');
  const deltaOut = at(gradOut, ...index);
  const deltaIn = deltaOut * derivative;
  const reported = at(gradIn, ...index);
  const backward = panel('Backward: δ_in = δ_out × f′(in)', { testid: 'detail-activation-backward' },
    el('p', { class: 'conv-total' },
      'δ_out ', num(deltaOut, { testid: 'detail-activation-delta-out', label: 'delta of the output' }),
      ' × f′(in) ', num(derivative), ' = ',
      num(deltaIn, { testid: 'detail-activation-delta-in', label: 'delta_out × f\'(in)' }),
      ' ; the trace says ', num(reported, { testid: 'detail-activation-delta-in-trace', label: 'trace delta of the input' }),
      // f′ of tanh / sigmoid is 1 − y² / y − y²: float32 rounds its terms, not its difference.
      ' ', deltaMatches(trace, layerIndex, deltaIn, reported, { magnitude: Math.abs(deltaOut) * (1 + fn.f(xIn) ** 2) })));
  return el('div', { class: 'detail-views' }, backward, forward);
}
