// Lazy tensors of a large trace: the inspect response leaves big layers out (their `omitted`
// parts), and the page fetches them through GET /api/v1/traces/{id}/layers/{name} when a node
// is seen or expanded. One loader per trace: it limits requests in flight, shares one
// request among callers that want the same tensor, keeps answers in a cache bounded in bytes
// (least recently used first out), and abort() cancels everything when the model or the
// input changes. Pure (no DOM): tests/js/trace_fetch.test.mjs runs it with node --test.

import { INPUT, inputsOf, readersOf } from './graph.js';

/** The indices of the k largest energies, strongest first (ties: the lower index first). */
export function strongestChannels(energy, k) {
  const order = Array.from(energy, (_, i) => i);
  order.sort((a, b) => (energy[b] - energy[a]) || (a - b));
  return order.slice(0, Math.max(0, k));
}

/** [[first, last], ...] (inclusive) covering channels 0..count-1 in runs of `size`. */
export function channelChunks(count, size) {
  const chunks = [];
  for (let first = 0; first < count; first += size) {
    chunks.push([first, Math.min(count, first + size) - 1]);
  }
  return chunks;
}

/** Bytes of the decoded tensors in a value (a tensor, or an object holding some). */
export function tensorBytes(value) {
  if (value === null || typeof value !== 'object') return 0;
  if (ArrayBuffer.isView(value.data)) return value.data.byteLength;
  return Object.values(value).reduce((sum, item) => sum + tensorBytes(item), 0);
}

/** A Map capped at maxBytes (sizeOf(value)), least recently used first out. */
export class ByteCache {
  constructor(maxBytes, sizeOf = tensorBytes) {
    this.maxBytes = maxBytes;
    this.sizeOf = sizeOf;
    this.entries = new Map();
    this.bytes = 0;
  }

  get(key) {
    if (!this.entries.has(key)) return undefined;
    const entry = this.entries.get(key);
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key, value) {
    this.delete(key);
    const size = this.sizeOf(value);
    if (size > this.maxBytes) return;
    while (this.entries.size && this.bytes + size > this.maxBytes) {
      this.delete(this.entries.keys().next().value);
    }
    this.entries.set(key, { value, size });
    this.bytes += size;
  }

  delete(key) {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.size;
  }

  get size() {
    return this.entries.size;
  }
}

/**
 * A loader for one trace. fetchLayer(traceId, name, {part, channels, input, signal}) is
 * api.fetchTraceLayer (injected, so tests need no server); cache a ByteCache shared across
 * traces (keys carry the trace id). Returns {range(name, part, [a, b]), channel(name, part, c),
 * layer(name, parts), abort(), signal}.
 */
export function createLayerLoader({ traceId, traceInput, fetchLayer, cache, concurrency = 4 }) {
  const controller = new AbortController();
  const inflight = new Map();
  const waiting = [];
  let running = 0;

  function schedule(job) {
    return new Promise((resolve, reject) => {
      waiting.push({ job, resolve, reject });
      pump();
    });
  }

  function pump() {
    while (running < concurrency && waiting.length) {
      // Newest first: the node just scrolled into view is drawn before those passed by.
      const { job, resolve, reject } = waiting.pop();
      if (controller.signal.aborted) {
        reject(new DOMException('aborted', 'AbortError'));
        continue;
      }
      running += 1;
      job().then(resolve, reject).finally(() => {
        running -= 1;
        pump();
      });
    }
  }

  function once(key, make) {
    const cached = cache.get(key);
    if (cached !== undefined) return Promise.resolve(cached);
    if (inflight.has(key)) return inflight.get(key);
    const promise = schedule(make).then((value) => {
      cache.set(key, value);
      return value;
    }).finally(() => inflight.delete(key));
    inflight.set(key, promise);
    return promise;
  }

  const options = (extra) => ({ input: traceInput, signal: controller.signal, ...extra });

  return {
    signal: controller.signal,
    /** Channels first..last (a [n, H, W] tensor) of a layer's output or grad_output. */
    range(name, part, [first, last]) {
      return once(`${traceId}|${name}|${part}|${first}-${last}`, async () => {
        const body = await fetchLayer(traceId, name, options({ part: [part], channels: [first, last] }));
        return body[part];
      });
    },
    /** One channel (a [1, H, W] tensor). */
    channel(name, part, c) {
      return this.range(name, part, [c, c]);
    },
    /** Whole parts of a layer: the endpoint's body ({output, grad_output, params, ...}). */
    layer(name, parts) {
      const key = `${traceId}|${name}|${[...parts].sort().join(',')}|all`;
      return once(key, () => fetchLayer(traceId, name, options({ part: parts })));
    },
    abort() {
      controller.abort();
      for (const { reject } of waiting.splice(0)) reject(new DOMException('aborted', 'AbortError'));
    },
  };
}

/**
 * What the detail of layer `layerIndex` needs that the response left out: [{node, parts}] for
 * the layer, the layers it reads and those reading it (the fan-out sum), each the parts of
 * its `omitted` not fetched yet, plus the layer's `params` when it has parameters
 * (layerInfo[i].parameters) but the card came without weights.
 */
export function neededParts(trace, layerIndex, layerInfo = []) {
  if (layerIndex >= trace.layers.length) return [];
  const layer = trace.layers[layerIndex];
  const names = new Set([layer.name, ...inputsOf(trace.layers, layerIndex),
    ...readersOf(trace.layers, layer.name).map((i) => trace.layers[i].name)]);
  names.delete(INPUT);
  return [...names].map((name) => {
    const node = trace.layers.find((l) => l.name === name);
    const parts = (node.omitted || []).filter((part) => !node[part]);
    const info = layerInfo[trace.layers.indexOf(node)] || {};
    if (node === layer && !node.params && info.parameters > 0) parts.push('params');
    return { node, parts };
  }).filter(({ parts }) => parts.length);
}

/** Fetch neededParts' answer through `loader` and put each part on its layer (in place). */
export async function fillParts(loader, wanted) {
  await Promise.all(wanted.map(async ({ node, parts }) => {
    const body = await loader.layer(node.name, parts);
    for (const part of parts) if (body[part]) node[part] = body[part];
    if (body.buffers && !node.buffers) node.buffers = body.buffers;
  }));
}
