// The /train page's calls to /api/v1/training-runs (errors as api.js's ApiError).

import { ApiError } from '../api.js';

const RUNS = '/api/v1/training-runs';

async function call(url, init = {}) {
  const response = await fetch(url, init);
  let body = null;
  try {
    body = await response.json();
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
  return body;
}

const post = (url, payload) => call(url, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json' },
  body: payload === undefined ? undefined : JSON.stringify(payload),
});

/** POST /training-runs -> the run resource (201). */
export const startRun = (config) => post(RUNS, config);

/** GET /training-runs/{id}. */
export const getRun = (id) => call(`${RUNS}/${encodeURIComponent(id)}`);

/** POST /training-runs/{id}/{pause|resume|stop|step}. */
export const controlRun = (id, command) => post(`${RUNS}/${encodeURIComponent(id)}/${command}`);

/** POST /training-runs/check -> {spec, input_shape, layers, parameters}. */
export const checkArchitecture = (architecture, dataset) => post(`${RUNS}/check`,
  { architecture, dataset });

/**
 * Follow a run's events (Server-Sent Events; EventSource resumes with Last-Event-ID on its
 * own). onEvent({id, event, data}) for each; the stream is closed after `end`. Returns a
 * function that closes it.
 */
export function followRun(id, onEvent, onError = () => {}) {
  const source = new EventSource(`${RUNS}/${encodeURIComponent(id)}/events`);
  const kinds = ['status', 'step', 'layers', 'filters', 'epoch', 'end'];
  for (const kind of kinds) {
    source.addEventListener(kind, (message) => {
      onEvent({ id: Number(message.lastEventId), event: kind, data: JSON.parse(message.data) });
      if (kind === 'end') source.close();
    });
  }
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) onError();
  };
  return () => source.close();
}
