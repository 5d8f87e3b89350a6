// The lesson endpoints (/api/v1/lessons/...), with the error envelope as ApiError.

import { ApiError } from '../api.js';

const BASE = '/api/v1/lessons';

async function call(url, init = {}) {
  const response = await fetch(url, init);
  let body = null;
  try { body = await response.json(); } catch { body = null; }
  if (!response.ok) {
    const error = body && body.error;
    if (error && error.code) {
      const { code, message, ...details } = error;
      throw new ApiError(response.status, code, message || code, details);
    }
    throw new ApiError(response.status, 'http_error', `${response.status} ${response.statusText}`);
  }
  if (body === null) throw new ApiError(response.status, 'bad_response', 'the server sent no JSON');
  return body;
}

function post(url, body, signal) {
  return call(url, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), signal,
  });
}

/** GET a seeded dataset -> {name, seed, extent, points: [{x, y, label}]} */
export function perceptronDataset(name, { n = 40, seed = 0 } = {}) {
  return call(`${BASE}/perceptron/datasets/${encodeURIComponent(name)}?n=${n}&seed=${seed}`);
}

/** POST the next training steps -> {state, steps, grid, boundary, hidden, loss, accuracy, ...} */
export function perceptronTrain(body, { signal } = {}) {
  return post(`${BASE}/perceptron/train`, body, signal);
}

/** GET fc1 both ways for a gallery digit and a unit. */
export function fcAsConv({ model = 'lenet5', sample = 0, unit = 0 } = {}) {
  return call(`${BASE}/fc-as-conv?model=${encodeURIComponent(model)}&sample=${sample}&unit=${unit}`);
}

/** POST a canvas (rows of 0-255) -> the prediction map. */
export function fcAsConvMap(pixels, { model = 'lenet5', signal } = {}) {
  return post(`${BASE}/fc-as-conv/map?model=${encodeURIComponent(model)}`, { pixels }, signal);
}

/** POST a string to the text CNN -> filter responses, winners, vector, prediction, gradient. */
export function textCnnInspect(text, { target = null, signal } = {}) {
  return post(`${BASE}/text-cnn/inspect`, { text, target }, signal);
}

/** GET a small convolution as its matrix W, with W x + b and W^T dy next to the core's. */
export function convMatrix(params) {
  return call(`${BASE}/conv-matrix?${new URLSearchParams(params)}`);
}

/** GET a hidden layer's step as matrix-vector products on a gallery digit. */
export function mlpMatrixForm(params) {
  return call(`${BASE}/mlp-vs-cnn/matrix-form?${new URLSearchParams(params)}`);
}

/** GET weight counts: fully connected, locally connected, one shared kernel. */
export function mlpParameters(params) {
  return call(`${BASE}/mlp-vs-cnn/parameters?${new URLSearchParams(params)}`);
}

/** GET LeNet-5 and the MLP on held-out digits shifted by `pixels`. */
export function mlpShift(params) {
  return call(`${BASE}/mlp-vs-cnn/shift?${new URLSearchParams(params)}`);
}

/** GET per-layer equivariance errors and one layer's maps for a shifted gallery digit. */
export function equivariance(params) {
  return call(`${BASE}/equivariance?${new URLSearchParams(params)}`);
}

/** GET a CNN's and the MLP's predictions for shifts -4..4 of a gallery digit. */
export function equivarianceCurve(params) {
  return call(`${BASE}/equivariance/curve?${new URLSearchParams(params)}`);
}

/** GET a convolution over three channels: per-channel correlations, sum, bias. */
export function colourConv(params) {
  return call(`${BASE}/colour/conv?${new URLSearchParams(params)}`);
}

/** GET held-out colour shapes with the colour CNN's predictions. */
export function colourGallery(params) {
  return call(`${BASE}/colour/gallery?${new URLSearchParams(params)}`);
}

/** POST a gallery digit ({sample}) or a drawn canvas ({pixels}) to the autoencoder -> every
 * layer's maps and deltas, the reconstruction, its error map, and one transposed-conv scatter. */
export function autoencoderInspect(body, { signal } = {}) {
  return post(`${BASE}/autoencoder/inspect`, body, signal);
}

/** GET a small transposed convolution taken apart: copies, sum, overlap counts. */
export function autoencoderScatter(params) {
  return call(`${BASE}/autoencoder/scatter?${new URLSearchParams(params)}`);
}

/** GET an activation's f and f' by the core over [x_min, x_max], with saturated runs. */
export function activations(params) {
  return call(`${BASE}/activations?${new URLSearchParams(params)}`);
}
