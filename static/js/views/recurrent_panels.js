// The /recurrent page's worked numbers: one LSTM step's arithmetic, the cell gradient's two
// routes (through the forget gate's product and through h), and the Bi-LSTM concatenation.
// Every value the page recomputes carries the shared "✓ matches / ✗ differs" badge.

import { el, matches, num } from './detail_parts.js';
import { cellGradient, lstmStep, nextStep, previousStep } from '../recurrent_math.js';

/** Value (t, u) of a decoded (T, H) tensor. */
export function valueAt(tensor, t, u) {
  return tensor.data[t * tensor.shape[1] + u];
}

function line(...children) {
  return el('p', { class: 'rnn-eq' }, ...children);
}

/** LSTM: c_t = f⊙c_{t−1} + i⊙g and h_t = o⊙tanh(c_t) for one unit and step, with its numbers.
 * RNN: its state and what the unit has no gates for. */
export function renderStepArithmetic(host, direction, { t, u, steps, reverse, kind }) {
  const sub = (name) => `${name}${reverse ? '←' : ''}`;
  const title = el('h3', { text: `Unit ${u}, step t = ${t} (row ${t})` });
  if (kind !== 'lstm') {
    const h = valueAt(direction.h, t, u);
    host.replaceChildren(title,
      line('h_t = tanh(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh) = ', num(h, { testid: 'rnn-h' })),
      el('p', { class: 'hint', text: 'A plain RNN has no gates and no cell state: the whole past '
        + 'lives in h, squashed by tanh at every step.' }));
    return;
  }
  const p = previousStep(t, steps, reverse);
  const gate = (g) => valueAt(direction.gates[g], t, u);
  const [i, f, g, o] = ['i', 'f', 'g', 'o'].map(gate);
  const cPrev = p === null ? direction.c0.data[u] : valueAt(direction.c, p, u);
  const c = valueAt(direction.c, t, u);
  const h = valueAt(direction.h, t, u);
  const step = lstmStep({ f, cPrev, i, g, o });
  const prevLabel = p === null ? 'c_0' : `c_${p}`;
  host.replaceChildren(
    title,
    line(`gates at t: i = `, num(i), `, f = `, num(f), `, g = `, num(g), `, o = `, num(o),
      `; previous cell ${sub(prevLabel)} = `, num(cPrev)),
    line('c_t = f ⊙ c_{t−1} + i ⊙ g = ', num(f), ' × ', num(cPrev), ' + ', num(i), ' × ', num(g),
      ' = ', num(step.keep), ' + ', num(step.write), ' = ', num(step.c, { testid: 'rnn-c-computed' }),
      '; the trace says ', num(c), ' ',
      matches(step.c, c, { magnitude: Math.abs(step.keep) + Math.abs(step.write) })),
    line('h_t = o ⊙ tanh(c_t) = ', num(o), ' × tanh(', num(c), ') = ', num(o), ' × ',
      num(Math.tanh(c)), ' = ', num(o * Math.tanh(c), { testid: 'rnn-h-computed' }),
      '; the trace says ', num(h), ' ', matches(o * Math.tanh(c), h)),
    el('p', { class: 'hint', text: `f keeps ${(100 * f).toFixed(1)}% of the old cell; i lets in `
      + `${(100 * i).toFixed(1)}% of the candidate g; o shows ${(100 * o).toFixed(1)}% of tanh(c).` }),
  );
}

/**
 * How dL/dc_t is made: f at the next step read times dL/dc there (the forget gate's
 * product), plus the path through h_t. Checked against the trace's dL/dc_t.
 */
export function renderGradientRoute(host, direction, { t, u, steps, reverse, kind }) {
  const gradH = valueAt(direction.grad_h, t, u);
  const title = el('h3', { text: `Unit ${u}, step t = ${t}: where the gradient comes from` });
  if (kind !== 'lstm') {
    host.replaceChildren(title,
      line('dL/dh_t = ', num(gradH, { testid: 'rnn-grad-h' }), ' (from the output at t, and from '
        + 'step t+1 through W_hhᵀ and tanh′, which is at most 1 and often far smaller)'));
    return;
  }
  const n = nextStep(t, steps, reverse);
  const fNext = n === null ? 0 : valueAt(direction.gates.f, n, u);
  const gradCNext = n === null ? 0 : valueAt(direction.grad_c, n, u);
  const o = valueAt(direction.gates.o, t, u);
  const c = valueAt(direction.c, t, u);
  const gradC = valueAt(direction.grad_c, t, u);
  const route = cellGradient({ fNext, gradCNext, gradH, o, c });
  const share = Math.abs(route.throughForget)
    / Math.max(1e-300, Math.abs(route.throughForget) + Math.abs(route.throughH));
  host.replaceChildren(
    title,
    line(n === null ? 'Last step read: nothing comes back through the forget gate. '
      : `through the forget gate: f_${n} ⊙ dL/dc_${n} = `, n === null ? '' : num(fNext),
    n === null ? '' : ' × ', n === null ? '' : num(gradCNext), n === null ? '' : ' = ',
    num(route.throughForget, { testid: 'rnn-through-forget' })),
    line('through h_t: dL/dh_t ⊙ o_t ⊙ (1 − tanh²(c_t)) = ', num(gradH), ' × ', num(o), ' × ',
      num(1 - Math.tanh(c) ** 2), ' = ', num(route.throughH)),
    line('dL/dc_t = ', num(route.throughForget), ' + ', num(route.throughH), ' = ',
      num(route.total, { testid: 'rnn-grad-c-computed' }), '; the trace says ', num(gradC), ' ',
      matches(route.total, gradC, {
        magnitude: Math.abs(route.throughForget) + Math.abs(route.throughH), rtol: 1e-4 })),
    el('p', { class: 'hint', text: `${(100 * share).toFixed(1)}% of this unit's cell gradient `
      + 'arrives through the forget gate\'s product: the LSTM\'s path for gradients across many steps.' }),
  );
}

/** The Bi-LSTM's output is [h→_t | h←_t]: check every value of the layer output against the
 * two directions' h. Returns the largest |difference| (0 when the concatenation is exact). */
export function concatenationError(output, forward, reverse) {
  const [steps, width] = output.shape;
  const units = forward.shape[1];
  let worst = 0;
  for (let t = 0; t < steps; t += 1) {
    for (let u = 0; u < width; u += 1) {
      const part = u < units ? valueAt(forward, t, u) : valueAt(reverse, t, u - units);
      worst = Math.max(worst, Math.abs(output.data[t * width + u] - part));
    }
  }
  return worst;
}
