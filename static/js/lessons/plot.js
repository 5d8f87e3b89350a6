// Pure helpers for the lesson plots: scales, ticks, colours, hit tests. No DOM.

/** A linear map from [d0, d1] to [r0, r1]; .invert maps back. */
export function linearScale([d0, d1], [r0, r1]) {
  const k = (r1 - r0) / (d1 - d0);
  const scale = (v) => r0 + (v - d0) * k;
  scale.invert = (p) => d0 + (p - r0) / k;
  return scale;
}

/** Tick values from lo to hi (inclusive) every `step`, rounded to hide float noise. */
export function ticks(lo, hi, step) {
  const out = [];
  const first = Math.ceil(lo / step - 1e-9);
  for (let i = first; i * step <= hi + 1e-9; i += 1) out.push(Number((i * step).toFixed(10)));
  return out;
}

/** A "nice" tick step (1, 2 or 5 times a power of ten) for about `count` ticks over span. */
export function niceStep(span, count = 5) {
  if (!(span > 0)) return 1;
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = raw / power;
  return (unit < 1.5 ? 1 : unit < 3.5 ? 2 : unit < 7.5 ? 5 : 10) * power;
}

export const CLASS_COLOURS = [[33, 102, 172], [230, 97, 0]];  // class 0 blue, class 1 orange

/** Probability of class 1 -> a pale background colour [r, g, b]: blue at 0, white at 1/2,
 * orange at 1. */
export function probabilityColour(p) {
  const q = Math.min(1, Math.max(0, Number.isFinite(p) ? p : 0.5));
  const [r, g, b] = q < 0.5 ? CLASS_COLOURS[0] : CLASS_COLOURS[1];
  const strength = Math.abs(q - 0.5) * 2 * 0.45;  // at most 45% of the class colour
  return [r, g, b].map((c) => Math.round(255 + (c - 255) * strength));
}

/** Index of the point nearest (x, y) within `radius` (same units), or -1. */
export function nearestPoint(points, x, y, radius) {
  let best = -1;
  let bestD = radius * radius;
  points.forEach((p, i) => {
    const d = (p.x - x) ** 2 + (p.y - y) ** 2;
    if (d <= bestD) { best = i; bestD = d; }
  });
  return best;
}

/** Clamp v into [lo, hi]. */
export function clamp(v, lo, hi) {
  return Math.min(hi, Math.max(lo, v));
}

/** Ten distinguishable colours for digit classes (Tableau 10). */
export const DIGIT_COLOURS = [
  '#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f',
  '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac',
];

/** Min and max of a nested numeric array. */
export function extent(values) {
  let lo = Infinity;
  let hi = -Infinity;
  const walk = (v) => {
    if (Array.isArray(v)) v.forEach(walk);
    else { if (v < lo) lo = v; if (v > hi) hi = v; }
  };
  walk(values);
  return [lo, hi];
}

/** A diverging colour for v in [-limit, limit]: blue negative, white 0, red positive. */
export function divergingColour(v, limit) {
  const t = limit > 0 ? clamp(v / limit, -1, 1) : 0;
  const [r, g, b] = t < 0 ? [33, 102, 172] : [178, 24, 43];
  const s = Math.abs(t);
  return `rgb(${Math.round(255 + (r - 255) * s)}, ${Math.round(255 + (g - 255) * s)}, ${Math.round(255 + (b - 255) * s)})`;
}
