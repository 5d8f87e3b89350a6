// Training curves for the lessons: loss (left axis) and accuracy (right axis) per step.

import { drawAxes, prepare } from './canvas.js';
import { linearScale, niceStep, ticks } from './plot.js';

const CURVE_W = 640;
const CURVE_H = 200;

/** Draw history [{loss, accuracy}] on the canvas (640x200 logical pixels), with the 75%
 * line that a single linear unit cannot pass on XOR. */
export function drawLossCurve(canvas, history) {
  const ctx = prepare(canvas, CURVE_W, CURVE_H);
  const b = { left: 48, top: 10, right: CURVE_W - 48, bottom: CURVE_H - 40 };
  const count = Math.max(1, history.length);
  const lossMax = Math.max(0.1, ...history.map((h) => h.loss)) * 1.05;
  const x = linearScale([0, count], [b.left, b.right]);
  const yLoss = linearScale([0, lossMax], [b.bottom, b.top]);
  const yAcc = linearScale([0, 1], [b.bottom, b.top]);
  drawAxes(ctx, b, x, yLoss, {
    xTicks: ticks(0, count, niceStep(count, 6)), yTicks: ticks(0, lossMax, niceStep(lossMax, 4)),
    xLabel: 'step', yLabel: 'loss',
    yRight: { scale: yAcc, ticks: [0, 0.25, 0.5, 0.75, 1], label: 'accuracy' },
  });
  ctx.save();
  ctx.setLineDash([3, 3]);
  ctx.strokeStyle = '#b3261e';
  ctx.beginPath(); ctx.moveTo(b.left, yAcc(0.75)); ctx.lineTo(b.right, yAcc(0.75)); ctx.stroke();
  ctx.restore();
  const line = (key, scale, colour) => {
    ctx.strokeStyle = colour;
    ctx.lineWidth = 2;
    ctx.beginPath();
    history.forEach((h, i) => {
      const px = x(i + 1);
      const py = scale(h[key]);
      if (i === 0) ctx.moveTo(px, py); else ctx.lineTo(px, py);
    });
    ctx.stroke();
  };
  line('loss', yLoss, '#1f5fa8');
  line('accuracy', yAcc, '#e66100');
  ctx.font = '12px system-ui, sans-serif';
  ctx.fillStyle = '#1f5fa8';
  ctx.fillText('— loss', b.left + 8, b.top + 14);
  ctx.fillStyle = '#e66100';
  ctx.fillText('— accuracy', b.left + 70, b.top + 14);
  ctx.fillStyle = '#b3261e';
  ctx.fillText('75%', b.right - 28, yAcc(0.75) - 4);
}
