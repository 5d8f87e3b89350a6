// Add detail (a residual connection): forward y = a + b element by element; backward the
// incoming delta is copied unchanged to both inputs. Where an input also feeds another layer
// (the block's input feeds its first conv and the skip), its delta is the sum of both
// paths: the fan-out panel shows that sum with numbers.

import { inputsOf, nodeTensor, readersOf } from '../graph.js';
import { magnitudeOf } from '../numbers.js';
import { at, el, heatmapCanvas, matches, need, note, num, panel, sum } from './detail_parts.js';
import { showFanout } from './fanout.js';

function valueAt(tensor, [c, y, x]) {
  return tensor.shape.length === 3 ? at(tensor, c, y, x) : at(tensor, c);
}

export function showAdd(ctx) {
  const { trace, layerIndex } = ctx;
  const layer = trace.layers[layerIndex];
  const unit = [ctx.channel, ctx.y ?? 0, ctx.x ?? 0];
  const names = inputsOf(trace.layers, layerIndex);
  const where = layer.output.shape.length === 3 ? `[${unit.join(', ')}]` : `[${unit[0]}]`;
  const previous = layerIndex === 0 ? 'input' : trace.layers[layerIndex - 1].name;
  const role = (name) => (name === previous ? 'the path drawn just before' : 'the skip connection');
  const inputs = names.map((name) => need(nodeTensor(trace, name, 'output'), 'activations (include=activations)'));
  const terms = inputs.map((t) => valueAt(t, unit));
  const total = sum(terms);
  const reported = valueAt(need(layer.output, 'activations (include=activations)'), unit);
  const figures = layer.output.shape.length === 3 ? names.map((name, i) => {
    const [, h] = inputs[i].shape;
    const canvas = heatmapCanvas(inputs[i], unit[0], {
      cell: Math.max(3, Math.floor(84 / h)),
      marks: [{ y: unit[1], x: unit[2], colour: '#000' }], label: `${name}, channel ${unit[0]}`,
    });
    return el('figure', { title: role(name) }, canvas, el('figcaption', { text: name }));
  }) : [];
  const forward = panel(`Forward: ${layer.name} = ${names.join(' + ')}, element by element`, { testid: 'detail-add' },
    el('div', { class: 'conv-row' }, ...figures),
    el('ul', { class: 'fanout-shares' }, ...names.map((name, i) => el('li', {},
      `${name}${where} (${role(name)}) = `, num(terms[i], { testid: `detail-add-in-${i}`, label: name })))),
    el('p', { class: 'conv-total' }, `${layer.name}${where} = `, terms.flatMap((t, i) => [i ? ' + ' : '', num(t)]), ' = ',
      num(total, { testid: 'detail-add-sum', cls: 'total', label: 'sum of the inputs' }),
      ' ; the trace says ', num(reported, { testid: 'detail-add-out', cls: 'total', label: 'output' }),
      ' ', matches(total, reported, { magnitude: magnitudeOf(terms) })));
  if (ctx.mode !== 'backward') return forward;

  const delta = valueAt(need(layer.grad_output, 'deltas (include=gradients)'), unit);
  const copies = names.map((name, i) => {
    const grad = need(nodeTensor(trace, name, 'grad_output'), 'deltas (include=gradients)');
    const theirs = valueAt(grad, unit);
    const shared = readersOf(trace.layers, name).length > 1;
    return el('li', { dataset: { input: name } },
      `to ${name}: `, num(delta, { testid: `detail-add-copy-${i}`, label: 'the copied delta' }),
      ` ; the trace's δ of ${name} = `, num(theirs, { testid: `detail-add-grad-${i}`, label: `delta of ${name}` }), ' ',
      shared ? el('span', { class: 'match shared', text: `${name} also feeds another layer: its delta is the sum below` })
        : matches(delta, theirs));
  });
  const fanouts = names.map((name) => showFanout(trace, name, unit)).filter(Boolean);
  const backward = panel('Backward: the delta is copied to every input', { testid: 'detail-add-backward' },
    el('p', { class: 'conv-total' }, `δ of ${layer.name}${where} = `,
      num(delta, { testid: 'detail-add-delta', cls: 'total', label: 'delta of the output' }),
      ': the derivative of a + b is 1 for each input, so each gets δ unchanged.'),
    el('ul', { class: 'fanout-shares' }, ...copies),
    fanouts.length ? null : note('No input of this Add feeds another layer here; select the node a '
      + 'block starts from to see its two paths summed.'),
    ...fanouts);
  return el('div', { class: 'detail-views' }, backward, forward);
}
