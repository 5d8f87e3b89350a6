// node --test tests/js: the index maths of static/js/geometry.js against brute force.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  clipBox,
  decodePoolIndex,
  flatIndex,
  outputSize,
  receptiveBox,
  tapsBounds,
  unflattenIndex,
  unitsInField,
  unitsTouching,
  windowGeometry,
  windowTaps,
} from '../../static/js/geometry.js';

const CONFIGS = [
  { kernel_size: [5, 5], stride: [1, 1], padding: [2, 2], dilation: [1, 1] },
  { kernel_size: [3, 5], stride: [2, 1], padding: [1, 0], dilation: [1, 2] },
  { kernel_size: [2, 2], stride: [2, 2], padding: [0, 0] },
  { kernel_size: [3, 3], stride: [2, 3], padding: [1, 1], dilation: [2, 1] },
];

function outHW(config, inH, inW) {
  const g = windowGeometry(config);
  return [0, 1].map((a) =>
    outputSize([inH, inW][a], g.kernel[a], g.stride[a], g.padding[a], g.dilation[a]));
}

test('outputSize follows floor((n + 2p - d(k-1) - 1) / s) + 1 and the ceil_mode rule', () => {
  assert.equal(outputSize(28, 5, 1, 2, 1), 28);
  assert.equal(outputSize(28, 5), 24);
  assert.equal(outputSize(1000, 10), 991);
  assert.equal(outputSize(991, 2, 2), 495);
  assert.equal(outputSize(991, 2, 2, 0, 1, true), 496);
  // PyTorch drops a ceil_mode window that would start in the right padding.
  assert.equal(outputSize(5, 2, 2, 1, 1, true), 3);
  assert.equal(outputSize(7, 3, 1, 0, 3), 1);
  assert.equal(outputSize(2, 5), 0);
});

test('windowGeometry defaults a pooling stride to its kernel and dilation to 1', () => {
  const g = windowGeometry({ kernel_size: [2, 3], padding: 0 });
  assert.deepEqual(g, { kernel: [2, 3], stride: [2, 3], padding: [0, 0], dilation: [1, 1] });
});

test('windowTaps lists every tap at y*s - p + k*d and marks the padding cells', () => {
  const config = CONFIGS[1];
  const { rows, cols, taps } = windowTaps(config, 1, 2, 6, 7);
  assert.equal(rows, 3);
  assert.equal(cols, 5);
  assert.equal(taps.length, 15);
  for (const t of taps) {
    assert.equal(t.iy, 1 * 2 - 1 + t.ky * 1);
    assert.equal(t.ix, 2 * 1 - 0 + t.kx * 2);
    assert.equal(t.padding, !(t.iy >= 0 && t.iy < 6 && t.ix >= 0 && t.ix < 7));
  }
  assert.deepEqual(taps.filter((t) => t.padding).map((t) => [t.iy, t.ix]),
    [[1, 8], [1, 10], [2, 8], [2, 10], [3, 8], [3, 10]]);
  const corner = windowTaps(CONFIGS[0], 0, 0, 28, 28);
  assert.equal(corner.taps.filter((t) => t.padding).length, 25 - 9);
});

test('unitsTouching is the exact inverse of windowTaps (seed 002 backward rule)', () => {
  for (const config of CONFIGS) {
    const inH = 9;
    const inW = 10;
    const [outH, outW] = outHW(config, inH, inW);
    assert.ok(outH > 0 && outW > 0);
    const expected = new Map();
    for (let oy = 0; oy < outH; oy++) {
      for (let ox = 0; ox < outW; ox++) {
        for (const t of windowTaps(config, oy, ox, inH, inW).taps) {
          if (t.padding) continue;
          const key = `${t.iy},${t.ix}`;
          if (!expected.has(key)) expected.set(key, []);
          expected.get(key).push({ oy, ox, ky: t.ky, kx: t.kx });
        }
      }
    }
    for (let iy = 0; iy < inH; iy++) {
      for (let ix = 0; ix < inW; ix++) {
        const key = (u) => `${u.oy},${u.ox},${u.ky},${u.kx}`;
        const got = unitsTouching(config, iy, ix, outH, outW).map(key).sort();
        const want = (expected.get(`${iy},${ix}`) || []).map(key).sort();
        assert.deepEqual(got, want, `pixel ${iy},${ix} of ${JSON.stringify(config)}`);
      }
    }
  }
});

test('a pixel a stride skips is touched by no unit', () => {
  const config = { kernel_size: [1, 1], stride: [2, 2], padding: [0, 0] };
  assert.deepEqual(unitsTouching(config, 1, 1, 3, 3), []);
  assert.deepEqual(unitsTouching(config, 2, 4, 3, 3), [{ oy: 1, ox: 2, ky: 0, kx: 0 }]);
});

// Receptive fields by the seed's arithmetic (RF = (RF - 1) * stride + fsize, jump *= stride,
// start += ((k_eff - 1) / 2 - p) * jump), computed here from the layer list.
function fieldsOf(layers) {
  let field = { size: [1, 1], jump: [1, 1], start: [0, 0] };
  return layers.map((config) => {
    const g = windowGeometry(config);
    const next = { size: [0, 0], jump: [0, 0], start: [0, 0] };
    for (const a of [0, 1]) {
      const kEff = g.dilation[a] * (g.kernel[a] - 1) + 1;
      next.size[a] = field.size[a] + (kEff - 1) * field.jump[a];
      next.jump[a] = field.jump[a] * g.stride[a];
      next.start[a] = field.start[a] + ((kEff - 1) / 2 - g.padding[a]) * field.jump[a];
    }
    field = next;
    return field;
  });
}

test('receptiveBox centres the field on start + unit * jump', () => {
  const box = receptiveBox({ size: [5, 5], jump: [1, 1], start: [0, 0] }, 0, 3, 28, 28);
  assert.deepEqual({ y0: box.y0, x0: box.x0, y1: box.y1, x1: box.x1 },
    { y0: -2, x0: 1, y1: 2, x1: 5 });
  assert.deepEqual(box.clipped, { y0: 0, x0: 1, y1: 2, x1: 5 });
  // Even sizes put the centre between pixels.
  const even = receptiveBox({ size: 6, jump: 2, start: 0.5 }, 2, 1);
  assert.deepEqual(even, { y0: 2, x0: 0, y1: 7, x1: 5 });
});

test('a unit\'s receptive box is the footprint of its composed windows', () => {
  const chain = [
    { kernel_size: [5, 5], stride: [1, 1], padding: [2, 2] },
    { kernel_size: [2, 2], stride: [2, 2], padding: [0, 0] },
    { kernel_size: [3, 5], stride: [1, 2], padding: [0, 1], dilation: [2, 1] },
    { kernel_size: [2, 2], stride: [2, 2], padding: [0, 0] },
  ];
  const fields = fieldsOf(chain);
  const inH = 40;
  const inW = 40;
  const sizes = [[inH, inW]];
  for (const config of chain) sizes.push(outHW(config, ...sizes[sizes.length - 1]));
  const last = chain.length - 1;
  const [oh, ow] = sizes[last + 1];
  for (const [y, x] of [[0, 0], [1, Math.floor(ow / 2)], [oh - 1, ow - 1]]) {
    // Brute force: walk the windows down, keeping padding cells' unclipped coordinates.
    let cells = [[y, x]];
    const footprints = [];
    for (let l = last; l >= 0; l--) {
      const next = new Map();
      for (const [cy, cx] of cells) {
        for (const t of windowTaps(chain[l], cy, cx, Infinity, Infinity).taps) {
          next.set(`${t.iy},${t.ix}`, [t.iy, t.ix]);
        }
      }
      cells = [...next.values()];
      footprints[l] = cells;
    }
    const bounds = (list) => ({
      y0: Math.min(...list.map((c) => c[0])), x0: Math.min(...list.map((c) => c[1])),
      y1: Math.max(...list.map((c) => c[0])), x1: Math.max(...list.map((c) => c[1])),
    });
    const box = receptiveBox(fields[last], y, x, inH, inW);
    assert.deepEqual({ y0: box.y0, x0: box.x0, y1: box.y1, x1: box.x1 }, bounds(footprints[0]));
    // On each layer in between, unitsInField gives the (clipped) footprint at that layer.
    for (let l = 0; l < last; l++) {
      const [h, w] = sizes[l + 1];
      const want = clipBox(bounds(footprints[l + 1]), h, w);
      assert.deepEqual(unitsInField(box, fields[l], h, w), want, `layer ${l} unit ${y},${x}`);
    }
    assert.deepEqual(unitsInField(box, fields[last], oh, ow), { y0: y, x0: x, y1: y, x1: x });
  }
});

test('clipBox returns null for a box wholly outside the plane', () => {
  assert.equal(clipBox({ y0: -5, x0: 0, y1: -1, x1: 3 }, 10, 10), null);
  assert.deepEqual(clipBox({ y0: -1.5, x0: 8.5, y1: 2.5, x1: 12 }, 10, 10),
    { y0: 0, x0: 9, y1: 2, x1: 9 });
});

test('decodePoolIndex reads PyTorch\'s flat h*W + w', () => {
  assert.deepEqual(decodePoolIndex(0, 28), [0, 0]);
  assert.deepEqual(decodePoolIndex(29, 28), [1, 1]);
  assert.deepEqual(decodePoolIndex(27n, 28), [0, 27]);
  assert.deepEqual(decodePoolIndex(28 * 28 - 1, 28), [27, 27]);
});

test('flatIndex and unflattenIndex are inverse (C, H, W) row-major maps', () => {
  const shape = [3, 4, 5];
  let expected = 0;
  for (let c = 0; c < 3; c++) {
    for (let h = 0; h < 4; h++) {
      for (let w = 0; w < 5; w++) {
        assert.equal(flatIndex(c, h, w, shape), expected);
        assert.deepEqual(unflattenIndex(expected, shape), [c, h, w]);
        expected += 1;
      }
    }
  }
});

test('tapsBounds spans a window, padding taps included', () => {
  const { taps } = windowTaps(CONFIGS[3], 0, 1, 9, 10);
  // rows: 0*2 - 1 + {0, 2, 4}; columns: 1*3 - 1 + {0, 1, 2}
  assert.deepEqual(tapsBounds(taps), { y0: -1, x0: 2, y1: 3, x1: 4 });
});
