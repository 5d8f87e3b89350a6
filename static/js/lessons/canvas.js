// Canvas helpers for the lessons: a crisp canvas of a given logical size, pointer
// coordinates in that size, and labelled axes.

import { ticks } from './plot.js';

/** Size the canvas's backing store for width x height logical pixels at the device's pixel
 * ratio; returns a cleared context that draws in logical pixels. CSS may scale the element. */
export function prepare(canvas, width, height) {
  const ratio = window.devicePixelRatio || 1;
  const w = Math.round(width * ratio);
  const h = Math.round(height * ratio);
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return ctx;
}

/** A pointer event's position in the canvas's logical pixels (width x height). */
export function pointerPosition(canvas, event, width, height) {
  const rect = canvas.getBoundingClientRect();
  return {
    x: ((event.clientX - rect.left) / rect.width) * width,
    y: ((event.clientY - rect.top) / rect.height) * height,
  };
}

/** Axes with ticks and labels around the plot box {left, top, right, bottom}. */
export function drawAxes(ctx, box, sx, sy, { xTicks, yTicks, xLabel, yLabel, yRight = null }) {
  ctx.save();
  ctx.strokeStyle = '#5b6375';
  ctx.fillStyle = '#1d2330';
  ctx.lineWidth = 1;
  ctx.font = '11px system-ui, sans-serif';
  ctx.strokeRect(box.left, box.top, box.right - box.left, box.bottom - box.top);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const t of xTicks) {
    const x = sx(t);
    ctx.beginPath(); ctx.moveTo(x, box.bottom); ctx.lineTo(x, box.bottom + 4); ctx.stroke();
    ctx.fillText(String(t), x, box.bottom + 5);
  }
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const t of yTicks) {
    const y = sy(t);
    ctx.beginPath(); ctx.moveTo(box.left - 4, y); ctx.lineTo(box.left, y); ctx.stroke();
    ctx.fillText(String(t), box.left - 6, y);
  }
  if (yRight) {
    ctx.textAlign = 'left';
    for (const t of yRight.ticks) {
      const y = yRight.scale(t);
      ctx.beginPath(); ctx.moveTo(box.right, y); ctx.lineTo(box.right + 4, y); ctx.stroke();
      ctx.fillText(String(t), box.right + 6, y);
    }
  }
  ctx.textAlign = 'center';
  ctx.textBaseline = 'bottom';
  ctx.font = '12px system-ui, sans-serif';
  ctx.fillText(xLabel, (box.left + box.right) / 2, box.bottom + 32);
  ctx.save();
  ctx.translate(box.left - 30, (box.top + box.bottom) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText(yLabel, 0, 0);
  ctx.restore();
  if (yRight && yRight.label) {
    ctx.save();
    ctx.translate(box.right + 38, (box.top + box.bottom) / 2);
    ctx.rotate(Math.PI / 2);
    ctx.fillText(yRight.label, 0, 0);
    ctx.restore();
  }
  ctx.restore();
}

export { ticks };
