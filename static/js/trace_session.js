// The inspect page's large-trace session: one loader per shown trace (trace_fetch.js), a
// decoded-bytes cache shared by all of them, and the fetches a detail view needs before it
// draws. The page resets it with each new trace and on a model change (which cancels what
// was in flight).

import { fetchTraceLayer } from './api.js';
import { ByteCache, createLayerLoader, fillParts, neededParts } from './trace_fetch.js';

// Decoded tensors kept for the layers fetched lazily (least recently used first out).
const CACHE_BYTES = 64 * 1024 * 1024;
// A model with more parameters does not send its weights with its card: a detail view
// fetches its own layer's.
export const WEIGHTS_INLINE = 2_000_000;

/** Whether a model card should come with its weights: a listed model's parameter count. */
export function inlineWeights(listed) {
  return Boolean(listed && listed.parameters <= WEIGHTS_INLINE);
}

export function createTraceSession({ fetchLayer = fetchTraceLayer, cacheBytes = CACHE_BYTES } = {}) {
  const cache = new ByteCache(cacheBytes);
  let loader = null;
  return {
    get loader() {
      return loader;
    },
    /** A new trace (or none): cancel the old one's fetches, start a loader for the new one. */
    reset(trace = null) {
      loader?.abort();
      loader = trace && trace.trace_id ? createLayerLoader({
        traceId: trace.trace_id, traceInput: trace.trace_input, fetchLayer, cache,
      }) : null;
    },
    /** Fetch what the detail of `layerIndex` needs (neededParts), saying so in `status` and
     * marking `detail` busy meanwhile. True when the trace has it all; false when aborted or
     * failed (the status says why). */
    async prepareDetail(trace, layerIndex, layerInfo, { detail, status }) {
      const wanted = neededParts(trace, layerIndex, layerInfo);
      if (!wanted.length || !loader) return true;
      status.textContent = `Fetching ${trace.layers[layerIndex].name}'s tensors…`;
      detail.setAttribute('aria-busy', 'true');
      try {
        await fillParts(loader, wanted);
        return true;
      } catch (error) {
        if (error.name !== 'AbortError') {
          status.textContent = `Could not fetch the layer's tensors: ${error.message}`;
        }
        return false;
      } finally {
        detail.setAttribute('aria-busy', 'false');
      }
    },
  };
}
