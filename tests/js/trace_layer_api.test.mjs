import test from 'node:test';
import assert from 'node:assert/strict';
import { fetchTraceLayer } from '../../static/js/api.js';

const TRACE = 'a'.repeat(64);
const TENSOR = { shape: [1, 1, 2], dtype: 'float32', encoding: 'list', data: [[[1, 2]]], min: 1, max: 2 };

function answering(replies) {
  const calls = [];
  globalThis.fetch = async (url, init = {}) => {
    calls.push({ url, init });
    const [status, body] = replies.shift();
    return {
      ok: status < 400, status, statusText: String(status),
      text: async () => JSON.stringify(body),
    };
  };
  return calls;
}

test('a layer is asked for by GET with part and channels, its tensors decoded', async () => {
  const calls = answering([[200, { name: 'conv1', output: TENSOR }]]);
  const body = await fetchTraceLayer(TRACE, 'layer1.0.conv1', { part: ['output'], channels: [3, 3] });
  assert.equal(calls.length, 1);
  assert.match(calls[0].url, /\/api\/v1\/traces\/a{64}\/layers\/layer1\.0\.conv1\?part=output&channels=3-3$/);
  assert.deepEqual(Array.from(body.output.data), [1, 2]);
});

test('a trace the server no longer holds is asked again with its recipe in a POST body', async () => {
  const calls = answering([
    [404, { error: { code: 'trace_not_found', message: 'gone' } }],
    [200, { name: 'conv1', output: TENSOR }],
  ]);
  const body = await fetchTraceLayer(TRACE, 'conv1', { part: ['output'], input: 'TOKEN' });
  assert.equal(calls.length, 2);
  assert.match(calls[1].url, /\/layers\/conv1\/fetch\?part=output$/);
  assert.equal(calls[1].init.method, 'POST');
  assert.deepEqual(JSON.parse(calls[1].init.body), { input: 'TOKEN' });
  assert.equal(body.output.shape.length, 3);
});

test('without a recipe, or on another error, the error is the API error', async () => {
  answering([[404, { error: { code: 'trace_not_found', message: 'gone' } }]]);
  await assert.rejects(fetchTraceLayer(TRACE, 'conv1', { part: ['output'] }),
    (error) => error.code === 'trace_not_found' && error.status === 404);
  answering([[422, { error: { code: 'invalid_channels', message: 'no' } }]]);
  await assert.rejects(fetchTraceLayer(TRACE, 'conv1', { part: ['output'], input: 'T' }),
    (error) => error.code === 'invalid_channels');
});
