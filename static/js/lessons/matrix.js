// Pure helpers for the conv-as-a-matrix lesson: tap colours, index arithmetic, number format.
// No DOM.

/** A distinct pale colour per kernel weight (tap) `index` of `count`, as 'hsl(...)'; index -1
 * (an entry that is 0 whatever the kernel) -> null. */
export function tapColour(index, count) {
  if (!(index >= 0) || !(count > 0)) return null;
  const hue = Math.round((index * 360) / count + 200) % 360;
  const light = count > 12 && index % 2 === 1 ? 68 : 78;  // alternate lightness when many
  return `hsl(${hue} 70% ${light}%)`;
}

/** Flat weight index -> [o, c, a, b] for a weight of shape (C_out, C_in, kH, kW). */
export function tapPosition(index, [, cIn, kh, kw]) {
  const b = index % kw;
  const a = Math.floor(index / kw) % kh;
  const c = Math.floor(index / (kw * kh)) % cIn;
  const o = Math.floor(index / (kw * kh * cIn));
  return [o, c, a, b];
}

/** Flat index into a (C, H, W) volume -> [c, i, j]. */
export function volumePosition(index, [, h, w]) {
  return [Math.floor(index / (h * w)), Math.floor(index / w) % h, index % w];
}

/** Cell size in px so that `count` cells fit `width`, clamped to [lo, hi]. */
export function cellSize(width, count, lo = 2, hi = 28) {
  return Math.max(lo, Math.min(hi, Math.floor(width / Math.max(1, count))));
}

/** A number as short text: integers as they are, others to 3 decimals (no -0). */
export function formatNumber(v) {
  if (!Number.isFinite(v)) return String(v);
  const near = Math.round(v);
  if (Math.abs(v - near) < 5e-10) return String(near === 0 ? 0 : near);  // no -0, no 2.000
  const text = v.toFixed(3).replace(/0+$/, '').replace(/\.$/, '');
  return text === '-0' ? '0' : text;
}

/** A whole count with thousands separators, and as a power of ten when it is one (10^9 ->
 * '1,000,000,000 (10⁹)'). */
export function formatCount(v) {
  const text = Math.round(v).toLocaleString('en-US');
  const power = Math.round(Math.log10(v));
  if (v >= 1000 && 10 ** power === v) {
    const sup = String(power).replace(/\d/g, (c) => '⁰¹²³⁴⁵⁶⁷⁸⁹'[Number(c)]);
    return `${text} (10${sup})`;
  }
  return text;
}
