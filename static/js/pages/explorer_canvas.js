// Canvas helpers shared by the two explorers: a crisp square canvas and a hatched rectangle
// (padding and "never read" cells).

/** Size a square canvas to cssSize CSS pixels at the device's pixel ratio; returns a cleared
 * 2-D context that draws in CSS pixels. setWidth also fixes the element's CSS width. */
export function prepareCanvas(canvas, cssSize, { setWidth = false } = {}) {
  const ratio = window.devicePixelRatio || 1;
  if (setWidth) canvas.style.width = `${cssSize}px`;
  const size = Math.round(cssSize * ratio);
  if (canvas.width !== size) { canvas.width = size; canvas.height = size; }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, cssSize, cssSize);
  return ctx;
}

/** Fill a rectangle with `background` and diagonal `line` hatching every `spacing` pixels. */
export function hatch(ctx, x, y, w, h, background, line, spacing = 8) {
  ctx.save();
  ctx.fillStyle = background;
  ctx.fillRect(x, y, w, h);
  ctx.beginPath();
  ctx.rect(x, y, w, h);
  ctx.clip();
  ctx.strokeStyle = line;
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (let d = -h; d < w; d += spacing) {
    ctx.moveTo(x + d, y + h);
    ctx.lineTo(x + d + h, y);
  }
  ctx.stroke();
  ctx.restore();
}
