// Colour maps and heatmap drawing. Both scales survive colour-blindness: a viridis-like
// sequential map for non-negative values and ColorBrewer's RdBu diverging map (blue < 0 <
// red, zero a neutral near-white) for signed values.

import { fmt } from '../numbers.js';

/** The UI's one number formatter (re-exported for the modules that draw numbers). */
export { fmt };

// Matplotlib's viridis sampled at t = 0, 1/8, ..., 1.
const VIRIDIS = [
  [68, 1, 84], [72, 40, 120], [62, 73, 137], [49, 104, 142], [38, 130, 142],
  [31, 158, 137], [53, 183, 121], [110, 206, 88], [253, 231, 37],
];
// ColorBrewer RdBu (7 classes), from -1 (blue) through 0 (neutral) to +1 (red).
const RDBU = [
  [33, 102, 172], [103, 169, 207], [209, 229, 240], [247, 247, 247],
  [253, 219, 199], [239, 138, 98], [178, 24, 43],
];
/** The colour of a value that is not a number (e.g. an unused cell of a dense strip). */
export const MISSING = [160, 160, 160];
export const NEUTRAL = RDBU[3];

function interpolate(stops, t) {
  const clamped = Math.min(1, Math.max(0, t));
  const position = clamped * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(position));
  const f = position - i;
  const a = stops[i];
  const b = stops[i + 1];
  return [0, 1, 2].map((k) => Math.round(a[k] + (b[k] - a[k]) * f));
}

/** t in [0, 1] (clamped) -> viridis-like [r, g, b]. */
export function sequential(t) {
  if (Number.isNaN(t)) return [...MISSING];
  return interpolate(VIRIDIS, t);
}

/** v scaled by maxAbs -> blue (negative), neutral (zero), red (positive) [r, g, b]. */
export function diverging(v, maxAbs) {
  if (Number.isNaN(v)) return [...MISSING];
  if (!(maxAbs > 0)) return [...NEUTRAL];
  return interpolate(RDBU, 0.5 + v / (2 * maxAbs));
}

/** {min, max} of data[start:end], ignoring NaN; {0, 0} when there is nothing. */
export function rangeOf(data, start = 0, end = data.length) {
  let min = Infinity;
  let max = -Infinity;
  for (let i = start; i < end; i += 1) {
    const v = data[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return min <= max ? { min, max } : { min: 0, max: 0 };
}

/** The union of several {min, max} ranges. */
export function unionRange(ranges) {
  let min = Infinity;
  let max = -Infinity;
  for (const r of ranges) {
    if (r.min < min) min = r.min;
    if (r.max > max) max = r.max;
  }
  return min <= max ? { min, max } : { min: 0, max: 0 };
}

/** The colour of one value under a heatmap scale {signed, min, max}. */
export function colourOf(v, { signed, min, max }) {
  if (signed) return diverging(v, Math.max(Math.abs(min), Math.abs(max)));
  return sequential(max > min ? (v - min) / (max - min) : 0);
}

/**
 * Paint an (h, w) row-major plane data[offset : offset + h*w] on canvas, one canvas pixel per
 * value (CSS scales it up with image-rendering: pixelated). signed: diverging about zero over
 * max(|min|, |max|); otherwise sequential over [min, max]. NaN cells are drawn grey.
 */
export function drawHeatmap(canvas, data, h, w, { signed = false, min, max, offset = 0 } = {}) {
  if (min === undefined || max === undefined) ({ min, max } = rangeOf(data, offset, offset + h * w));
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  const context = canvas.getContext('2d');
  const image = context.createImageData(w, h);
  const pixels = image.data;
  const scale = { signed, min, max };
  for (let i = 0; i < h * w; i += 1) {
    const [r, g, b] = colourOf(data[offset + i], scale);
    pixels[4 * i] = r;
    pixels[4 * i + 1] = g;
    pixels[4 * i + 2] = b;
    pixels[4 * i + 3] = 255;
  }
  context.putImageData(image, 0, 0);
}

function numberSpan(value, className) {
  const span = document.createElement('span');
  span.className = className;
  span.textContent = fmt(value);
  span.title = String(value);
  return span;
}

/**
 * Fill `el` with a labelled legend: a vertical colour ramp (high at the top) with its end values
 * (and zero, for a signed scale) beside it. Signed ramps run symmetric over [-M, M],
 * M = max(|min|, |max|); the data's actual range is in the title and data-min / data-max.
 * Every number carries its exact value as a title.
 */
export function drawLegend(el, { min, max, signed = false, label = '' }) {
  el.replaceChildren();
  el.classList.add('legend');
  if (label) {
    const caption = document.createElement('span');
    caption.className = 'legend-label';
    caption.textContent = label;
    el.append(caption);
  }
  const steps = 64;
  const ramp = document.createElement('canvas');
  ramp.className = 'legend-ramp';
  const bound = Math.max(Math.abs(min), Math.abs(max));
  const low = signed ? -bound : min;
  const high = signed ? bound : max;
  const values = Float64Array.from({ length: steps }, (_, i) => high - ((high - low) * i) / (steps - 1));
  drawHeatmap(ramp, values, steps, 1, { signed, min: low, max: high });
  const ticks = document.createElement('span');
  ticks.className = 'legend-ticks';
  ticks.append(numberSpan(high, 'legend-max'));
  if (signed) ticks.append(numberSpan(0, 'legend-zero'));
  ticks.append(numberSpan(low, 'legend-min'));
  const scale = document.createElement('span');
  scale.className = 'legend-scale';
  scale.append(ramp, ticks);
  el.append(scale);
  el.title = `${label ? `${label}: ` : ''}values from ${min} to ${max}`;
  el.dataset.min = String(min);
  el.dataset.max = String(max);
}
