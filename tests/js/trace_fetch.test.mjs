import test from 'node:test';
import assert from 'node:assert/strict';
import {
  ByteCache, channelChunks, createLayerLoader, strongestChannels, tensorBytes,
} from '../../static/js/trace_fetch.js';

const tensor = (n) => ({ shape: [n], data: new Float32Array(n), min: 0, max: 0 });

test('the strongest channels come first, ties to the lower index', () => {
  assert.deepEqual(strongestChannels([0.1, 3, 0.5, 3, 0], 3), [1, 3, 2]);
  assert.deepEqual(strongestChannels([1, 2], 8), [1, 0]);
});

test('channel chunks cover every channel once, inclusive ranges', () => {
  assert.deepEqual(channelChunks(130, 64), [[0, 63], [64, 127], [128, 129]]);
  assert.deepEqual(channelChunks(0, 64), []);
});

test('the cache stays under its byte cap, least recently used out first', () => {
  const cache = new ByteCache(100);
  cache.set('a', tensor(10)); // 40 bytes
  cache.set('b', tensor(10));
  cache.get('a'); // a is now the most recent
  cache.set('c', tensor(10));
  assert.equal(cache.get('b'), undefined);
  assert.ok(cache.get('a') && cache.get('c'));
  assert.ok(cache.bytes <= 100);
  cache.set('huge', tensor(1000)); // bigger than the cap: not kept, nothing evicted
  assert.equal(cache.get('huge'), undefined);
  assert.equal(cache.size, 2);
  assert.equal(tensorBytes({ output: tensor(2), params: { weight: tensor(3) } }), 20);
});

function fakeServer() {
  const calls = [];
  let open = 0;
  let most = 0;
  const fetchLayer = async (traceId, name, { part, channels, signal }) => {
    calls.push({ traceId, name, part, channels });
    open += 1;
    most = Math.max(most, open);
    await new Promise((resolve) => setTimeout(resolve, 5));
    open -= 1;
    if (signal.aborted) throw new DOMException('aborted', 'AbortError');
    const body = {};
    for (const p of part) body[p] = tensor(4);
    return body;
  };
  return { calls, fetchLayer, most: () => most };
}

test('one request per tensor however many callers, and at most `concurrency` at once', async () => {
  const server = fakeServer();
  const loader = createLayerLoader({
    traceId: 't', fetchLayer: server.fetchLayer, cache: new ByteCache(1 << 20), concurrency: 2,
  });
  const got = await Promise.all([
    loader.channel('conv1', 'output', 3), loader.channel('conv1', 'output', 3),
    ...[0, 1, 2, 4, 5].map((c) => loader.channel('conv1', 'output', c)),
  ]);
  assert.equal(got[0], got[1]);
  assert.equal(server.calls.length, 6);
  assert.ok(server.most() <= 2);
  assert.deepEqual(server.calls[0].channels, [3, 3]); // the first starts at once
  assert.deepEqual(server.calls[2].channels, [5, 5]); // then the newest waiting one
  await loader.channel('conv1', 'output', 3); // cached: no new request
  assert.equal(server.calls.length, 6);
});

test('abort rejects what waits and sends nothing more', async () => {
  const server = fakeServer();
  const loader = createLayerLoader({
    traceId: 't', fetchLayer: server.fetchLayer, cache: new ByteCache(1 << 20), concurrency: 1,
  });
  const pending = [0, 1, 2].map((c) => loader.channel('a', 'output', c));
  loader.abort();
  const results = await Promise.allSettled(pending);
  assert.ok(results.every((r) => r.status === 'rejected' && r.reason.name === 'AbortError'));
  assert.ok(server.calls.length <= 1);
});
