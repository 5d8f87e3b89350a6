// Pure helpers shared by the activation lesson and the activation detail view: each kind's
// formula, f and f' as the core computes them (f' from y = f(x) where the core does, and the
// core's choice at the kinks), and plain words for where a function saturates. No DOM.

const clampTo = (v, lo, hi) => Math.min(hi ?? Infinity, Math.max(lo ?? -Infinity, v));

export const ACTIVATIONS = {
  sign: {
    name: 'sign', formula: 'sign(x) ∈ {−1, 0, 1}', derivative: '0 (undefined at 0)',
    f: (x) => Math.sign(x), df: () => 0,
  },
  sigmoid: {
    name: 'sigmoid', formula: '1 / (1 + e^−x)', derivative: 'y (1 − y)',
    f: (x) => 1 / (1 + Math.exp(-x)), df: (x, y) => y * (1 - y),
  },
  tanh: {
    name: 'tanh', formula: 'tanh(x)', derivative: '1 − y²',
    f: Math.tanh, df: (x, y) => 1 - y * y,
  },
  relu: {
    name: 'ReLU', formula: 'max(0, x)', derivative: '1 if x > 0, else 0',
    f: (x) => Math.max(0, x), df: (x) => (x > 0 ? 1 : 0),
  },
  leakyrelu: {
    name: 'LeakyReLU', formula: 'x if x > 0, else a·x', derivative: '1 if x > 0, else a',
    f: (x, c = {}) => (x > 0 ? x : x * (c.negative_slope ?? 0.01)),
    df: (x, y, c = {}) => (x > 0 ? 1 : (c.negative_slope ?? 0.01)),
  },
  relu6: {
    name: 'ReLU6', formula: 'min(max(0, x), 6)', derivative: '1 if 0 < x < 6, else 0',
    f: (x) => clampTo(x, 0, 6), df: (x) => (x > 0 && x < 6 ? 1 : 0),
  },
  identity: {
    name: 'identity', formula: 'x', derivative: '1',
    f: (x) => x, df: () => 1,
  },
  clamp: {
    name: 'clamp', formula: 'min(max(x, lo), hi)', derivative: '1 if lo ≤ x ≤ hi, else 0',
    f: (x, c = {}) => clampTo(x, c.min_val, c.max_val),
    df: (x, y, c = {}) => ((c.min_val ?? -Infinity) <= x && x <= (c.max_val ?? Infinity) ? 1 : 0),
  },
};

/** The activation's entry for a layer kind, or null for any other kind. */
export function activationOf(kind) {
  return Object.hasOwn(ACTIVATIONS, kind) ? ACTIVATIONS[kind] : null;
}

/** f(x) and f'(x) for a kind with its layer config ({negative_slope} / {min_val, max_val}). */
export function evaluateAt(kind, x, config = {}) {
  const fn = activationOf(kind);
  if (!fn) return null;
  const y = fn.f(x, config);
  return { y, dy: fn.df(x, y, config) };
}

/** A number for text: up to 3 significant digits, no float noise, a real minus sign. */
export function short(v) {
  if (!Number.isFinite(v)) return String(v);
  const text = Math.abs(v) >= 1e-3 || v === 0 ? String(Number(v.toPrecision(3))) : v.toExponential(1);
  return text.replace(/^-/, '−');
}

/** Saturated runs [[a, b], ...] over the plotted range [lo, hi] in words. */
export function saturationText(runs, [lo, hi], threshold = 0.01) {
  const where = `|f′| < ${short(threshold)}`;
  const span = `[${short(lo)}, ${short(hi)}]`;
  if (!runs.length) return `Never saturates in ${span}: ${where} nowhere.`;
  if (runs.length === 1 && runs[0][0] <= lo && runs[0][1] >= hi) {
    return `Saturates everywhere in ${span} (${where}).`;
  }
  const parts = runs.map(([a, b]) => {
    if (a <= lo) return `x ≤ ${short(b)}`;
    if (b >= hi) return `x ≥ ${short(a)}`;
    return a === b ? `x = ${short(a)}` : `${short(a)} ≤ x ≤ ${short(b)}`;
  });
  return `Saturates (${where}) for ${parts.join(' and ')}.`;
}
