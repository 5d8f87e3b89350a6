// Numbers as the UI shows them and how it checks them: ONE formatter (4 significant digits,
// never rounding a small value to "0") and ONE agreement test for every "✓ matches" badge.
// Pure functions (no DOM): tests/js/numbers.test.mjs runs them with node --test.

/** float32's relative rounding scale: a value recomputed in float64 from float32 operands
 * agrees with the float32 result to about this fraction of the operands' magnitude. */
export const FLOAT32_RTOL = 1e-5;
/** An absolute floor so that two exact zeros (or denormal noise) agree. */
export const TINY = 1e-30;
/** float64's machine epsilon (2^-52). */
export const FLOAT64_EPS = 2 ** -52;

/** A value to 4 significant digits ("0.9823", "-1.5e-7", "1200", "2e-7"); only an exact 0
 * prints as "0". NaN and missing values print as "—". */
export function fmt(v) {
  if (v === null || v === undefined || Number.isNaN(Number(v))) return '—';
  const x = Number(v);
  if (x === 0) return '0';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '-∞';
  const magnitude = Math.abs(x);
  if (magnitude >= 1e-3 && magnitude < 1e6) return String(Number(x.toPrecision(4)));
  const [mantissa, exponent] = x.toExponential(3).split('e');
  return `${Number(mantissa)}e${Number(exponent)}`;
}

/** "98.23%", "0.1%", "2e-5%": p as a percentage through fmt (a tiny p stays visible). */
export function percent(p) {
  return `${fmt(100 * Number(p))}%`;
}

/** Σ|terms|: the magnitude a sum of products is checked against. When the terms cancel,
 * the float32 rounding error scales with this, not with |Σ terms|. */
export function magnitudeOf(terms) {
  let total = 0;
  for (const t of terms) total += Math.abs(Number(t));
  return total;
}

/**
 * Does `computed` (the page's float64 arithmetic) agree with `reported` (the trace)?
 * ok when |computed − reported| <= rtol · max(|computed|, |reported|, magnitude) + atol.
 * `magnitude` is the operands' scale (Σ|terms| of a sum); rtol defaults to float32's.
 * Returns {ok, diff, relative (diff / |reported|, null when reported is 0), tolerance}.
 * A NaN or infinite value agrees only with the same value.
 */
export function agreement(computed, reported, { magnitude = 0, rtol = FLOAT32_RTOL, atol = TINY } = {}) {
  const a = Number(computed);
  const b = Number(reported);
  if (!Number.isFinite(a) || !Number.isFinite(b)) {
    const same = Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
    return { ok: same, diff: same ? 0 : Infinity, relative: same ? 0 : null, tolerance: 0 };
  }
  const diff = Math.abs(a - b);
  const scale = Math.max(Math.abs(a), Math.abs(b), Math.abs(Number(magnitude)) || 0);
  const tolerance = rtol * scale + atol;
  return { ok: diff <= tolerance, diff, relative: b === 0 ? null : diff / Math.abs(b), tolerance };
}

/** The badge's words: "✓ matches", or "✗ differs by 0.1%" (by an absolute amount when the
 * reference is 0, or by "NaN" when a side is not a number). */
export function agreementText(result) {
  if (result.ok) return '✓ matches';
  if (!Number.isFinite(result.diff)) return '✗ differs (not a finite number)';
  if (result.relative === null) return `✗ differs by ${fmt(result.diff)}`;
  return `✗ differs by ${percent(result.relative)}`;
}

/**
 * -log softmax(z)[t] in float64 by log-sum-exp, exact even when p(t) is about 1:
 * with m = max z and s = z − m, loss = log1p(Σ_{j≠argmax} exp(s_j)) − s_t.
 * Returns {loss, logSumExp (log Σ exp(s)), shifted, exps, total (Σ exp(s)), max}.
 */
export function crossEntropyFromLogits(logits, target) {
  const z = Array.from(logits, Number);
  let top = 0;
  for (let j = 1; j < z.length; j++) if (z[j] > z[top]) top = j;
  const max = z[top];
  const shifted = z.map((v) => v - max);
  const exps = shifted.map(Math.exp);
  let rest = 0;
  for (let j = 0; j < z.length; j++) if (j !== top) rest += exps[j];
  const logSumExp = Math.log1p(rest);
  return { loss: logSumExp - shifted[target], logSumExp, shifted, exps, total: 1 + rest, max };
}

/** The tolerance the page's loss is held to against the trace's float64 loss: 1e-9 relative,
 * with a floor of a few float64 roundings of log Σ exp's operands (1 and |z_t − max|). */
export function lossTolerance(shiftedTarget) {
  return { rtol: 1e-9, atol: 4 * FLOAT64_EPS * (1 + Math.abs(shiftedTarget)) };
}
