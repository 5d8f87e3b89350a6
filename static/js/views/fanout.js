// The fan-out sum: where one node's output feeds several layers (the input of a residual
// block feeds its first conv and the skip), backward sums their shares, so the node's delta
// is the sum of both paths. Each reader's share at the unit is recomputed here from the
// trace's numbers by that reader's own backward rule, and their sum is checked against the
// trace's delta of the node.

import { unitsTouching } from '../geometry.js';
import { indexByName, inputsOf, nodeTensor, readersOf } from '../graph.js';
import { magnitudeOf } from '../numbers.js';
import { at, el, matches, note, num, panel, sum } from './detail_parts.js';

/** BatchNorm's inference-mode scale γ / sqrt(running_var + eps) of channel c, or null. */
export function bnScale(layer, c) {
  const affine = layer.config.affine !== false;
  const buffers = layer.buffers;
  if (!buffers || !buffers.running_var || (affine && !(layer.params && layer.params.weight))) return null;
  const gamma = affine ? at(layer.params.weight, c) : 1;
  return gamma / Math.sqrt(at(buffers.running_var, c) + Number(layer.config.eps ?? 1e-5));
}

/**
 * Reader layer r's share of the delta of its input `name` at (c, y, x) (a dense index c
 * when the node is dense): {value, terms (for the magnitude), rule} or {value: null, rule}
 * when the trace lacks what the rule needs.
 */
export function shareOf(trace, r, name, [c, y, x]) {
  const layer = trace.layers[r];
  const delta = layer.grad_output;
  if (!delta) return { value: null, rule: 'needs the deltas' };
  const spatial = delta.shape.length === 3;
  const here = () => (spatial ? at(delta, c, y, x) : at(delta, c));
  const source = nodeTensor(trace, name, 'output');
  switch (layer.kind) {
    case 'add': case 'identity': case 'dropout':
      return { value: here(), terms: [here()], rule: 'δ copied' };
    case 'concat': {
      let offset = 0;
      for (const input of inputsOf(trace.layers, r)) {
        if (input === name) break;
        offset += nodeTensor(trace, input, 'output').shape[0];
      }
      const v = at(delta, c + offset, y, x);
      return { value: v, terms: [v], rule: `δ of channel ${c + offset}` };
    }
    case 'relu': {
      const v = at(source, c, y, x) > 0 ? here() : 0;
      return { value: v, terms: [v], rule: 'δ × (x > 0)' };
    }
    case 'batchnorm2d': {
      const scale = bnScale(layer, c);
      if (scale === null) return { value: null, rule: 'needs params (include=params)' };
      return { value: here() * scale, terms: [here() * scale], rule: 'δ × γ/√(var+ε)' };
    }
    case 'conv2d': {
      const weight = layer.params && layer.params.weight;
      if (!weight) return { value: null, rule: 'needs the weights (include=params)' };
      const [cOut, outH, outW] = delta.shape;
      const groups = Number(layer.config.groups ?? 1);
      const perGroup = source.shape[0] / groups;
      const g = Math.floor(c / perGroup);
      const outPerGroup = cOut / groups;
      const terms = [];
      for (const u of unitsTouching(layer.config, y, x, outH, outW)) {
        for (let oc = g * outPerGroup; oc < (g + 1) * outPerGroup; oc++) {
          terms.push(at(delta, oc, u.oy, u.ox) * at(weight, oc, c - g * perGroup, u.ky, u.kx));
        }
      }
      return { value: sum(terms), terms, rule: `Σ δ × weight (${terms.length} terms)` };
    }
    default:
      return { value: null, rule: `a ${layer.kind} share is not recomputed here` };
  }
}

/**
 * The fan-out panel of node `name` at unit (c, y, x), or null when one layer (or none)
 * reads it: each reader's share, their sum, and the trace's delta of the node.
 */
export function showFanout(trace, name, unit) {
  const readers = readersOf(trace.layers, name);
  if (readers.length < 2) return null;
  const own = nodeTensor(trace, name, 'grad_output');
  if (!own) return null;
  const [c, y, x] = unit;
  const spatial = own.shape.length === 3;
  const shares = readers.map((r) => ({ r, ...shareOf(trace, r, name, unit) }));
  const known = shares.every((s) => s.value !== null);
  const total = known ? sum(shares.map((s) => s.value)) : null;
  const reported = spatial ? at(own, c, y, x) : at(own, c);
  const where = spatial ? `[${c}, ${y}, ${x}]` : `[${c}]`;
  const index = indexByName(trace.layers).get(name);
  return panel(`Fan-out: ${name} feeds ${readers.length} layers, so its delta is their sum`,
    { testid: 'detail-fanout', cls: 'fanout' },
    note(`${name}${index === -1 ? ' (the network input)' : ''} is read by `,
      readers.map((r) => trace.layers[r].name).join(' and '),
      '. Backward gives each reader’s share of its delta by that reader’s rule; ',
      'where paths meet, the shares add up.'),
    el('ul', { class: 'fanout-shares' }, ...shares.map((s) => el('li', { dataset: { reader: trace.layers[s.r].name } },
      `from ${trace.layers[s.r].name} (${s.rule}): `,
      s.value === null ? el('span', { class: 'muted', text: 'not shown' })
        : num(s.value, { testid: `detail-fanout-share-${trace.layers[s.r].name}`, label: `share of ${trace.layers[s.r].name}` })))),
    el('p', { class: 'conv-total' },
      `δ of ${name}${where} = `,
      known ? shares.flatMap((s, i) => [i ? ' + ' : '', num(s.value)]) : 'the sum of the shares',
      known ? [' = ', num(total, { testid: 'detail-fanout-sum', cls: 'total', label: 'sum of the shares' })] : '',
      ' ; the trace says ', num(reported, { testid: 'detail-fanout-trace', cls: 'total', label: `delta of ${name}` }),
      ' ', known ? matches(total, reported, { magnitude: magnitudeOf(shares.flatMap((s) => s.terms)) }) : ''));
}
