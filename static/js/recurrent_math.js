// The /recurrent page's arithmetic, pure (no DOM): tests/js/recurrent_math.test.mjs runs it
// with node --test. Time-axis tensors are (T, H) row-major: value (t, u) at data[t * H + u].

/** A sigmoid gate (i, f, o) is saturated above this or below 1 − this; tanh's g when |g| is
 * above it. */
export const SATURATION = 0.95;

/** Is value v of gate `gate` ("i", "f", "g", "o") saturated? */
export function isSaturated(v, gate) {
  if (gate === 'g') return Math.abs(v) > SATURATION;
  return v > SATURATION || v < 1 - SATURATION;
}

/** The fraction of a gate's values that are saturated (0 for an empty array). */
export function saturatedFraction(data, gate) {
  if (!data.length) return 0;
  let count = 0;
  for (const v of data) if (isSaturated(v, gate)) count += 1;
  return count / data.length;
}

/** (T, H) row-major -> (H, T) row-major Float64Array: units down, time steps across. */
export function unitsBySteps(data, steps, units) {
  const out = new Float64Array(steps * units);
  for (let t = 0; t < steps; t += 1) {
    for (let u = 0; u < units; u += 1) out[u * steps + t] = data[t * units + u];
  }
  return out;
}

/** The previous step in reading order: t − 1 forward, t + 1 in reverse; null at the start. */
export function previousStep(t, steps, reverse) {
  const p = reverse ? t + 1 : t - 1;
  return p < 0 || p >= steps ? null : p;
}

/** The next step in reading order (the one that reads c_t), or null at the end. */
export function nextStep(t, steps, reverse) {
  return previousStep(t, steps, !reverse);
}

/** One LSTM unit's step in float64: c = f·c_prev + i·g and h = o·tanh(c), with the products. */
export function lstmStep({ f, cPrev, i, g, o }) {
  const keep = f * cPrev;
  const write = i * g;
  const c = keep + write;
  const tanhC = Math.tanh(c);
  return { keep, write, c, tanhC, h: o * tanhC };
}

/**
 * How dL/dc_t reaches the cell at step t: through the forget gate's product from the next
 * step (f_next · dL/dc_next; 0 at the last step read) and through h_t (dL/dh_t · o_t ·
 * (1 − tanh²(c_t))). Returns {throughForget, throughH, total}.
 */
export function cellGradient({ fNext = 0, gradCNext = 0, gradH, o, c }) {
  const throughForget = fNext * gradCNext;
  const tanhC = Math.tanh(c);
  const throughH = gradH * o * (1 - tanhC * tanhC);
  return { throughForget, throughH, total: throughForget + throughH };
}

/** {low, high} whole powers of ten that bracket the positive values (null if none). */
export function logRange(values) {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v > 0 && v < min) min = v;
    if (v > 0 && v > max) max = v;
  }
  if (!(min <= max)) return null;
  const low = Math.floor(Math.log10(min));
  let high = Math.ceil(Math.log10(max));
  if (high === low) high += 1;
  return { low, high };
}

/** Exponents for the axis ticks of a {low, high} range: every power, or every k-th one so
 * that at most `most` ticks are drawn. */
export function logTicks({ low, high }, most = 7) {
  const step = Math.max(1, Math.ceil((high - low) / (most - 1)));
  const ticks = [];
  for (let e = low; e <= high; e += step) ticks.push(e);
  return ticks;
}

/** "10^-3" style label for a power of ten, with a real superscript minus. */
export function powerLabel(exponent) {
  const digits = '⁰¹²³⁴⁵⁶⁷⁸⁹';
  const text = String(Math.abs(exponent)).split('').map((d) => digits[Number(d)]).join('');
  return `10${exponent < 0 ? '⁻' : ''}${text}`;
}

/** How much a per-step norm shrank from the last step back to the first: norms[last] /
 * norms[first] (Infinity when the first is 0). */
export function decay(norms) {
  const first = norms[0];
  const last = norms[norms.length - 1];
  return first > 0 ? last / first : Infinity;
}

/** (T, H) row-major -> a copy with each step t (row) divided by its largest |value| (rows of
 * zeros stay zero), so every step fills the colour scale [-1, 1]. */
export function perStepScaled(data, steps, units) {
  const out = new Float64Array(steps * units);
  for (let t = 0; t < steps; t += 1) {
    let top = 0;
    for (let u = 0; u < units; u += 1) top = Math.max(top, Math.abs(data[t * units + u]));
    if (top > 0) for (let u = 0; u < units; u += 1) out[t * units + u] = data[t * units + u] / top;
  }
  return out;
}
