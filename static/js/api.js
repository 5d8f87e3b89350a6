// The REST API v1 client: requests, the error envelope, and Tensor decoding.
// A Tensor on the wire is {shape, dtype, encoding, data: base64 little-endian | nested lists,
// min, max}; decoded it is {shape, dtype, data: TypedArray (row-major), min, max}.

const API = '/api/v1';

/** An API failure: the HTTP status plus the envelope's {code, message}. */
export class ApiError extends Error {
  constructor(status, code, message, details = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// dtype -> [TypedArray built from the wire bytes, bytes per element, DataView getter]
const DTYPES = {
  float32: [Float32Array, 4, 'getFloat32'],
  float64: [Float64Array, 8, 'getFloat64'],
  int32: [Int32Array, 4, 'getInt32'],
  int64: [BigInt64Array, 8, 'getBigInt64'],
  uint8: [Uint8Array, 1, 'getUint8'],
  bool: [Uint8Array, 1, 'getUint8'],
};

/** Base64 text -> Uint8Array of its bytes. */
export function base64ToBytes(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function product(shape) {
  return shape.reduce((n, d) => n * d, 1);
}

function flattenLists(value, out) {
  if (Array.isArray(value)) for (const item of value) flattenLists(item, out);
  else out.push(value === true ? 1 : value === false ? 0 : Number(value));
  return out;
}

/** Little-endian bytes of `dtype` -> a TypedArray (int64 becomes Float64Array: exact up to
 * 2**53, far beyond any index the API returns). */
export function bytesToTypedArray(bytes, dtype) {
  const entry = DTYPES[dtype];
  if (!entry) throw new Error(`unsupported tensor dtype ${dtype}`);
  const [Typed, size, getter] = entry;
  if (bytes.byteLength % size !== 0) {
    throw new Error(`${bytes.byteLength} bytes is not a whole number of ${dtype} values`);
  }
  const count = bytes.byteLength / size;
  let values;
  if (LITTLE_ENDIAN_HOST) {
    // Copy into a fresh, aligned buffer: the source view may start at any offset.
    values = new Typed(bytes.slice().buffer, 0, count);
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    values = new Typed(count);
    for (let i = 0; i < count; i += 1) values[i] = view[getter](i * size, true);
  }
  return values instanceof BigInt64Array ? Float64Array.from(values, Number) : values;
}

/** A wire Tensor (base64 or list encoding) -> {shape, dtype, data: TypedArray, min, max}. */
export function decodeTensor(tensor) {
  const { shape, dtype } = tensor;
  let data;
  if (tensor.encoding === 'list' || Array.isArray(tensor.data)) {
    const flat = flattenLists(tensor.data, []);
    const Typed = dtype === 'float32' ? Float32Array : dtype === 'uint8' ? Uint8Array : Float64Array;
    data = Typed.from(flat);
  } else {
    data = bytesToTypedArray(base64ToBytes(tensor.data), dtype);
  }
  if (data.length !== product(shape)) {
    throw new Error(`tensor of shape [${shape}] holds ${data.length} values`);
  }
  let { min, max } = tensor;
  if (min === undefined || max === undefined) {
    min = Infinity;
    max = -Infinity;
    for (const v of data) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  return { shape: [...shape], dtype, data, min, max };
}

function isWireTensor(value) {
  return (
    value !== null && typeof value === 'object' && Array.isArray(value.shape) &&
    typeof value.dtype === 'string' && 'data' in value
  );
}

/** Walk a response and replace every wire Tensor with its decoded form (in place). */
export function decodeTensors(value) {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) value[i] = decodeTensors(value[i]);
    return value;
  }
  if (value === null || typeof value !== 'object') return value;
  if (isWireTensor(value)) return decodeTensor(value);
  for (const key of Object.keys(value)) value[key] = decodeTensors(value[key]);
  return value;
}

async function request(url, init = {}) {
  const response = await fetch(url, init);
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const error = body && body.error;
    if (error && error.code) {
      const { code, message, ...details } = error;
      throw new ApiError(response.status, code, message || code, details);
    }
    throw new ApiError(response.status, 'http_error', `${response.status} ${response.statusText}`);
  }
  if (body === null) throw new ApiError(response.status, 'bad_response', 'the server sent no JSON');
  return { body, text };
}

/** GET /api/v1/models -> [{id, name, description, input_shape, classes, parameters, accuracy}] */
export async function listModels({ signal } = {}) {
  const { body } = await request(`${API}/models`, { signal });
  return body.models;
}

/** GET /api/v1/models/{id} -> the model card with its `layers` table; with weights: true each
 * layer with parameters also has `params` {weight, bias} (decoded Tensors). */
export async function getModel(modelId, { weights = false, signal } = {}) {
  const query = weights ? '?include=weights' : '';
  const { body } = await request(`${API}/models/${encodeURIComponent(modelId)}${query}`, { signal });
  return decodeTensors(body);
}

/** GET /api/v1/samples -> [{id, label, thumbnail}] (a bundled gallery: `dataset` "digits",
 * the default, or "colour-shapes"). */
export async function listSamples({ signal, dataset } = {}) {
  const query = dataset ? `?dataset=${encodeURIComponent(dataset)}` : '';
  const { body } = await request(`${API}/samples${query}`, { signal });
  return Array.isArray(body) ? body : body.samples;
}

/**
 * POST /api/v1/models/{modelId}/inspect.
 * input: {file: File|Blob} | {pixels: number[][] (0-255 grayscale)} | {sample: id}.
 * Returns the response with every Tensor decoded; the raw JSON text as received is kept on
 * the non-enumerable property `rawJson` (for "Download JSON").
 */
export async function inspect(modelId, input, { target, include, signal } = {}) {
  const url = `${API}/models/${encodeURIComponent(modelId)}/inspect`;
  const includeList = Array.isArray(include) ? include.join(',') : include;
  let init;
  if (input.file) {
    const form = new FormData();
    form.append('image', input.file, input.file.name || 'image');
    if (target !== undefined && target !== null) form.append('target', String(target));
    if (includeList) form.append('include', includeList);
    init = { method: 'POST', body: form, signal };
  } else if (input.pixels || input.sample !== undefined) {
    const payload = input.pixels ? { pixels: input.pixels } : { sample: input.sample };
    if (target !== undefined && target !== null) payload.target = target;
    if (includeList) payload.include = includeList;
    init = {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(payload),
      signal,
    };
  } else {
    throw new Error('inspect input must be {file}, {pixels} or {sample}');
  }
  const { body, text } = await request(url, init);
  const trace = decodeTensors(body);
  Object.defineProperty(trace, 'rawJson', { value: text, enumerable: false });
  return trace;
}

/**
 * POST /api/v1/receptive-field. body: {preset} | {layers: [{name?, kind, kernel_size, stride?,
 * padding?, dilation?, ceil_mode?}], input_size}, optional unit {layer, y, x}.
 * Returns {preset, input_size, layers: [{name, kind, config, output_size, size, jump, padding,
 * start}], unit, unit_box, unit_box_clipped, unit_footprint}.
 */
export async function receptiveField(body, { signal } = {}) {
  const { body: result } = await request(`${API}/receptive-field`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
    signal,
  });
  return result;
}

/** GET /api/v1/receptive-field/presets -> [{id, description, input_size, layers}]. */
export async function receptiveFieldPresets({ signal } = {}) {
  const { body } = await request(`${API}/receptive-field/presets`, { signal });
  return body;
}

/**
 * GET /api/v1/traces/{traceId}/layers/{layer}: one layer of an inspected trace, its Tensors
 * decoded. part: ['output', 'grad_output', ...]; channels: [a, b] (inclusive) or null. When
 * the server no longer holds the trace (404 trace_not_found) and `input` (the inspect
 * response's trace_input) is given, asks again with it in a POST body: any replica recomputes.
 */
export async function fetchTraceLayer(traceId, layer, { part, channels = null, input, signal } = {}) {
  const query = new URLSearchParams();
  if (part && part.length) query.set('part', part.join(','));
  if (channels) query.set('channels', `${channels[0]}-${channels[1]}`);
  const url = `${API}/traces/${encodeURIComponent(traceId)}/layers/${encodeURIComponent(layer)}`;
  try {
    const { body } = await request(`${url}?${query}`, { signal });
    return decodeTensors(body);
  } catch (error) {
    if (!(input && error.code === 'trace_not_found')) throw error;
  }
  const { body } = await request(`${url}/fetch?${query}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ input }),
    signal,
  });
  return decodeTensors(body);
}

/**
 * POST /api/v1/models (multipart: file, and optional name, classes as a JSON list, input as
 * a JSON object {mean, std, colour_order, ...}) with XMLHttpRequest, for its upload progress.
 * onProgress({stage: 'uploading', loaded, total}) while the bytes go up, then
 * onProgress({stage: 'importing'}) while the server imports. Resolves to the model card
 * (201); rejects with ApiError (the envelope's code and message) or an AbortError.
 */
export function uploadModel(file, { name, classes, input, onProgress = () => {}, signal } = {}) {
  const form = new FormData();
  form.append('file', file, file.name || 'model.onnx');
  if (name) form.append('name', name);
  if (classes && classes.length) form.append('classes', JSON.stringify(classes));
  if (input && Object.keys(input).length) form.append('input', JSON.stringify(input));
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `${API}/models`);
    xhr.upload.onprogress = (event) => onProgress({
      stage: 'uploading', loaded: event.loaded, total: event.lengthComputable ? event.total : file.size,
    });
    xhr.upload.onload = () => onProgress({ stage: 'importing' });
    xhr.onerror = () => reject(new ApiError(0, 'network_error', 'the upload failed: no answer from the server'));
    xhr.onabort = () => reject(new DOMException('the upload was cancelled', 'AbortError'));
    xhr.onload = () => {
      let body = null;
      try {
        body = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        body = null;
      }
      if (xhr.status >= 200 && xhr.status < 300 && body) {
        resolve(body);
        return;
      }
      const error = body && body.error;
      if (error && error.code) {
        const { code, message, ...details } = error;
        reject(new ApiError(xhr.status, code, message || code, details));
      } else {
        reject(new ApiError(xhr.status, 'http_error', `${xhr.status} ${xhr.statusText}`));
      }
    };
    signal?.addEventListener('abort', () => xhr.abort());
    xhr.send(form);
  });
}
