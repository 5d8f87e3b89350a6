// Pure index maths for windowed layers (convolution and pooling), receptive fields, pooling
// winners and flattening. No DOM: the views and the overview call these, node --test checks them.
//
// Conventions follow the core (app/nn) and PyTorch: convolution is cross-correlation; output
// unit (y, x) reads input row  y*stride - padding + ky*dilation  for kernel tap ky (same for
// columns); pool_indices are flat h*W + w in the unpadded input plane; a receptive field's
// `start` is the centre of unit 0 in input coordinates.

/** An int or an [h, w] pair -> an [h, w] pair. */
export function pair(value, fallback = 1) {
  if (value === undefined || value === null) return [fallback, fallback];
  if (Array.isArray(value)) return [Number(value[0]), Number(value[1])];
  return [Number(value), Number(value)];
}

/** A layer config -> {kernel, stride, padding, dilation} as [h, w] pairs (pooling: dilation 1,
 * stride defaults to the kernel like PyTorch). */
export function windowGeometry(config) {
  const kernel = pair(config.kernel_size);
  return {
    kernel,
    stride: config.stride === undefined || config.stride === null ? kernel : pair(config.stride),
    padding: pair(config.padding, 0),
    dilation: pair(config.dilation, 1),
  };
}

/** Output length along one axis: floor((n + 2p - d(k-1) - 1) / s) + 1 (or PyTorch's ceil_mode
 * rule: a last window that would start in the right padding is dropped). */
export function outputSize(n, k, s = 1, p = 0, d = 1, ceilMode = false) {
  const span = n + 2 * p - d * (k - 1) - 1;
  if (span < 0) return 0;
  if (ceilMode) {
    let out = Math.ceil(span / s) + 1;
    if ((out - 1) * s >= n + p) out -= 1;
    return out;
  }
  return Math.floor(span / s) + 1;
}

/**
 * The window of output unit (y, x) in the input plane (inH x inW).
 * Returns {rows: kH, cols: kW, taps: [{ky, kx, iy, ix, padding}]} in row-major tap order;
 * `padding` is true where the tap falls outside the input (zero padding for convolution,
 * -inf / excluded for pooling; also the cells ceil_mode reaches past the edge).
 */
export function windowTaps(config, y, x, inH, inW) {
  const { kernel, stride, padding, dilation } = windowGeometry(config);
  const taps = [];
  for (let ky = 0; ky < kernel[0]; ky++) {
    const iy = y * stride[0] - padding[0] + ky * dilation[0];
    for (let kx = 0; kx < kernel[1]; kx++) {
      const ix = x * stride[1] - padding[1] + kx * dilation[1];
      const inside = iy >= 0 && iy < inH && ix >= 0 && ix < inW;
      taps.push({ ky, kx, iy, ix, padding: !inside });
    }
  }
  return { rows: kernel[0], cols: kernel[1], taps };
}

/** The inclusive bounds {y0, x0, y1, x1} of a window's taps (padding taps included). */
export function tapsBounds(taps) {
  return taps.reduce((b, t) => ({
    y0: Math.min(b.y0, t.iy), x0: Math.min(b.x0, t.ix), y1: Math.max(b.y1, t.iy), x1: Math.max(b.x1, t.ix),
  }), { y0: Infinity, x0: Infinity, y1: -Infinity, x1: -Infinity });
}

/** Along one axis: the (output index o, tap k) pairs with o*s - p + k*d == i, 0 <= o < outN. */
function touchingAlongAxis(i, k, s, p, d, outN) {
  const hits = [];
  for (let tap = 0; tap < k; tap++) {
    const numerator = i + p - tap * d;
    if (numerator < 0 || numerator % s !== 0) continue;
    const o = numerator / s;
    if (o < outN) hits.push([o, tap]);
  }
  return hits;
}

/**
 * The inverse of windowTaps (the convolution's backward rule): every output unit (oy, ox) and kernel
 * tap (ky, kx) whose window reads input pixel (iy, ix). The pixel's delta is the sum over these
 * of delta_out[oy, ox] * weight[ky, kx] (summed over output channels for a convolution).
 * Returns [{oy, ox, ky, kx}] sorted by (oy, ox).
 */
export function unitsTouching(config, iy, ix, outH, outW) {
  const { kernel, stride, padding, dilation } = windowGeometry(config);
  const rows = touchingAlongAxis(iy, kernel[0], stride[0], padding[0], dilation[0], outH);
  const cols = touchingAlongAxis(ix, kernel[1], stride[1], padding[1], dilation[1], outW);
  const result = [];
  for (const [oy, ky] of rows) {
    for (const [ox, kx] of cols) result.push({ oy, ox, ky, kx });
  }
  result.sort((a, b) => a.oy - b.oy || a.ox - b.ox);
  return result;
}

/**
 * A unit's receptive-field box in the input from a layer's receptive_field {size, jump, start}
 * (each an [h, w] pair or a number; start = centre of unit 0). Inclusive bounds, unclipped:
 * {y0, x0, y1, x1}. With (inH, inW) also `clipped`, the part inside the input.
 */
export function receptiveBox(field, y, x, inH, inW) {
  const size = pair(field.size);
  const jump = pair(field.jump);
  const start = pair(field.start, 0);
  const cy = start[0] + y * jump[0];
  const cx = start[1] + x * jump[1];
  const box = {
    y0: cy - (size[0] - 1) / 2,
    x0: cx - (size[1] - 1) / 2,
    y1: cy + (size[0] - 1) / 2,
    x1: cx + (size[1] - 1) / 2,
  };
  if (inH !== undefined && inW !== undefined) box.clipped = clipBox(box, inH, inW);
  return box;
}

/** A box clipped to an h x w plane (null when it lies wholly outside). */
export function clipBox(box, h, w) {
  const clipped = {
    y0: Math.max(0, Math.ceil(box.y0)),
    x0: Math.max(0, Math.ceil(box.x0)),
    y1: Math.min(h - 1, Math.floor(box.y1)),
    x1: Math.min(w - 1, Math.floor(box.x1)),
  };
  return clipped.y0 > clipped.y1 || clipped.x0 > clipped.x1 ? null : clipped;
}

/**
 * The units of a layer's h x w plane (with receptive_field `field`) that feed a deeper unit
 * whose input box is `box`: the units whose own fields lie inside that box. For a chain of
 * windowed layers this is exactly the deeper unit's window composed down to this layer, so it
 * draws the selected unit's field on every layer in between. Inclusive, clipped; null if none.
 */
export function unitsInField(box, field, h, w) {
  const size = pair(field.size);
  const jump = pair(field.jump);
  const start = pair(field.start, 0);
  const eps = 1e-9;
  const lo = (edge, axis) => Math.ceil((edge + (size[axis] - 1) / 2 - start[axis]) / jump[axis] - eps);
  const hi = (edge, axis) => Math.floor((edge - (size[axis] - 1) / 2 - start[axis]) / jump[axis] + eps);
  return clipBox({ y0: lo(box.y0, 0), x0: lo(box.x0, 1), y1: hi(box.y1, 0), x1: hi(box.x1, 1) }, h, w);
}

/** A pool index (flat h*W + w in the input plane) -> [row, col]. */
export function decodePoolIndex(index, inW) {
  const i = Number(index);
  return [Math.floor(i / inW), i % inW];
}

/** Flatten's mapping: (c, h, w) in a (C, H, W) tensor -> the flat index c*H*W + h*W + w. */
export function flatIndex(c, h, w, shape) {
  const [, H, W] = shape;
  return (c * H + h) * W + w;
}

/** The inverse of flatIndex: a flat index -> [c, h, w] for a (C, H, W) shape. */
export function unflattenIndex(index, shape) {
  const [, H, W] = shape;
  const c = Math.floor(index / (H * W));
  const rest = index - c * H * W;
  return [c, Math.floor(rest / W), rest % W];
}
