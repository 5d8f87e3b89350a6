// One feature-map canvas of the overview: its size on screen, and its hover, click and
// keyboard wiring (arrow keys move a cursor between units, Enter selects). Used by the
// overview's full columns and by the summary strips of large nodes (overview_strip.js).

import { denseCellOf, denseUnitAt } from './overview_grid.js';

function element(tag, className) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  return node;
}

/** On-screen size of one map cell, so that small maps stay readable and large ones fit. */
function cellSize(h, w) {
  const side = Math.max(h, w);
  return Math.max(2, Math.min(8, Math.round(42 / side)));
}

/** Where a pointer event falls on a canvas of h x w cells -> [row, col]. */
export function cellAt(canvas, event, h, w) {
  const rect = canvas.getBoundingClientRect();
  const row = Math.floor(((event.clientY - rect.top) / rect.height) * h);
  const col = Math.floor(((event.clientX - rect.left) / rect.width) * w);
  return [Math.min(h - 1, Math.max(0, row)), Math.min(w - 1, Math.max(0, col))];
}

/** Size a canvas of h x w cells on screen (cellSize pixels a cell). */
export function sizeCanvas(canvas, h, w) {
  const cell = cellSize(h, w);
  canvas.style.width = `${w * cell}px`;
  canvas.style.height = `${h * cell}px`;
}

/** Hover, click and keyboard for one map canvas; returns its {wrapper, h, w, dense}.
 * `offset`: where the channel's plane starts in tensor.data (default channel * h * w; a
 * fetched one-channel tensor of a summary strip passes 0). */
export function wireMap(canvas, {
  layerIndex, channel, h, w, toUnit, ctx, tensor, dense = null, offset = null,
}) {
  canvas.setAttribute('data-testid', `fmap-${layerIndex}-${channel}`);
  canvas.dataset.layer = String(layerIndex);
  canvas.dataset.channel = String(channel);
  canvas.tabIndex = 0;
  canvas.setAttribute('role', 'button');
  canvas.setAttribute('aria-label', `${canvas.title || `layer ${layerIndex} map ${channel}`}; `
    + 'arrow keys move between units, Enter shows the detail');
  const wrapper = element('div', 'fmap');
  wrapper.append(canvas);
  const valueOf = (unit) => {
    if (tensor.shape.length !== 3) return tensor.data[unit.channel];
    const [, th, tw] = tensor.shape;
    return tensor.data[(offset ?? unit.channel * th * tw) + unit.y * tw + unit.x];
  };
  canvas.addEventListener('pointermove', (event) => {
    const unit = toUnit(event);
    ctx.onHover?.(unit, unit ? valueOf(unit) : null);
  });
  canvas.addEventListener('pointerleave', () => ctx.onHover?.(null, null));
  canvas.addEventListener('click', (event) => {
    const unit = toUnit(event);
    if (unit) ctx.onSelect?.(unit, { keyboard: false });
  });
  // Keyboard: arrow keys move a cursor between the map's units (starting at its strongest
  // unit, the largest |value|), shown like a hover; Enter / Space selects the cursor's unit.
  let cursor = null;
  canvas.addEventListener('blur', () => {
    if (cursor) ctx.onHover?.(null, null);
  });
  canvas.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      ctx.onSelect?.(cursor || strongestUnit(tensor, layerIndex, channel, dense, offset), { keyboard: true });
      return;
    }
    const move = ARROWS[event.key];
    if (!move) return;
    event.preventDefault();
    cursor = moveUnit(cursor || strongestUnit(tensor, layerIndex, channel, dense, offset), move, { h, w, dense });
    ctx.onHover?.(cursor, valueOf(cursor));
  });
  return { wrapper, h, w, dense };
}

const ARROWS = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };

/** A unit moved by [dy, dx] within its map (clamped); a dense unit moves along its strip's
 * grid (up / down by one unit, left / right by one column). */
export function moveUnit(unit, [dy, dx], { h, w, dense = null }) {
  if (dense) {
    const [row, col] = denseCellOf(unit.channel, dense.rows);
    const r = Math.min(dense.rows - 1, Math.max(0, row + dy));
    const c = Math.min(dense.cols - 1, Math.max(0, col + dx));
    const next = Math.min(dense.n - 1, denseUnitAt(r, c, dense.rows));
    return { ...unit, channel: next, y: 0, x: 0 };
  }
  return {
    ...unit,
    y: Math.min(h - 1, Math.max(0, unit.y + dy)),
    x: Math.min(w - 1, Math.max(0, unit.x + dx)),
  };
}

/** The unit of largest |value| in a map (or in a dense layer). */
export function strongestUnit(tensor, layerIndex, channel, dense, planeOffset = null) {
  if (dense || tensor.shape.length !== 3) {
    let best = 0;
    for (let i = 1; i < tensor.data.length; i += 1) {
      if (Math.abs(tensor.data[i]) > Math.abs(tensor.data[best])) best = i;
    }
    return { layerIndex, channel: best, y: 0, x: 0 };
  }
  const [, h, w] = tensor.shape;
  const offset = planeOffset ?? channel * h * w;
  let best = 0;
  for (let i = 1; i < h * w; i += 1) {
    if (Math.abs(tensor.data[offset + i]) > Math.abs(tensor.data[offset + best])) best = i;
  }
  return { layerIndex, channel, y: Math.floor(best / w), x: best % w };
}
