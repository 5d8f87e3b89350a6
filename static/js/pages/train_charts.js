// Canvas charts of the /train page: line charts with axes, tick values and a legend; weight
// and gradient histograms; the first conv layer's filters. They draw what they are given.

import { fmt } from '../numbers.js';
import { extent, niceTicks } from './train_math.js';

const FONT = '11px system-ui, sans-serif';
const AXIS = '#5b6375';

function sized(canvas, cssHeight) {
  const width = Math.max(160, canvas.clientWidth || canvas.parentElement?.clientWidth || 320);
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(cssHeight * ratio);
  canvas.style.height = `${cssHeight}px`;
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, cssHeight);
  return { ctx, width, height: cssHeight };
}

/**
 * A line chart. series: [{name, colour, points: [[x, y], ...], dots?}]. Options: xLabel,
 * yLabel, yRange ([lo, hi] fixed), xRange, xInteger (whole-number x ticks), height. Non-finite points are skipped (a gap).
 */
export function lineChart(canvas, series, { xLabel = '', yLabel = '', yRange = null,
  height = 200, xRange = null, xInteger = false } = {}) {
  const { ctx, width } = sized(canvas, height);
  const left = 52;
  const right = 10;
  const bottom = 34;
  ctx.font = FONT;
  // The legend first: as many rows as the names need at this width.
  const legend = [];
  let lx = left + 4;
  let row = 0;
  for (const s of series) {
    const w = ctx.measureText(s.name).width + 34;
    if (lx + w > width - right && lx > left + 4) { row += 1; lx = left + 4; }
    legend.push([s, lx, 10 + row * 15]);
    lx += w;
  }
  const top = 22 + row * 15;
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const [x0, x1] = xRange ?? extent(xs.length ? [0, ...xs] : [0, 1]);
  const xt = niceTicks(x0, x1, Math.max(2, Math.floor((width - left) / 70)), xInteger);
  const yt = niceTicks(...(yRange ?? extent(ys)), 4);
  const px = (x) => left + ((x - xt.lo) / (xt.hi - xt.lo || 1)) * (width - left - right);
  const py = (y) => top + (1 - (y - yt.lo) / (yt.hi - yt.lo || 1)) * (height - top - bottom);
  ctx.font = FONT;
  ctx.strokeStyle = '#e3e6ec';
  ctx.fillStyle = AXIS;
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const t of yt.ticks) {
    ctx.beginPath();
    ctx.moveTo(left, py(t));
    ctx.lineTo(width - right, py(t));
    ctx.stroke();
    ctx.fillText(fmt(t), left - 4, py(t));
  }
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const t of xt.ticks) ctx.fillText(fmt(t), px(t), height - bottom + 4);
  ctx.strokeStyle = AXIS;
  ctx.beginPath();
  ctx.moveTo(left, top);
  ctx.lineTo(left, height - bottom);
  ctx.lineTo(width - right, height - bottom);
  ctx.stroke();
  ctx.fillText(xLabel, (left + width - right) / 2, height - 14);
  ctx.save();
  ctx.translate(11, (top + height - bottom) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText(yLabel, 0, -6);
  ctx.restore();
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  for (const [s, legendX, legendY] of legend) {
    ctx.strokeStyle = s.colour;
    ctx.fillStyle = s.colour;
    ctx.lineWidth = 2;
    ctx.beginPath();
    let open = false;
    for (const [x, y] of s.points) {
      if (!Number.isFinite(y)) { open = false; continue; }
      const cy = Math.min(height - bottom, Math.max(top, py(y)));
      if (open) ctx.lineTo(px(x), cy); else ctx.moveTo(px(x), cy);
      open = true;
      if (s.dots) ctx.fillRect(px(x) - 3, cy - 3, 6, 6);
    }
    ctx.stroke();
    ctx.fillRect(legendX, legendY - 2, 14, 3);
    ctx.fillStyle = '#1d2330';
    ctx.fillText(s.name, legendX + 18, legendY);
  }
}

/** A histogram {edges, counts} as bars, with the edge values under it. */
export function histogramChart(canvas, hist, colour, height = 70) {
  const { ctx, width } = sized(canvas, height);
  const counts = hist?.counts ?? [];
  if (!counts.length) return;
  const top = Math.max(...counts) || 1;
  const barW = (width - 4) / counts.length;
  ctx.fillStyle = colour;
  counts.forEach((c, i) => {
    const h = (c / top) * (height - 16);
    ctx.fillRect(2 + i * barW, height - 14 - h, Math.max(1, barW - 1), h);
  });
  ctx.fillStyle = AXIS;
  ctx.font = FONT;
  ctx.textBaseline = 'bottom';
  ctx.textAlign = 'left';
  ctx.fillText(fmt(hist.edges[0]), 2, height);
  ctx.textAlign = 'right';
  ctx.fillText(fmt(hist.edges[hist.edges.length - 1]), width - 2, height);
}

/** The first conv layer's filters {shape: [out, in, kh, kw], values}: one tile per output
 * channel (the mean over input channels), blue negative, red positive, one scale for all. */
export function filterGrid(canvas, snapshot) {
  const [out, inC, kh, kw] = snapshot.shape;
  const cell = 6;
  const gap = 4;
  const perRow = Math.min(out, 8);
  const rows = Math.ceil(out / perRow);
  const w = perRow * (kw * cell + gap);
  const h = rows * (kh * cell + gap);
  canvas.width = w;
  canvas.height = h;
  canvas.style.width = `${Math.min(w * 2, 480)}px`;
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, w, h);
  let scale = 1e-12;
  for (const v of snapshot.values) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
  for (let o = 0; o < out; o += 1) {
    const ox = (o % perRow) * (kw * cell + gap);
    const oy = Math.floor(o / perRow) * (kh * cell + gap);
    for (let y = 0; y < kh; y += 1) {
      for (let x = 0; x < kw; x += 1) {
        let sum = 0;
        for (let c = 0; c < inC; c += 1) sum += snapshot.values[((o * inC + c) * kh + y) * kw + x];
        const t = Math.max(-1, Math.min(1, sum / inC / scale));
        const a = Math.round(255 * (1 - Math.abs(t)));
        ctx.fillStyle = t >= 0 ? `rgb(255,${a},${a})` : `rgb(${a},${a},255)`;
        ctx.fillRect(ox + x * cell, oy + y * cell, cell, cell);
      }
    }
  }
  return scale;
}
