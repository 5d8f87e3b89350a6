import test from 'node:test';
import assert from 'node:assert/strict';
import {
  denseCellOf, denseCells, denseGrid, denseUnitAt, layerTensor, mapCount, scales, strongestUnit,
} from '../../static/js/views/overview.js';

function tensor(shape, values) {
  const data = Float32Array.from(values);
  return { shape, dtype: 'float32', data, min: Math.min(...data), max: Math.max(...data) };
}

// Two layers: a conv-like (2, 1, 2) output with signed values, and a dense (3,) ReLU output.
const trace = {
  layers: [
    {
      output: tensor([2, 1, 2], [-1, 2, 0.5, 4]),
      grad_output: tensor([2, 1, 2], [0.1, -0.2, 0.3, 0]),
    },
    { output: tensor([3], [0, 8, 1]), grad_output: tensor([3], [-0.5, 0.25, 0]) },
  ],
};

test('a (C, H, W) output has C maps and a dense output one strip', () => {
  assert.equal(mapCount([6, 28, 28]), 6);
  assert.equal(mapCount([120]), 1);
});

test('dense strips wrap into columns of at most 40 cells and hold every unit', () => {
  assert.deepEqual(denseGrid(10), { rows: 10, cols: 1 });
  assert.deepEqual(denseGrid(40), { rows: 40, cols: 1 });
  assert.deepEqual(denseGrid(84), { rows: 28, cols: 3 });
  assert.deepEqual(denseGrid(400), { rows: 40, cols: 10 });
  for (const compact of [false, true]) {
    for (const n of [1, 7, 10, 41, 84, 120, 399, 400, 401]) {
      const { rows, cols } = denseGrid(n, compact);
      assert.ok(rows * cols >= n && rows * (cols - 1) < n, `n=${n}: no empty column`);
      if (!compact) assert.ok(rows <= 40);
      else assert.ok(cols >= rows && cols <= 2 * rows + 2, `n=${n}: ${rows}x${cols}`);
    }
  }
  assert.deepEqual(denseGrid(120, true), { rows: 8, cols: 15 });
});

test('forward shows activations and backward deltas', () => {
  assert.equal(layerTensor(trace.layers[0], 'forward'), trace.layers[0].output);
  assert.equal(layerTensor(trace.layers[0], 'backward'), trace.layers[0].grad_output);
});

test('per-layer scales use each layer range; activations are signed only when negative', () => {
  const [conv, dense] = scales(trace, 'forward', 'layer');
  assert.equal(conv.signed, true);
  assert.deepEqual(conv.maps.map(({ min, max }) => [min, max]), [[-1, 4], [-1, 4]]);
  assert.equal(dense.signed, false);
  assert.deepEqual([dense.maps[0].min, dense.maps[0].max], [0, 8]);
});

test('per-map scales give each channel its own range', () => {
  const [conv] = scales(trace, 'forward', 'map');
  assert.deepEqual(conv.maps.map(({ min, max }) => [min, max]), [[-1, 2], [0.5, 4]]);
  assert.deepEqual([conv.legend.min, conv.legend.max], [-1, 4]);
});

test('the global scale is the union of every layer, and deltas are always signed', () => {
  const forward = scales(trace, 'forward', 'global');
  for (const layer of forward) assert.deepEqual([layer.maps[0].min, layer.maps[0].max], [-1, 8]);
  const backward = scales(trace, 'backward', 'layer');
  assert.ok(backward.every((layer) => layer.signed));
  assert.deepEqual([backward[1].maps[0].min, backward[1].maps[0].max], [-0.5, 0.25]);
});

test('a layer without the shown tensor gets no scale', () => {
  const partial = { layers: [{ output: tensor([1], [3]) }] };
  assert.deepEqual(scales(partial, 'backward', 'layer'), [null]);
});

test('the strongest unit is the largest |value| of the map', () => {
  const conv = trace.layers[0].output;
  assert.deepEqual(strongestUnit(conv, 0, 0, null), { layerIndex: 0, channel: 0, y: 0, x: 1 });
  assert.deepEqual(strongestUnit(conv, 0, 1, null), { layerIndex: 0, channel: 1, y: 0, x: 1 });
  const delta = trace.layers[1].grad_output;
  assert.deepEqual(strongestUnit(delta, 1, 0, {}), { layerIndex: 1, channel: 0, y: 0, x: 0 });
});

test('a dense strip puts unit i in the cell that maps back to i, and pads with NaN', () => {
  const n = 84;
  const data = Float32Array.from({ length: n }, (_, i) => i);
  const { rows, cols, cells } = denseCells(data, n, true);
  for (let i = 0; i < n; i += 1) {
    const [row, col] = denseCellOf(i, rows);
    assert.equal(denseUnitAt(row, col, rows), i);
    assert.equal(cells[row * cols + col], i);
  }
  assert.equal(cells.filter(Number.isNaN).length, rows * cols - n);
});
