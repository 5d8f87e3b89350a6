// The equivariance lesson: shift a digit, compare f(shift x) with shift(f x) layer by layer
// (errors from the server), and the CNN's and the MLP's answers across shifts -4..4.

import { equivariance, equivarianceCurve } from '../lessons/api.js';
import { drawAxes, prepare } from '../lessons/canvas.js';
import { clamp, divergingColour, linearScale, ticks } from '../lessons/plot.js';

const DIGIT = 112;
const MAPS_W = 640;
const CURVE_W = 640;
const CURVE_H = 240;
const COLOURS = { lenet5: '#4e79a7', mlp: '#e15759' };

function errorText(v) {
  if (v === null || v === undefined) return '—';
  return v < 1e-12 ? '0' : v.toExponential(1);
}

export function mount(root) {
  const $ = (id) => root.querySelector(`#${id}`);
  const ui = {
    sample: $('eq-sample'), dy: $('eq-dy'), dx: $('eq-dx'), dyValue: $('eq-dy-value'),
    dxValue: $('eq-dx-value'), layer: $('eq-layer'), error: $('eq-error'),
    input: $('eq-input'), shifted: $('eq-shifted'), shiftedCaption: $('eq-shifted-caption'),
    maps: $('eq-maps'), mapsCaption: $('eq-maps-caption'),
    table: root.querySelector('#eq-table tbody'), axis: $('eq-axis'), curve: $('eq-curve'),
    curveReadout: $('eq-curve-readout'),
  };
  const tickets = { maps: 0, curve: 0 };

  function showError(error) {
    ui.error.hidden = !error;
    ui.error.textContent = error ? error.message : '';
  }

  function sample() {
    const v = clamp(Math.round(Number(ui.sample.value) || 0), 0, 499);
    ui.sample.value = String(v);
    return v;
  }

  function grey(canvas, plane) {
    const ctx = prepare(canvas, DIGIT, DIGIT);
    const cell = DIGIT / plane.length;
    plane.forEach((row, i) => row.forEach((v, j) => {
      const g = Math.round(255 * clamp(v, 0, 1));
      ctx.fillStyle = `rgb(${g}, ${g}, ${g})`;
      ctx.fillRect(j * cell, i * cell, cell + 0.5, cell + 0.5);
    }));
  }

  // ---------------------------------------------------------------- maps and errors

  function drawMaps(d) {
    const m = d.maps;
    const rows = m.shifted_of ? 2 : 1;
    const gap = 6;
    const label = 96;
    const tile = Math.min(72, (MAPS_W - label - gap * (m.channels - 1)) / m.channels);
    const height = rows * (tile + gap) + 4;
    const ctx = prepare(ui.maps, MAPS_W, height);
    ctx.font = '11px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    const sets = m.shifted_of ? [m.of_shifted, m.shifted_of] : [m.of_shifted];
    const names = ['f(shift x)', 'shift(f x)'];
    sets.forEach((volume, r) => {
      const top = r * (tile + gap);
      ctx.fillStyle = '#1d2330';
      ctx.fillText(names[r], 2, top + tile / 2);
      volume.forEach((plane, c) => {
        const limit = Math.max(...m.of_shifted[c].flat().map(Math.abs), 1e-9);
        const left = label + c * (tile + gap);
        const h = plane.length;
        const w = plane[0].length;
        plane.forEach((row, i) => row.forEach((v, j) => {
          ctx.fillStyle = divergingColour(v, limit);
          ctx.fillRect(left + (j * tile) / w, top + (i * tile) / h, tile / w + 0.5, tile / h + 0.5);
        }));
        ctx.strokeStyle = '#8a93a6';
        ctx.lineWidth = 1;
        ctx.strokeRect(left + 0.5, top + 0.5, tile - 1, tile - 1);
        if (m.interior_rows) {  // the interior compared, outlined
          const r0 = m.interior_rows.indexOf(true);
          const r1 = m.interior_rows.lastIndexOf(true);
          const c0 = m.interior_cols.indexOf(true);
          const c1 = m.interior_cols.lastIndexOf(true);
          if (r0 >= 0 && c0 >= 0) {
            ctx.strokeStyle = '#1a9641';
            ctx.lineWidth = 1.5;
            ctx.strokeRect(left + (c0 * tile) / w, top + (r0 * tile) / h,
              ((c1 - c0 + 1) * tile) / w, ((r1 - r0 + 1) * tile) / h);
          }
        }
      });
    });
    ui.maps.style.aspectRatio = `${MAPS_W} / ${height}`;
  }

  function fillTable(d) {
    ui.table.replaceChildren(...d.layers.map((row) => {
      const tr = document.createElement('tr');
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = row.name;
      const shift = row.shift ? `(${row.shift.join(', ')})${row.whole ? '' : ' non-integer'}` : '—';
      const cells = [
        row.jump ? row.jump[0] : '—', shift, errorText(row.equivariance_error),
        errorText(row.equivariance_error_full), errorText(row.invariance_error),
      ];
      tr.append(th, ...cells.map((text) => {
        const td = document.createElement('td');
        td.textContent = String(text);
        return td;
      }));
      if (row.name === d.maps.layer) tr.classList.add('selected');
      return tr;
    }));
  }

  function fillLayers(d) {
    const spatial = d.layers.filter((r) => r.jump).map((r) => r.name);
    if (ui.layer.options.length === spatial.length) return;
    ui.layer.replaceChildren(...spatial.map((name) => new Option(name, name)));
    ui.layer.value = d.maps.layer;
  }

  async function loadMaps() {
    const ticket = ++tickets.maps;
    ui.dyValue.textContent = ui.dy.value;
    ui.dxValue.textContent = ui.dx.value;
    const params = { sample: sample(), dy: ui.dy.value, dx: ui.dx.value };
    if (ui.layer.value) params.layer = ui.layer.value;
    try {
      const d = await equivariance(params);
      if (ticket !== tickets.maps) return;
      showError(null);
      fillLayers(d);
      grey(ui.input, d.input);
      grey(ui.shifted, d.shifted_input);
      ui.shiftedCaption.textContent = `shift(x): ${d.dy} down, ${d.dx} right`;
      drawMaps(d);
      const row = d.layers.find((r) => r.name === d.maps.layer);
      ui.mapsCaption.textContent = row.whole
        ? `${d.maps.layer}, first ${d.maps.channels} channels: the feature maps of the shifted input (top) and the `
          + `original's maps shifted by (${row.shift.join(', ')}) positions (bottom). Inside the green box they are `
          + `equal up to float rounding: error ${errorText(row.equivariance_error)}.`
        : `${d.maps.layer}, first ${d.maps.channels} channels of f(shift x). Its outputs are ${row.jump[0]} pixels `
          + `apart, so this shift is (${row.shift.join(', ')}) positions: not a whole number, and no shift of `
          + 'the original maps matches. Try an even shift.';
      fillTable(d);
    } catch (error) {
      if (ticket === tickets.maps) showError(error);
    }
  }

  // ---------------------------------------------------------------- the curve

  function drawCurve(c) {
    const ctx = prepare(ui.curve, CURVE_W, CURVE_H);
    const box = { left: 48, top: 12, right: CURVE_W - 110, bottom: CURVE_H - 36 };
    const sx = linearScale([-4, 4], [box.left, box.right]);
    const sy = linearScale([0, 1], [box.bottom, box.top]);
    drawAxes(ctx, box, sx, sy, {
      xTicks: ticks(-4, 4, 1), yTicks: ticks(0, 1, 0.25),
      xLabel: c.axis === 'x' ? 'shift right (pixels)' : 'shift down (pixels)',
      yLabel: `p(${c.label})`,
    });
    c.models.forEach((m, k) => {
      const colour = COLOURS[m.model] || (k ? '#e15759' : '#4e79a7');
      ctx.strokeStyle = colour;
      ctx.fillStyle = colour;
      ctx.lineWidth = 2;
      ctx.beginPath();
      m.points.forEach((p, i) => {
        const x = sx(p.shift);
        const y = sy(p.label_probability);
        if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y);
      });
      ctx.stroke();
      ctx.font = '10px system-ui, sans-serif';
      ctx.textAlign = 'center';
      m.points.forEach((p) => {
        const x = sx(p.shift);
        const y = sy(p.label_probability);
        ctx.beginPath();
        ctx.arc(x, y, 3, 0, 2 * Math.PI);
        ctx.fill();
        if (p.prediction !== c.label) ctx.fillText(String(p.prediction), x, y - 8 - 10 * k);
      });
      ctx.textAlign = 'left';
      ctx.font = '12px system-ui, sans-serif';
      ctx.fillText(m.model, box.right + 10, box.top + 14 + 18 * k);
    });
  }

  async function loadCurve() {
    const ticket = ++tickets.curve;
    try {
      const c = await equivarianceCurve({ sample: sample(), axis: ui.axis.value });
      if (ticket !== tickets.curve) return;
      showError(null);
      drawCurve(c);
      const right = (m) => m.points.filter((p) => p.prediction === c.label).length;
      ui.curveReadout.textContent = `Probability of the true digit (${c.label}) for shifts −4 to 4; a `
        + 'number above a point is a wrong prediction. Right at '
        + `${c.models.map((m) => `${right(m)} of 9 shifts for ${m.name}`).join(', ')}.`;
    } catch (error) {
      if (ticket === tickets.curve) showError(error);
    }
  }

  ui.sample.addEventListener('change', () => { loadMaps(); loadCurve(); });
  ui.dy.addEventListener('input', loadMaps);
  ui.dx.addEventListener('input', loadMaps);
  ui.layer.addEventListener('change', loadMaps);
  ui.axis.addEventListener('change', loadCurve);
  loadMaps();
  loadCurve();
}
