// Softmax and cross-entropy: logits, exp shifted by the max, normalisation,
// probabilities beside the trace's, -log p(target) = the loss, dL/dlogits = p - y beside the
// last layer's delta, and the information measures H(y, p) = H(y) + KL(y || p).

import { crossEntropyFromLogits, lossTolerance } from '../numbers.js';
import { el, matches, note, num, numbers, panel, sum } from './detail_parts.js';

// A table row; `columnClass(k)` marks the target's and the chosen class's columns.
function row(label, values, { testid, titles, columnClass = () => '' } = {}) {
  return el('tr', { testid },
    el('th', { scope: 'row', text: label }),
    ...values.map((v, k) => el('td', { class: columnClass(k) || undefined }, v instanceof Node ? v
      : num(v, { label: titles ? titles(k) : undefined }))));
}

export function showSoftmax(ctx) {
  const { trace } = ctx;
  const classes = trace.classes || ctx.classes || [];
  const logits = numbers(trace.logits);
  const reportedP = numbers(trace.probabilities);
  const target = Number(trace.target ?? ctx.target);
  const k = logits.length;
  // Opened from a class (the unit just past the last layer): that class's column is marked.
  const chosen = ctx.layerIndex >= trace.layers.length ? ctx.channel : null;
  const columnClass = (i) => [i === target ? 'target' : '', i === chosen ? 'chosen' : '']
    .join(' ').trim();
  const names = Array.from({ length: k }, (_, i) => String(classes[i] ?? i));
  // -log p(target) by log-sum-exp in float64, exact even when p(target) ~ 1; the server
  // computes the trace's loss the same way, so the two agree to 1e-9 relative.
  const { loss, logSumExp: logTotal, shifted, exps, total, max: m } = crossEntropyFromLogits(logits, target);
  const p = exps.map((e) => e / total);
  const y = names.map((_, i) => (i === target ? 1 : 0));
  const dlogits = p.map((pi, i) => pi - y[i]);
  const last = trace.layers[trace.layers.length - 1];
  const reportedDelta = last && last.grad_output ? numbers(last.grad_output) : null;
  const pSum = sum(reportedP);

  const probabilityCells = reportedP.map((v, i) => el('span', {}, num(v, {
    testid: `detail-softmax-p-${i}`, label: `p(${names[i]}) from the trace`,
  })));
  const table = el('table', { class: 'softmax-table', testid: 'detail-softmax-table' },
    el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'class' }),
      ...names.map((n, i) => el('th', { scope: 'col', class: columnClass(i) || undefined, text: n })))),
    el('tbody', {},
      row('logit z', logits, { titles: (i) => `z${i}`, columnClass }),
      row(`z − max (${Number(m.toPrecision(4))})`, shifted, { columnClass }),
      row('exp(z − max)', exps, { columnClass }),
      row('p = exp / Σ', p, { titles: (i) => `p${i} computed from the logits`, columnClass }),
      row('p (trace)', probabilityCells, { testid: 'detail-softmax-probs', columnClass }),
      row('y (one-hot target)', y, { columnClass }),
      row('dL/dz = p − y', dlogits, { testid: 'detail-softmax-dlogits', columnClass }),
      reportedDelta ? row(`${last.name} δ (trace)`, reportedDelta, { testid: 'detail-softmax-delta', columnClass }) : null));

  const info = trace.information || {};
  const measures = [
    el('p', { class: 'conv-total' },
      'Σ exp = ', num(total, { label: 'sum of exp(z - max)' }), ' ; Σ p (trace) = ',
      num(pSum, { testid: 'detail-softmax-sum', label: 'sum of the probabilities' }),
      ' ', matches(pSum, 1, { magnitude: 1 })),
    el('p', { class: 'conv-total' },
      `loss = −log p(${names[target]}) = log Σ exp − (z${target} − max) = `, num(logTotal, { label: 'log Σ exp(z − max)' }),
      ' − ', num(shifted[target]), ' = ',
      num(loss, { testid: 'detail-softmax-neglogp', label: '-log p(target)' }),
      ' ; the trace’s loss = ', num(trace.loss, { testid: 'detail-softmax-loss', label: 'loss' }),
      ' ', matches(loss, trace.loss, lossTolerance(shifted[target])),
      el('span', { class: 'muted', text: ' (float64 log-sum-exp on both sides: held to 1e-9 relative)' })),
  ];
  if (info.cross_entropy !== undefined) {
    const hy = info.target_entropy ?? 0;
    measures.push(el('p', { class: 'conv-total', testid: 'detail-softmax-information' },
      'H(y, p) = ', num(info.cross_entropy, { testid: 'detail-softmax-cross-entropy', label: 'cross-entropy' }),
      ' = H(y) ', num(hy, { label: 'H(y)' }), ' + KL(y‖p) ',
      num(info.kl_divergence, { testid: 'detail-softmax-kl', label: 'KL(y || p)' }),
      ' ', matches(loss, info.cross_entropy, lossTolerance(shifted[target])),
      ' (the page’s loss); H(y) + KL = ', num(hy + info.kl_divergence, { label: 'H(y) + KL(y || p)' }),
      ' ', matches(hy + info.kl_divergence, info.cross_entropy, { rtol: 1e-9, atol: lossTolerance(shifted[target]).atol }),
      ' ; entropy of the prediction H(p) = ',
      num(info.entropy, { testid: 'detail-softmax-entropy', label: 'H(p)' })));
  }
  return panel(`Softmax and cross-entropy for target “${names[target]}”`, { testid: 'detail-softmax' },
    note('exp is taken of z − max(z) so that it never overflows; the shift cancels in the ',
      'normalisation. y is one-hot, so H(y) = 0 and the cross-entropy equals KL(y‖p).'),
    el('div', { class: 'table-scroll' }, table), ...measures);
}
