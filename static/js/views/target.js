// The loss target: which class's cross-entropy the backward pass differentiates. "auto" is the
// predicted class forward, and the runner-up backward: for a confident prediction the loss of
// the predicted class is ~1e-7 and so is every delta (noise), while the runner-up's deltas show
// what would have to change for the network to answer it instead ("why not the runner-up?").

import { crossEntropyFromLogits, fmt, percent } from '../numbers.js';

/** The index of the second-largest probability (ties: the lower index), or 0 for one class. */
export function runnerUp(probabilities) {
  const p = Array.from(probabilities, Number);
  if (p.length < 2) return 0;
  let first = 0;
  for (let k = 1; k < p.length; k++) if (p[k] > p[first]) first = k;
  let second = first === 0 ? 1 : 0;
  for (let k = 0; k < p.length; k++) if (k !== first && p[k] > p[second]) second = k;
  return second;
}

/** The class "auto" means in a mode: the prediction forward, the runner-up backward. */
export function autoTarget(trace, mode) {
  return mode === 'backward' ? runnerUp(trace.probabilities) : trace.prediction;
}

/** One sentence saying which target the page shows and why. chosen: a class index or null
 * (auto). */
export function targetText(trace, mode, chosen) {
  const name = (k) => String(trace.classes[k]);
  const p = (k) => percent(trace.probabilities[k]);
  const t = trace.target;
  if (chosen !== null && chosen !== undefined) {
    return `Loss target: class ${name(t)} (p = ${p(t)}), as chosen.`;
  }
  if (mode !== 'backward') return `Loss target: the predicted class ${name(t)} (p = ${p(t)}).`;
  const k = trace.prediction;
  const own = crossEntropyFromLogits(trace.logits, k).loss;
  return `Backward shows the deltas of the loss for class ${name(t)}, the runner-up `
    + `(p = ${p(t)}): why is the answer not ${name(t)}? For the predicted class ${name(k)} `
    + `(p = ${p(k)}) the loss is only ${fmt(own)}, and every delta is about as small. `
    + 'Choose another loss target to compare.';
}

/** Fill the target <select> (auto first, then every class) and the note beside it. */
export function renderTargetControls(select, noteEl, trace, mode, chosen) {
  const classes = trace ? trace.classes : [];
  let auto = 'auto';
  if (trace) {
    const k = autoTarget(trace, mode);
    auto = mode === 'backward' ? `auto: runner-up (${classes[k]})` : `auto: predicted (${classes[k]})`;
  }
  const options = [['', auto], ...classes.map((name, k) => [String(k), `class ${name}`])];
  select.replaceChildren(...options.map(([value, text]) => new Option(text, value)));
  select.value = chosen === null || chosen === undefined ? '' : String(chosen);
  noteEl.textContent = trace ? targetText(trace, mode, chosen) : '';
}
