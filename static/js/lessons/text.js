// Pure helpers for the text CNN lesson: which cells a filter's window covers, the winner of
// max-over-time pooling, and the scales the page colours by. No DOM.

/** The label of one token: the character itself, or "·" for padding (null). */
export function tokenLabel(token) {
  return token === null || token === undefined ? '·' : token;
}

/** Max-over-time's winner: the index of the first largest value (ties go to the first). */
export function firstArgmax(values) {
  let best = -Infinity;
  let at = -1;
  values.forEach((v, i) => {
    if (v > best) { best = v; at = i; }
  });
  return at;
}

/** The token positions [start, end) a window of `width` starting at `position` covers. */
export function windowCells(position, width) {
  return Array.from({ length: width }, (_, i) => position + i);
}

/** The largest value of every filter's response (0 when all are 0): one scale for all rows,
 * so a strong row looks strong next to a weak one. */
export function responseScale(filters) {
  let max = 0;
  for (const f of filters) for (const v of f.response) if (v > max) max = v;
  return max;
}

/** v / scale clamped to [0, 1]; 0 when the scale is 0. */
export function fraction(v, scale) {
  if (!(scale > 0)) return 0;
  return Math.min(1, Math.max(0, v / scale));
}

/** Filters grouped by window width, in the response's order: [[width, [filter, ...]], ...]. */
export function byWidth(filters) {
  const groups = new Map();
  for (const f of filters) {
    if (!groups.has(f.width)) groups.set(f.width, []);
    groups.get(f.width).push(f);
  }
  return [...groups.entries()];
}

/** The characters outside the alphabet, in order of first appearance (for a quick hint
 * before the server's own check). */
export function foreignCharacters(text, alphabet) {
  const seen = [];
  for (const ch of text) if (!alphabet.includes(ch) && !seen.includes(ch)) seen.push(ch);
  return seen;
}

/** t in [0, 1] -> a CSS colour from white (0) to `to` ([r, g, b]) at 1. */
export function ramp(t, to) {
  const c = Math.min(1, Math.max(0, Number(t) || 0));
  const [r, g, b] = to.map((v) => Math.round(255 + (v - 255) * c));
  return `rgb(${r}, ${g}, ${b})`;
}
