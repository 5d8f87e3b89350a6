// Zero padding detail (torch.nn.ZeroPad2d, padding (left, right, top, bottom)): an output
// unit is either the input unit shifted by (top, left) or a padded zero; backward the delta
// is cropped back: an inside unit's delta goes to its input unit, a padded unit's is dropped.

import { at, deltaMatches, el, layerInput, layerInputGrad, layerInputName, matches, need, num, panel } from './detail_parts.js';

export function showPad(ctx) {
  const { trace, layerIndex, channel: c } = ctx;
  const layer = trace.layers[layerIndex];
  const [left, right, top, bottom] = [].concat(layer.config.padding);
  const input = need(layerInput(trace, layerIndex), 'activations (include=activations)');
  const output = need(layer.output, 'activations (include=activations)');
  const [, h, w] = input.shape;
  const y = ctx.y ?? 0;
  const x = ctx.x ?? 0;
  const iy = y - top;
  const ix = x - left;
  const inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
  const value = inside ? at(input, c, iy, ix) : 0;
  const forward = panel(`Forward: zero padding, left ${left}, right ${right}, top ${top}, bottom ${bottom}`,
    { testid: 'detail-pad' },
    el('p', { class: 'conv-total' },
      inside ? `output (${y}, ${x}) = ${layerInputName(trace, layerIndex)} at (${y} − ${top}, ${x} − ${left}) = (${iy}, ${ix}): `
        : `output (${y}, ${x}) lies in the padding: `,
      num(value, { testid: 'detail-pad-in', label: inside ? 'input value' : 'padding' }),
      ' ; the trace says ', num(at(output, c, y, x), { testid: 'detail-pad-out', label: 'output' }),
      ' ', matches(value, at(output, c, y, x))));
  if (ctx.mode !== 'backward') return forward;
  const delta = at(need(layer.grad_output, 'deltas (include=gradients)'), c, y, x);
  const gradIn = need(layerInputGrad(trace, layerIndex), 'deltas (include=gradients)');
  const backward = panel('Backward: the delta is cropped back to the input', { testid: 'detail-pad-backward' },
    el('p', { class: 'conv-total' },
      `δ(${y}, ${x}) = `, num(delta, { testid: 'detail-pad-delta', label: 'delta of the output' }),
      inside ? [` → input (${iy}, ${ix}) ; the trace's δ there = `,
        num(at(gradIn, c, iy, ix), { testid: 'detail-pad-grad', label: 'trace delta of the input' }), ' ',
        deltaMatches(trace, layerIndex, delta, at(gradIn, c, iy, ix))]
        : ': a padded zero has no input behind it, so this delta goes nowhere.'));
  return el('div', { class: 'detail-views' }, backward, forward);
}
