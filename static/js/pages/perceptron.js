// The perceptron lesson: points on a plane, a model trained live by the server, its decision
// regions (computed by the server on a grid), boundaries, the hidden space, loss and accuracy.

import { drawAxes, pointerPosition, prepare } from '../lessons/canvas.js';
import { drawLossCurve } from '../lessons/charts.js';
import { perceptronDataset, perceptronTrain } from '../lessons/api.js';
import {
  CLASS_COLOURS, clamp, linearScale, nearestPoint, niceStep, probabilityColour, ticks,
} from '../lessons/plot.js';

const PLANE = 420;
const HIDDEN = 320;
const MAX_STEPS = 4000;
const rgb = ([r, g, b], a = 1) => `rgba(${r}, ${g}, ${b}, ${a})`;

export function mount(root) {
  const $ = (id) => root.querySelector(`#${id}`);
  const ui = {
    dataset: $('pc-dataset'), n: $('pc-n'), seed: $('pc-seed'), model: $('pc-model'),
    width: $('pc-width'), widthField: $('pc-width-field'), activation: $('pc-activation'),
    activationField: $('pc-activation-field'), lr: $('pc-lr'), play: $('pc-play'),
    step: $('pc-step'), reset: $('pc-reset'), speed: $('pc-speed'), error: $('pc-error'),
    readout: $('pc-readout'), plane: $('pc-plane'), hidden: $('pc-hidden'),
    hiddenCaption: $('pc-hidden-caption'), curve: $('pc-curve'),
    stepTable: root.querySelector('#pc-step-table tbody'),
    historyRange: $('pc-history'), historyLabel: $('pc-history-label'),
  };
  const state = {
    points: [], extent: 2.5, result: null, trainState: null, history: [], playing: false,
    queue: Promise.resolve(), dragging: -1,
  };

  const box = { left: 44, top: 10, right: PLANE - 10, bottom: PLANE - 44 };
  const sx = () => linearScale([-state.extent, state.extent], [box.left, box.right]);
  const sy = () => linearScale([-state.extent, state.extent], [box.bottom, box.top]);

  function showError(error) {
    ui.error.hidden = !error;
    ui.error.textContent = error ? `${error.message}` : '';
  }

  function modelBody(steps) {
    const model = ui.model.value;
    const width = clamp(Math.round(Number(ui.width.value) || 3), 1, 16);
    const lr = Number(ui.lr.value);
    return {
      points: state.points, model, width, activation: ui.activation.value,
      learning_rate: Number.isFinite(lr) && lr > 0 ? Math.min(lr, 10) : 0.5,
      steps, seed: clamp(Math.round(Number(ui.seed.value) || 0), 0, 4294967295),
      grid_size: 61, state: state.trainState || {},
    };
  }

  // Requests run one after another, in the order they were asked for: each continues from
  // the state the previous one returned.
  function run(steps) {
    state.queue = state.queue.then(() => runNow(steps));
    return state.queue;
  }

  async function runNow(steps) {
    try {
      const result = await perceptronTrain(modelBody(steps));
      state.result = result;
      state.trainState = result.state;
      const following = Number(ui.historyRange.value) >= state.history.length;
      for (const s of result.steps) {
        const p = s.point === undefined || s.point === null ? null : state.points[s.point];
        state.history.push({ ...s, at: p ? { x: p.x, y: p.y } : null });
      }
      ui.historyRange.max = String(state.history.length);
      if (following) ui.historyRange.value = String(state.history.length);
      showError(null);
      draw();
    } catch (error) {
      showError(error);
      stop();
    }
  }

  function stop() {
    state.playing = false;
    ui.play.setAttribute('aria-pressed', 'false');
    ui.play.textContent = 'Train';
  }

  async function loop() {
    while (state.playing) {
      await run(Number(ui.speed.value));
      if ((state.trainState && state.trainState.step >= MAX_STEPS)) stop();
      await new Promise((resolve) => requestAnimationFrame(resolve));
    }
  }

  async function resetWeights() {
    state.trainState = null;
    state.history = [];
    ui.historyRange.max = '0';
    ui.historyRange.value = '0';
    await run(0);
  }

  async function loadData() {
    stop();
    try {
      const n = clamp(Math.round(Number(ui.n.value) || 40), 4, 400);
      const seed = clamp(Math.round(Number(ui.seed.value) || 0), 0, 4294967295);
      const data = await perceptronDataset(ui.dataset.value, { n, seed });
      state.points = data.points;
      state.extent = data.extent;
      showError(null);
    } catch (error) {
      showError(error);
      return;
    }
    await resetWeights();
  }

  function syncModelFields() {
    const mlp = ui.model.value === 'mlp';
    ui.widthField.hidden = !mlp;
    ui.activationField.hidden = !mlp;
    if (ui.model.value === 'perceptron' && Number(ui.lr.value) === 0.5) ui.lr.value = '0.1';
  }

  // ---------------------------------------------------------------- drawing

  function drawPlane() {
    const ctx = prepare(ui.plane, PLANE, PLANE);
    const x = sx();
    const y = sy();
    const result = state.result;
    if (result) {
      const n = result.grid_size;
      const cell = (box.right - box.left) / (n - 1);
      for (let r = 0; r < n; r += 1) {
        for (let c = 0; c < n; c += 1) {
          ctx.fillStyle = rgb(probabilityColour(result.grid[r][c]));
          ctx.fillRect(box.left + (c - 0.5) * cell, box.top + (r - 0.5) * cell, cell + 0.5, cell + 0.5);
        }
      }
    }
    ctx.clearRect(0, 0, PLANE, box.top);
    ctx.clearRect(0, box.bottom, PLANE, PLANE - box.bottom);
    ctx.clearRect(0, 0, box.left, PLANE);
    ctx.clearRect(box.right, 0, PLANE - box.right, PLANE);
    const step = niceStep(2 * state.extent, 5);
    drawAxes(ctx, box, x, y, {
      xTicks: ticks(-state.extent, state.extent, step), yTicks: ticks(-state.extent, state.extent, step),
      xLabel: 'x₁', yLabel: 'x₂',
    });
    ctx.save();
    ctx.beginPath();
    ctx.rect(box.left, box.top, box.right - box.left, box.bottom - box.top);
    ctx.clip();
    if (result && result.hidden) {
      ctx.setLineDash([6, 4]);
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = '#5b6375';
      ctx.fillStyle = '#1d2330';
      ctx.font = '11px system-ui, sans-serif';
      result.hidden.lines.forEach((seg, j) => {
        if (!seg) return;
        ctx.beginPath(); ctx.moveTo(x(seg[0][0]), y(seg[0][1])); ctx.lineTo(x(seg[1][0]), y(seg[1][1])); ctx.stroke();
        const mx = clamp((x(seg[0][0]) + x(seg[1][0])) / 2, box.left + 10, box.right - 20);
        const my = clamp((y(seg[0][1]) + y(seg[1][1])) / 2, box.top + 10, box.bottom - 10);
        ctx.fillText(`h${j + 1}`, mx + 4, my - 4);
      });
      ctx.setLineDash([]);
    }
    if (result && result.boundary) {
      const [[x0, y0], [x1, y1]] = result.boundary;
      ctx.strokeStyle = '#1d2330';
      ctx.lineWidth = 2.5;
      ctx.beginPath(); ctx.moveTo(x(x0), y(y0)); ctx.lineTo(x(x1), y(y1)); ctx.stroke();
    }
    const wrong = new Set(result ? result.misclassified_points : []);
    const last = result && result.steps.length ? result.steps[result.steps.length - 1] : null;
    state.points.forEach((p, i) => {
      ctx.beginPath();
      ctx.arc(x(p.x), y(p.y), 5, 0, 2 * Math.PI);
      ctx.fillStyle = rgb(CLASS_COLOURS[p.label]);
      ctx.fill();
      ctx.lineWidth = wrong.has(i) ? 2.5 : 1;
      ctx.strokeStyle = wrong.has(i) ? '#d7191c' : '#fff';
      ctx.stroke();
      if (last && last.point === i) {
        ctx.beginPath();
        ctx.arc(x(p.x), y(p.y), 9, 0, 2 * Math.PI);
        ctx.lineWidth = 2;
        ctx.strokeStyle = '#1a9641';
        ctx.stroke();
      }
    });
    ctx.restore();
  }

  function drawHidden() {
    const ctx = prepare(ui.hidden, HIDDEN, HIDDEN);
    const hidden = state.result && state.result.hidden;
    if (!hidden) {
      ui.hiddenCaption.textContent = 'No hidden layer: a single unit sees the plane directly, so its boundary is one straight line.';
      ctx.fillStyle = '#5b6375';
      ctx.font = '13px system-ui, sans-serif';
      ctx.textAlign = 'center';
      ctx.fillText('(no hidden layer)', HIDDEN / 2, HIDDEN / 2);
      return;
    }
    ui.hiddenCaption.textContent = 'The hidden space, seen along two axes: right, the output unit\'s input w₂·h + b₂ (its boundary is the vertical line at 0); up, the direction in which the hidden outputs spread most apart from that. Once the classes fall on either side of the line, one unit separates them.';
    const b = { left: 40, top: 10, right: HIDDEN - 10, bottom: HIDDEN - 44 };
    const zs = hidden.projection.map((p) => p[0]);
    const vs = hidden.projection.map((p) => p[1]);
    const zMax = Math.max(1, ...zs.map(Math.abs)) * 1.1;
    const vMax = Math.max(0.5, ...vs.map(Math.abs)) * 1.1;
    const x = linearScale([-zMax, zMax], [b.left, b.right]);
    const y = linearScale([-vMax, vMax], [b.bottom, b.top]);
    ctx.fillStyle = rgb(probabilityColour(0.1));
    ctx.fillRect(b.left, b.top, x(0) - b.left, b.bottom - b.top);
    ctx.fillStyle = rgb(probabilityColour(0.9));
    ctx.fillRect(x(0), b.top, b.right - x(0), b.bottom - b.top);
    const zStep = niceStep(2 * zMax, 4);
    const vStep = niceStep(2 * vMax, 4);
    drawAxes(ctx, b, x, y, {
      xTicks: ticks(-zMax, zMax, zStep), yTicks: ticks(-vMax, vMax, vStep),
      xLabel: 'w₂·h + b₂', yLabel: 'spread of h',
    });
    ctx.strokeStyle = '#1d2330';
    ctx.lineWidth = 2.5;
    ctx.beginPath(); ctx.moveTo(x(0), b.top); ctx.lineTo(x(0), b.bottom); ctx.stroke();
    hidden.projection.forEach(([z, v], i) => {
      ctx.beginPath();
      ctx.arc(x(z), y(v), 4.5, 0, 2 * Math.PI);
      ctx.fillStyle = rgb(CLASS_COLOURS[state.points[i] ? state.points[i].label : 0]);
      ctx.fill();
      ctx.strokeStyle = '#fff';
      ctx.lineWidth = 1;
      ctx.stroke();
    });
  }

  const fmt = (v) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(4)) : String(v));
  const fmtParams = (params) => Object.entries(params)
    .map(([k, v]) => `${k} = ${JSON.stringify(v, (_, n) => (typeof n === 'number' ? Number(n.toFixed(4)) : n))}`)
    .join('; ');

  function drawTable() {
    const result = state.result;
    ui.stepTable.replaceChildren();
    const chosen = Number(ui.historyRange.value);
    const last = chosen >= 1 ? state.history[chosen - 1] : null;
    ui.historyLabel.textContent = last ? `${last.step} of ${state.history.length}` : 'the start';
    const rows = [];
    if (!last) {
      rows.push(['step', result ? String(result.state.step) : '0']);
      if (result) rows.push(['weights', fmtParams(result.state.weights)]);
    } else {
      rows.push(['step', `${last.step} (epoch ${last.epoch})`]);
      if (last.point !== null && last.point !== undefined) {
        const p = last.at;
        rows.push(['point visited', `#${last.point} (${fmt(p ? p.x : NaN)}, ${fmt(p ? p.y : NaN)}), label ${last.label}`]);
        rows.push(['w·x + b before', fmt(last.activation)]);
        rows.push(['misclassified?', last.misclassified ? 'yes: w += lr·y·x, b += lr·y' : 'no: no change']);
      } else {
        rows.push(['loss before the step', fmt(last.loss_before)]);
      }
      rows.push(['update', fmtParams(last.update)]);
      rows.push(['weights after', fmtParams(last.weights)]);
      rows.push(['loss, accuracy after', `${fmt(last.loss)}, ${(100 * last.accuracy).toFixed(1)}%`]);
    }
    for (const [k, v] of rows) {
      const tr = document.createElement('tr');
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = k;
      const td = document.createElement('td');
      td.textContent = v;
      tr.append(th, td);
      ui.stepTable.append(tr);
    }
  }

  function drawReadout() {
    const r = state.result;
    if (!r) { ui.readout.textContent = ''; return; }
    const best = state.history.reduce((m, h) => Math.max(m, h.accuracy), r.accuracy);
    ui.readout.textContent = `step ${r.state.step} · loss ${r.loss.toFixed(4)} · accuracy ${(100 * r.accuracy).toFixed(1)}% `
      + `(best so far ${(100 * best).toFixed(1)}%) · ${r.misclassified_points.length} of ${state.points.length} points wrong`;
  }

  function draw() {
    drawPlane();
    drawHidden();
    drawLossCurve(ui.curve, state.history);
    drawTable();
    drawReadout();
  }

  // ---------------------------------------------------------------- dragging

  function planePoint(event) {
    const p = pointerPosition(ui.plane, event, PLANE, PLANE);
    return { x: sx().invert(p.x), y: sy().invert(p.y) };
  }

  ui.plane.addEventListener('pointerdown', (event) => {
    const p = planePoint(event);
    const i = nearestPoint(state.points, p.x, p.y, 0.2);
    if (i < 0) return;
    state.dragging = i;
    ui.plane.setPointerCapture(event.pointerId);
    event.preventDefault();
  });
  ui.plane.addEventListener('pointermove', (event) => {
    if (state.dragging < 0) return;
    const p = planePoint(event);
    const e = state.extent;
    state.points[state.dragging] = {
      ...state.points[state.dragging], x: clamp(p.x, -e, e), y: clamp(p.y, -e, e),
    };
    drawPlane();
  });
  const endDrag = () => {
    if (state.dragging < 0) return;
    state.dragging = -1;
    if (!state.playing) run(0);
  };
  ui.plane.addEventListener('pointerup', endDrag);
  ui.plane.addEventListener('pointercancel', endDrag);

  // ---------------------------------------------------------------- controls

  ui.play.addEventListener('click', () => {
    if (state.playing) { stop(); return; }
    state.playing = true;
    ui.play.setAttribute('aria-pressed', 'true');
    ui.play.textContent = 'Pause';
    loop();
  });
  ui.step.addEventListener('click', () => { stop(); run(1); });
  ui.historyRange.addEventListener('input', drawTable);
  ui.reset.addEventListener('click', () => { stop(); resetWeights(); });
  for (const el of [ui.dataset, ui.n, ui.seed]) el.addEventListener('change', loadData);
  for (const el of [ui.model, ui.width, ui.activation]) {
    el.addEventListener('change', () => { stop(); syncModelFields(); resetWeights(); });
  }

  syncModelFields();
  loadData();
}
