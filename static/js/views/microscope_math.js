// Helpers of the attribution and "take one step" panels: request bodies and the POST that
// sends them, the learning-rate slider's log scale, heatmaps brought to the input's grid for
// display, how a predicted loss change compares with the actual one. No DOM; tested with
// node --test.

import { ApiError, decodeTensors } from '../api.js';

/** The fields each attribution method reads (the others are not sent). */
export const METHOD_FIELDS = {
  saliency: [],
  gradient_x_input: [],
  grad_cam: ['layer'],
  guided_backprop: [],
  smoothgrad: ['n_samples', 'sigma', 'seed'],
  integrated_gradients: ['steps', 'baseline'],
  occlusion: ['patch', 'stride', 'baseline'],
};

/** The inspect input ({file} | {pixels} | {sample}) plus fields -> fetch init: multipart for
 * a file (fields as text), JSON otherwise. Null or '' fields are left out. */
export function requestInit(input, fields, signal) {
  const given = Object.entries(fields).filter(([, v]) => v !== null && v !== undefined && v !== '');
  if (input.file) {
    const form = new FormData();
    form.append('image', input.file, input.file.name || 'image');
    for (const [key, value] of given) form.append(key, String(value));
    return { method: 'POST', body: form, signal };
  }
  if (!input.pixels && input.sample === undefined) {
    throw new Error('the input must be {file}, {pixels} or {sample}');
  }
  const payload = input.pixels ? { pixels: input.pixels } : { sample: input.sample };
  for (const [key, value] of given) payload[key] = value;
  return {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(payload), signal,
  };
}

/** The method's own parameters from the panel's values (numbers parsed). */
export function methodFields(method, values) {
  const fields = { method };
  for (const key of METHOD_FIELDS[method] || []) {
    const raw = values[key];
    if (raw === undefined || raw === null || raw === '') continue;
    fields[key] = key === 'layer' ? raw : Number(raw);
  }
  return fields;
}

// The learning-rate slider runs over log10(lr).
export const LR_LOG_MIN = -5;
export const LR_LOG_MAX = 1;

/** Slider position (log10 lr) -> lr, rounded to 3 significant digits. */
export function lrFromSlider(position) {
  const clamped = Math.min(LR_LOG_MAX, Math.max(LR_LOG_MIN, Number(position)));
  return Number((10 ** clamped).toPrecision(3));
}

/** lr -> slider position (log10 lr, clamped to the slider's range). */
export function sliderFromLr(lr) {
  return Math.min(LR_LOG_MAX, Math.max(LR_LOG_MIN, Math.log10(lr)));
}

/** A decoded (C, H, W) or (H, W) heatmap -> {data (H*W), h, w}: channels summed. */
export function channelSum(tensor) {
  const { shape, data } = tensor;
  const [h, w] = shape.slice(-2);
  const channels = shape.length === 3 ? shape[0] : 1;
  const out = new Float64Array(h * w);
  for (let c = 0; c < channels; c += 1) {
    for (let i = 0; i < h * w; i += 1) out[i] += data[c * h * w + i];
  }
  return { data: out, h, w };
}

/** Nearest-neighbour upsampling of an (h, w) plane to (H, W), for display only. */
export function upsampleNearest(data, h, w, H, W) {
  const out = new Float64Array(H * W);
  for (let y = 0; y < H; y += 1) {
    const sy = Math.min(h - 1, Math.floor((y * h) / H));
    for (let x = 0; x < W; x += 1) {
      out[y * W + x] = data[sy * w + Math.min(w - 1, Math.floor((x * w) / W))];
    }
  }
  return out;
}

/** Occlusion's (rows, cols) drops -> an (H, W) map: each input pixel gets the mean drop of the
 * patches that covered it (NaN where none did). */
export function occlusionToInput(drop, tops, lefts, patch, H, W) {
  const sum = new Float64Array(H * W);
  const count = new Uint32Array(H * W);
  tops.forEach((top, r) => {
    lefts.forEach((left, c) => {
      const value = drop[r * lefts.length + c];
      for (let y = top; y < Math.min(H, top + patch[0]); y += 1) {
        for (let x = left; x < Math.min(W, left + patch[1]); x += 1) {
          sum[y * W + x] += value;
          count[y * W + x] += 1;
        }
      }
    });
  });
  return sum.map((s, i) => (count[i] ? s / count[i] : NaN));
}

/** How the first-order prediction of a step compares with what happened:
 * {relativeError, verdict: 'agree' | 'roughly' | 'disagree'}. */
export function predictionAgreement(predicted, actual) {
  const scale = Math.max(Math.abs(actual), Math.abs(predicted));
  const relativeError = scale > 0 ? Math.abs(predicted - actual) / scale : 0;
  const verdict = relativeError < 0.05 ? 'agree' : relativeError < 0.3 ? 'roughly' : 'disagree';
  return { relativeError, verdict };
}

/** Integrated gradients' completeness as one sentence. */
export function completenessText({ sum, f_x: fx, f_baseline: fb, gap }, format = String) {
  const subtrahend = fb < 0 ? `(${format(fb)})` : format(fb);
  return `Σ attributions = ${format(sum)}; f(x) − f(baseline) = ${format(fx)} − ${subtrahend} = `
    + `${format(fx - fb)}; gap ${(100 * gap).toFixed(2)}%`;
}

/** Largest |value| of a plane ignoring NaN (0 when none). */
export function maxAbs(data) {
  let m = 0;
  for (const v of data) if (Math.abs(v) > m) m = Math.abs(v);
  return m;
}

/** POST init (from requestInit) -> the decoded JSON answer; ApiError with the envelope's code
 * and message otherwise. */
export async function postForJson(url, init) {
  const response = await fetch(url, init);
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const error = body?.error;
    throw new ApiError(response.status, error?.code || 'http_error',
      error?.message || `${response.status} ${response.statusText}`, error || {});
  }
  return decodeTensors(body);
}

/** The options a class picker needs: [value, label] with '' = the prediction first. */
export function classOptions(classes) {
  return [['', 'the prediction'], ...classes.map((name, i) => [String(i), `${i}: ${name}`])];
}

/** Refill a <select>-like element ({options, value, replaceChildren}) with the classes,
 * keeping the chosen value when it still exists; makeOption(value, label) builds an option. */
export function syncClasses(select, classes, makeOption) {
  if (!classes) return;
  const wanted = classOptions(classes);
  const now = Array.from(select.options, (o) => [o.value, o.text]);
  if (JSON.stringify(now) === JSON.stringify(wanted)) return;
  const chosen = select.value;
  select.replaceChildren(...wanted.map(([value, label]) => makeOption(value, label)));
  select.value = wanted.some(([value]) => value === chosen) ? chosen : '';
}
