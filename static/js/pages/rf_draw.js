// Drawing for the receptive-field explorer: the input with the chosen unit's field, and the
// layer's unit grid. Pure drawing from the API's table; no state of its own.

import { pair, receptiveBox } from '../geometry.js';
import { hatch, prepareCanvas } from './explorer_canvas.js';

const COLOURS = {
  image: '#c9d6e8',
  grid: 'rgba(29, 35, 48, 0.12)',
  padding: '#f1f1f1',
  hatch: '#d3d3d3',
  field: 'rgba(230, 97, 0, 0.35)',
  box: '#e66100',
  footprint: '#1f5fa8',
  earlier: 'rgba(29, 35, 48, 0.45)',
  point: '#1d2330',
  unit: '#e0e4ec',
  seeing: '#f6c08f',
  chosen: '#e66100',
};
/** The unit of a layer row nearest to (whose field is centred closest to) an input point. */
export function unitFor(row, point) {
  const size = pair(row.size);
  const jump = pair(row.jump);
  const start = pair(row.start, 0);
  const out = pair(row.output_size);
  return {
    y: Math.min(out[0] - 1, Math.max(0, Math.round((point.y - start[0]) / jump[0]))),
    x: Math.min(out[1] - 1, Math.max(0, Math.round((point.x - start[1]) / jump[1]))),
    size,
  };
}

/** The input-coordinate rectangle that holds the input and every unit box of every layer. */
function extent(table) {
  const [h, w] = table.input_size;
  let y0 = 0; let x0 = 0; let y1 = h - 1; let x1 = w - 1;
  for (const row of table.layers) {
    const last = receptiveBox(row, row.output_size[0] - 1, row.output_size[1] - 1);
    y0 = Math.min(y0, -row.padding[0]);
    x0 = Math.min(x0, -row.padding[1]);
    y1 = Math.max(y1, last.y1);
    x1 = Math.max(x1, last.x1);
  }
  return { y0, x0, y1, x1 };
}

export const INPUT_CSS = 360;
export const UNIT_CSS = 240;

/** Input-canvas geometry: input pixel (y, x) -> canvas point. */
export function inputView(table) {
  const ext = extent(table);
  const spanH = ext.y1 - ext.y0 + 1;
  const spanW = ext.x1 - ext.x0 + 1;
  const scale = (INPUT_CSS - 4) / Math.max(spanH, spanW);
  const offX = 2 + (INPUT_CSS - 4 - spanW * scale) / 2;
  const offY = 2 + (INPUT_CSS - 4 - spanH * scale) / 2;
  return {
    ext, scale,
    px: (x) => offX + (x - ext.x0) * scale,
    py: (y) => offY + (y - ext.y0) * scale,
    toPixel: (cx, cy) => ({ y: Math.floor((cy - offY) / scale + ext.y0), x: Math.floor((cx - offX) / scale + ext.x0) }),
  };
}

function strokeBox(ctx, view, box, colour, width, dash = []) {
  ctx.save();
  ctx.strokeStyle = colour;
  ctx.lineWidth = width;
  ctx.setLineDash(dash);
  const x = view.px(box.x0);
  const y = view.py(box.y0);
  ctx.strokeRect(x, y, view.px(box.x1 + 1) - x, view.py(box.y1 + 1) - y);
  ctx.restore();
}

/** The input canvas: the input, its padding, the chosen unit's field (clipped, whole and
 * footprint) and the followed point's field at every earlier layer. */
export function drawInput(canvas, table, { layerIndex, point }) {
  const ctx = prepareCanvas(canvas, INPUT_CSS);
  const view = inputView(table);
  const { ext } = view;
  const [h, w] = table.input_size;
  hatch(ctx, view.px(ext.x0), view.py(ext.y0), view.px(ext.x1 + 1) - view.px(ext.x0),
    view.py(ext.y1 + 1) - view.py(ext.y0), COLOURS.padding, COLOURS.hatch);
  ctx.fillStyle = COLOURS.image;
  ctx.fillRect(view.px(0), view.py(0), view.px(w) - view.px(0), view.py(h) - view.py(0));
  if (view.scale >= 6) {
    ctx.strokeStyle = COLOURS.grid;
    ctx.beginPath();
    for (let y = 0; y <= h; y++) { ctx.moveTo(view.px(0), view.py(y)); ctx.lineTo(view.px(w), view.py(y)); }
    for (let x = 0; x <= w; x++) { ctx.moveTo(view.px(x), view.py(0)); ctx.lineTo(view.px(x), view.py(h)); }
    ctx.stroke();
  }
  // The same point's field at every earlier layer: the growth the scrubber walks through.
  for (let l = 0; l < layerIndex; l++) {
    const row = table.layers[l];
    const unit = unitFor(row, point);
    strokeBox(ctx, view, receptiveBox(row, unit.y, unit.x), COLOURS.earlier, 1);
  }
  const clipped = table.unit_box_clipped;
  if (clipped) {
    ctx.fillStyle = COLOURS.field;
    ctx.fillRect(view.px(clipped.x0), view.py(clipped.y0), view.px(clipped.x1 + 1) - view.px(clipped.x0), view.py(clipped.y1 + 1) - view.py(clipped.y0));
  }
  strokeBox(ctx, view, table.unit_box, COLOURS.box, 2, [6, 4]);
  if (clipped) strokeBox(ctx, view, clipped, COLOURS.box, 2);
  if (table.unit_footprint) strokeBox(ctx, view, table.unit_footprint, COLOURS.footprint, 2);
  // the followed point
  const cx = view.px(point.x + 0.5);
  const cy = view.py(point.y + 0.5);
  ctx.strokeStyle = COLOURS.point;
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.moveTo(cx - 6, cy); ctx.lineTo(cx + 6, cy);
  ctx.moveTo(cx, cy - 6); ctx.lineTo(cx, cy + 6);
  ctx.stroke();
}

/** Unit-canvas geometry of layer layerIndex's output grid. */
export function unitView(table, layerIndex) {
  const [oh, ow] = table.layers[layerIndex].output_size;
  const cell = (UNIT_CSS - 4) / Math.max(oh, ow);
  const offX = 2 + (UNIT_CSS - 4 - ow * cell) / 2;
  const offY = 2 + (UNIT_CSS - 4 - oh * cell) / 2;
  return { oh, ow, cell, offX, offY };
}

/** The unit canvas: layer layerIndex's units, the chosen one and those seeing the point;
 * returns the caption. */
export function drawUnits(canvas, table, layerIndex) {
  const ctx = prepareCanvas(canvas, UNIT_CSS);
  const row = table.layers[layerIndex];
  const { oh, ow, cell, offX, offY } = unitView(table, layerIndex);
  ctx.fillStyle = COLOURS.unit;
  ctx.fillRect(offX, offY, ow * cell, oh * cell);
  const seeing = row.units_seeing;
  if (seeing) {
    ctx.fillStyle = COLOURS.seeing;
    ctx.fillRect(offX + seeing.x0 * cell, offY + seeing.y0 * cell, (seeing.x1 - seeing.x0 + 1) * cell, (seeing.y1 - seeing.y0 + 1) * cell);
  }
  if (cell >= 5) {
    ctx.strokeStyle = 'rgba(255, 255, 255, 0.9)';
    ctx.beginPath();
    for (let y = 0; y <= oh; y++) { ctx.moveTo(offX, offY + y * cell); ctx.lineTo(offX + ow * cell, offY + y * cell); }
    for (let x = 0; x <= ow; x++) { ctx.moveTo(offX + x * cell, offY); ctx.lineTo(offX + x * cell, offY + oh * cell); }
    ctx.stroke();
  }
  const unit = table.unit;
  ctx.fillStyle = COLOURS.chosen;
  ctx.fillRect(offX + unit.x * cell, offY + unit.y * cell, Math.max(cell, 2), Math.max(cell, 2));
  const count = seeing ? (seeing.y1 - seeing.y0 + 1) * (seeing.x1 - seeing.x0 + 1) : 0;
  return `${row.name}: ${oh}×${ow} units. Orange: the chosen unit; light orange: the ${count} unit${count === 1 ? '' : 's'} whose field holds the marked pixel.`;
}
