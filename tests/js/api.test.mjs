import test from 'node:test';
import assert from 'node:assert/strict';
import {
  ApiError, base64ToBytes, bytesToTypedArray, decodeTensor, decodeTensors,
} from '../../static/js/api.js';

function wire(typed, shape, dtype) {
  const bytes = Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength);
  return { shape, dtype, encoding: 'base64', data: bytes.toString('base64'), min: 0, max: 0 };
}

test('base64 float32 tensors decode to the exact little-endian values', () => {
  const values = Float32Array.from([1.5, -0.25, 3.4028234663852886e38, 1e-45, 0, 7]);
  const tensor = decodeTensor(wire(values, [2, 3], 'float32'));
  assert.ok(tensor.data instanceof Float32Array);
  assert.deepEqual([...tensor.data], [...values]);
  assert.deepEqual(tensor.shape, [2, 3]);
});

test('int64 indices decode to plain numbers and int32/uint8 keep their types', () => {
  const indices = BigInt64Array.from([0n, 5n, 783n, 2n ** 40n]);
  const decoded = decodeTensor(wire(indices, [4], 'int64'));
  assert.deepEqual([...decoded.data], [0, 5, 783, 2 ** 40]);
  assert.ok(decodeTensor(wire(Int32Array.from([-3, 4]), [2], 'int32')).data instanceof Int32Array);
  const mask = decodeTensor(wire(Uint8Array.from([0, 1, 2]), [3], 'uint8'));
  assert.deepEqual([...mask.data], [0, 1, 2]);
});

test('decoding does not depend on the alignment of the byte view', () => {
  const source = new Uint8Array(9);
  source.set(new Uint8Array(Float64Array.from([2.75]).buffer), 1);
  const view = source.subarray(1);
  assert.deepEqual([...bytesToTypedArray(view, 'float64')], [2.75]);
});

test('list encoding decodes to the same numbers as base64', () => {
  const values = Float32Array.from([0.1, 0.2, -0.3, 0.4]);
  const listed = { shape: [2, 2], dtype: 'float32', encoding: 'list', data: [[0.1, 0.2], [-0.3, 0.4]] };
  assert.deepEqual([...decodeTensor(listed).data], [...decodeTensor(wire(values, [2, 2], 'float32')).data]);
});

test('a shape that does not match the data is rejected', () => {
  assert.throws(() => decodeTensor(wire(Float32Array.from([1, 2, 3]), [2, 2], 'float32')), /shape/);
  assert.throws(() => base64ToBytes('***'));
});

test('decodeTensors replaces every nested Tensor and leaves other fields alone', () => {
  const response = {
    model: 'lenet5',
    input: wire(Float32Array.from([0, 1]), [1, 1, 2], 'float32'),
    layers: [{ name: 'conv1', output: wire(Float32Array.from([4]), [1, 1, 1], 'float32') }],
    probabilities: [0.25, 0.75],
  };
  decodeTensors(response);
  assert.equal(response.model, 'lenet5');
  assert.deepEqual([...response.input.data], [0, 1]);
  assert.deepEqual([...response.layers[0].output.data], [4]);
  assert.deepEqual(response.probabilities, [0.25, 0.75]);
});

test('ApiError carries status, code and message', () => {
  const error = new ApiError(415, 'unsupported_media_type', 'not an image');
  assert.equal(error.status, 415);
  assert.equal(error.code, 'unsupported_media_type');
  assert.equal(error.message, 'not an image');
  assert.ok(error instanceof Error);
});
