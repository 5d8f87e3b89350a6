// The transposed-convolution (convtranspose2d) detail view: each input value scatters a scaled
// copy of the kernel into the output, with its top-left tap at (row*s - p, col*s - p), and where
// copies overlap they add. Stepping through the inputs builds the output one copy at a time; the
// overlap-count map shows how many (input, tap) pairs land on each output pixel: uneven (a
// checkerboard) when the kernel size is not divisible by the stride.
//
// Pure helpers (no DOM) are exported for tests/js; showConvTranspose(holder, example, step)
// renders one step into a container.

/** Output side of a k-kernel, stride-s, padding-p, dilation-d transposed convolution of an
 * n-long axis: (n - 1)s - 2p + d(k - 1) + op + 1. */
export function outputSide(n, k, s, p = 0, op = 0, d = 1) {
  return (n - 1) * s - 2 * p + d * (k - 1) + op + 1;
}

/** The (input i, tap a) pairs that land on output o of one axis: i*s - p + a*d = o. */
export function tapsOnto(o, n, k, s, p = 0, d = 1) {
  const pairs = [];
  for (let a = 0; a < k; a += 1) {
    const i = (o + p - a * d) / s;
    if (Number.isInteger(i) && i >= 0 && i < n) pairs.push([i, a]);
  }
  return pairs;
}

/** Per axis: how many (input i, tap a) pairs land on each output o. */
export function axisCounts(n, k, s, p = 0, op = 0, d = 1) {
  const side = outputSide(n, k, s, p, op, d);
  return Array.from({ length: Math.max(0, side) }, (_, o) => tapsOnto(o, n, k, s, p, d).length);
}

/** The overlap-count map of an n x n input: (side x side), the product of the axis counts. */
export function overlapCounts(n, k, s, p = 0, op = 0, d = 1) {
  const axis = axisCounts(n, k, s, p, op, d);
  return axis.map((r) => axis.map((c) => r * c));
}

/** Where input (row, col)'s copy lands: its top-left tap's output position. */
export function copyOrigin(row, col, s, p = 0) {
  return { top: row * s - p, left: col * s - p };
}

/** The output after the first `count` copies (row-major order) of input (n x n) * kernel
 * (k x k), stride s, padding p: a (side x side) array. count = n*n gives the whole output. */
export function partialSum(input, kernel, s, p = 0, count = Infinity) {
  const n = input.length;
  const k = kernel.length;
  const side = outputSide(n, k, s, p);
  const out = Array.from({ length: side }, () => new Array(side).fill(0));
  let done = 0;
  for (let i = 0; i < n && done < count; i += 1) {
    for (let j = 0; j < n && done < count; j += 1, done += 1) {
      const { top, left } = copyOrigin(i, j, s, p);
      for (let a = 0; a < k; a += 1) {
        for (let b = 0; b < k; b += 1) {
          const r = top + a;
          const c = left + b;
          if (r >= 0 && r < side && c >= 0 && c < side) out[r][c] += input[i][j] * kernel[a][b];
        }
      }
    }
  }
  return out;
}

/** The distinct counts of a count map, ascending: [1, 2, 4] for k=3, s=2 (a checkerboard),
 * [4] in the interior of k=4, s=2. */
export function distinctCounts(counts) {
  return [...new Set(counts.flat())].sort((x, y) => x - y);
}

/** A number as short text: integers as they are, others to 3 decimals (no -0). */
export function short(v) {
  if (Number.isInteger(v)) return String(v === 0 ? 0 : v);
  const text = v.toFixed(3).replace(/0+$/, '').replace(/\.$/, '');
  return text === '-0' ? '0' : text;
}

// ---------------------------------------------------------------- DOM

const COUNT_COLOURS = ['#ffffff', '#d1e5f0', '#92c5de', '#f4a582', '#d6604d', '#b2182b',
  '#67001f'];

/** A light colour per overlap count (0 white), the same scale in every map. */
export function countColour(count) {
  return COUNT_COLOURS[Math.min(COUNT_COLOURS.length - 1, Math.max(0, count))];
}

function grid(values, { caption, cellClass = () => '', cellStyle = () => null, label }) {
  const table = document.createElement('table');
  table.className = 'num-grid';
  if (label) table.setAttribute('aria-label', label);
  const cap = document.createElement('caption');
  cap.textContent = caption;
  table.append(cap);
  values.forEach((row, i) => {
    const tr = document.createElement('tr');
    row.forEach((v, j) => {
      const td = document.createElement('td');
      td.textContent = short(v);
      const cls = cellClass(i, j);
      if (cls) td.className = cls;
      const bg = cellStyle(i, j, v);
      if (bg) td.style.background = bg;
      tr.append(td);
    });
    table.append(tr);
  });
  return table;
}

/** The count map as its own labelled grid with a key of the counts it holds; `mark` [row, col]
 * rings one cell. */
export function countGrid(counts, caption, mark = null) {
  const figure = document.createElement('figure');
  figure.className = 'ct-counts';
  const ringed = (i, j) => (mark && i === mark[0] && j === mark[1] ? 'read' : '');
  figure.append(grid(counts, { caption, cellStyle: (i, j, v) => countColour(v),
    cellClass: ringed, label: caption }));
  const key = document.createElement('ul');
  key.className = 'swatch-key';
  for (const c of distinctCounts(counts)) {
    const li = document.createElement('li');
    const sw = document.createElement('span');
    sw.className = 'swatch';
    sw.style.background = countColour(c);
    li.append(sw, `${c} tap${c === 1 ? '' : 's'}`);
    key.append(li);
  }
  figure.append(key);
  return figure;
}

/**
 * Render step `step` (0-based input index, row-major) of a small example
 * {input, kernel, stride, padding, overlap_counts} into holder: the input with the current
 * value ringed, the kernel, the scaled copy it scatters, the output so far with the copy's
 * cells ringed, and the overlap counts. Returns {row, col, value, top, left}.
 */
export function showConvTranspose(holder, example, step) {
  const { input, kernel, stride: s, padding: p } = example;
  const n = input.length;
  const k = kernel.length;
  const index = Math.min(n * n - 1, Math.max(0, step));
  const row = Math.floor(index / n);
  const col = index % n;
  const value = input[row][col];
  const { top, left } = copyOrigin(row, col, s, p);
  const copy = kernel.map((r) => r.map((w) => value * w));
  const sofar = partialSum(input, kernel, s, p, index + 1);
  const inCopy = (i, j) => i >= top && i < top + k && j >= left && j < left + k;
  const row1 = document.createElement('div');
  row1.className = 'num-grids ct-step';
  row1.append(
    grid(input, { caption: `input (${n}×${n})`, cellClass: (i, j) =>
      (i === row && j === col ? 'read' : (i * n + j < index ? 'ct-done' : '')),
    label: 'input' }),
    grid(kernel, { caption: `kernel (${k}×${k})`, label: 'kernel' }),
    grid(copy, { caption: `${short(value)} × kernel`, label: 'scaled copy',
      cellStyle: () => '#fde0c5' }),
    grid(sofar, { caption: `output after ${index + 1} of ${n * n} copies`,
      label: 'output so far', cellClass: (i, j) => (inCopy(i, j) ? 'read' : ''),
      cellStyle: (i, j) => (inCopy(i, j) ? '#fde0c5' : null) }),
  );
  holder.replaceChildren(row1, countGrid(example.overlap_counts,
    `(input, tap) pairs per output pixel, k=${k}, s=${s}`));
  return { row, col, value, top, left };
}
