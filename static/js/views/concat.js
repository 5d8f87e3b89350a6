// Concat detail (along the channels, torch.cat(dim=1)): which output channels came from which
// input, the unit's value read from its source channel, and backward its delta handed back to
// that one input channel (the other inputs get nothing from it).

import { inputsOf, nodeTensor, readersOf } from '../graph.js';
import { at, el, matches, need, note, num, panel } from './detail_parts.js';

/** [{name, first, count}] per input: output channels first … first + count − 1 are its. */
export function channelRanges(trace, layerIndex) {
  let first = 0;
  return inputsOf(trace.layers, layerIndex).map((name) => {
    const tensor = need(nodeTensor(trace, name, 'output'), 'activations (include=activations)');
    const range = { name, first, count: tensor.shape[0] };
    first += range.count;
    return range;
  });
}

export function showConcat(ctx) {
  const { trace, layerIndex, channel: c } = ctx;
  const layer = trace.layers[layerIndex];
  const dim = Number(layer.config.dim ?? 1);
  const output = need(layer.output, 'activations (include=activations)');
  if (output.shape.length !== 3 || (dim !== 1 && dim !== -3)) {
    return note('This view shows concatenation along the channels (dim 1); this layer joins '
      + 'another axis, so the overview shows its maps only.');
  }
  const y = ctx.y ?? 0;
  const x = ctx.x ?? 0;
  const ranges = channelRanges(trace, layerIndex);
  const source = ranges.find((r) => c >= r.first && c < r.first + r.count);
  const k = c - source.first;
  const input = nodeTensor(trace, source.name, 'output');
  const table = el('table', { class: 'bn-table', testid: 'detail-concat-ranges' },
    el('caption', { text: 'Output channels by input' }),
    el('thead', {}, el('tr', {}, ...['input', 'output channels', 'its channels']
      .map((t) => el('th', { scope: 'col', text: t })))),
    el('tbody', {}, ...ranges.map((r) => el('tr', { class: r === source ? 'selected' : '' },
      el('td', { text: r.name }), el('td', { text: `${r.first}…${r.first + r.count - 1}` }),
      el('td', { text: `0…${r.count - 1}` })))));
  const forward = panel(`Forward: ${layer.name} stacks ${ranges.map((r) => r.name).join(', ')} along the channels`,
    { testid: 'detail-concat' }, table,
    el('p', { class: 'conv-total' },
      `output channel ${c} = ${source.name}'s channel ${k}: at (${y}, ${x}) `,
      num(at(input, k, y, x), { testid: 'detail-concat-in', label: `${source.name}[${k}, ${y}, ${x}]` }),
      ' ; the trace says ', num(at(output, c, y, x), { testid: 'detail-concat-out', label: 'output' }),
      ' ', matches(at(input, k, y, x), at(output, c, y, x))));
  if (ctx.mode !== 'backward') return forward;
  const delta = at(need(layer.grad_output, 'deltas (include=gradients)'), c, y, x);
  const theirs = at(need(nodeTensor(trace, source.name, 'grad_output'), 'deltas (include=gradients)'), k, y, x);
  const shared = readersOf(trace.layers, source.name).length > 1;
  const backward = panel('Backward: each input gets back the slice of the delta it gave',
    { testid: 'detail-concat-backward' },
    el('p', { class: 'conv-total' },
      `δ[${c}, ${y}, ${x}] = `, num(delta, { testid: 'detail-concat-delta', label: 'delta of the output' }),
      ` → ${source.name}'s channel ${k} ; the trace's δ there = `,
      num(theirs, { testid: 'detail-concat-grad', label: `delta of ${source.name}` }), ' ',
      shared ? el('span', { class: 'match shared', text: `${source.name} also feeds another layer: its delta sums every reader's share` })
        : matches(delta, theirs)));
  return el('div', { class: 'detail-views' }, backward, forward);
}
