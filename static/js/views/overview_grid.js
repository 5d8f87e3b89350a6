// The overview's grids: how many maps a layer output gets, and the cell grid of a dense
// strip (unit i at row i % rows, column floor(i / rows)). Pure (no DOM).

// A dense strip is tall and narrow (columns of at most DENSE_MAX_ROWS cells) beside the other
// layers; when the layers are stacked (phones) it is a block about twice as wide as tall that
// fits in COMPACT_WIDTH pixels.
const DENSE_MAX_ROWS = 40;
export const COMPACT_WIDTH = 220;

/** How many canvases a layer output of this shape gets: C for (C, H, W), 1 for dense (N,). */
export function mapCount(shape) {
  return shape.length === 3 ? shape[0] : 1;
}

/** The cell grid of a dense strip of n units, unit i at (row i % rows, column floor(i / rows)):
 * columns of at most DENSE_MAX_ROWS cells, or (compact) about twice as wide as tall. */
export function denseGrid(n, compact = false) {
  const wanted = compact ? Math.ceil(Math.sqrt(2 * n)) : Math.ceil(n / DENSE_MAX_ROWS);
  const rows = Math.ceil(n / Math.max(1, wanted));
  return { rows, cols: Math.ceil(n / rows) };
}

/** Unit i of a dense strip with `rows` rows -> its cell [row, col] (columns read downwards). */
export function denseCellOf(unit, rows) {
  return [unit % rows, Math.floor(unit / rows)];
}

/** The inverse of denseCellOf: the unit in cell (row, col). */
export function denseUnitAt(row, col, rows) {
  return col * rows + row;
}

/** The per-unit values of a dense layer laid out on its grid (row-major), NaN where unused. */
export function denseCells(data, n, compact = false) {
  const { rows, cols } = denseGrid(n, compact);
  const cells = new Float32Array(rows * cols).fill(NaN);
  for (let i = 0; i < n; i += 1) {
    const [row, col] = denseCellOf(i, rows);
    cells[row * cols + col] = data[i];
  }
  return { rows, cols, cells };
}

