// The convolution-arithmetic explorer: one axis of a (transposed) convolution drawn on a square
// input, the window sliding over the padded grid, the output size formula with the numbers in.
// Output sizes come from geometry.js (PyTorch's arithmetic, the one the core uses).

import { outputSize } from '../geometry.js';
import { hatch, prepareCanvas } from './explorer_canvas.js';

const COLOURS = {
  input: '#8fb3dc',
  padding: '#f1f1f1',
  hatch: '#c9c9c9',
  zero: '#ffffff',
  zeroEdge: '#5b6375',
  uncovered: '#fbe3e1',
  uncoveredHatch: '#d9534f',
  window: 'rgba(230, 97, 0, 0.45)',
  windowEdge: '#e66100',
  grid: 'rgba(29, 35, 48, 0.25)',
  output: '#e6efe6',
  computed: '#a9cfa9',
  current: '#e66100',
  text: '#1d2330',
};
const PLAY_MS = 600;
const INPUT_MAX_CSS = 420;
const OUTPUT_MAX_CSS = 220;
const CELL_MAX = 36;

/** Wire the explorer inside root (the page's #ca-page). */
export function mount(root) {
  const $ = (id) => document.getElementById(id);
  const ui = {
    page: $('ca-page'),
    stale: $('ca-stale'),
    fields: { n: $('ca-n'), k: $('ca-k'), s: $('ca-s'), p: $('ca-p'), d: $('ca-d') },
    transposed: $('ca-transposed'),
    formula: $('ca-formula'),
    note: $('ca-note'),
    error: $('ca-error'),
    back: $('ca-back'),
    play: $('ca-play'),
    step: $('ca-step'),
    range: $('ca-range'),
    inputCanvas: $('ca-input-canvas'),
    outputCanvas: $('ca-output-canvas'),
    inputCaption: $('ca-input-caption'),
    outputCaption: $('ca-output-caption'),
    readout: $('ca-readout'),
    legendZero: $('ca-legend-zero'),
  };
  const NAMES = { n: 'input n', k: 'kernel k', s: 'stride s', p: 'padding p', d: 'dilation d' };

  const state = { plan: null, position: 0, timer: null };

  /** The settings, or {error} naming the first field out of its range. */
  function readSettings() {
    const cfg = { transposed: ui.transposed.checked };
    for (const [key, input] of Object.entries(ui.fields)) {
      const value = Number(input.value);
      const lo = Number(input.min);
      const hi = Number(input.max);
      const ok = input.value.trim() !== '' && Number.isInteger(value) && value >= lo && value <= hi;
      input.setAttribute('aria-invalid', String(!ok));
      if (!ok) return { error: `${NAMES[key]} must be a whole number from ${lo} to ${hi}, got “${input.value}”.` };
      cfg[key] = value;
    }
    return cfg;
  }

  /**
   * One axis of the layer as a sliding window over a grid:
   * {grid, o, stride, kind(t) -> 'input' | 'padding' | 'zero', taps(i) -> grid positions,
   *  covered: Set of grid positions some window reads, formula, note}.
   */
  function makePlan(cfg) {
    const { n, k, s, p, d } = cfg;
    const span = d * (k - 1) + 1;
    if (!cfg.transposed) {
      const grid = n + 2 * p;
      const o = outputSize(n, k, s, p, d);
      const numerator = n + 2 * p - d * (k - 1) - 1;
      if (o < 1) {
        return { error: `No output: the kernel spans d(k − 1) + 1 = ${span} cells, more than the padded input n + 2p = ${grid}.` };
      }
      const plan = {
        cfg, grid, o, stride: s,
        kind: (t) => (t < p || t >= p + n ? 'padding' : 'input'),
        formula: `o = ⌊(n + 2p − d(k − 1) − 1) / s⌋ + 1 = ⌊(${n} + 2·${p} − ${d}·(${k} − 1) − 1) / ${s}⌋ + 1 = ⌊${numerator} / ${s}⌋ + 1 = ${o}`,
      };
      const remainder = numerator % s;
      plan.note = remainder === 0
        ? `${numerator} is a multiple of ${s}: the last window ends on the last padded row and column.`
        : `${numerator} is not a multiple of ${s} (remainder ${remainder}): the last ${remainder} padded row${remainder === 1 ? '' : 's'} and column${remainder === 1 ? '' : 's'} are never reached by a window.`;
      return finish(plan, span);
    }
    const stretched = (n - 1) * s + 1;
    const q = d * (k - 1) - p;
    const grid = stretched + 2 * q;
    const o = (n - 1) * s - 2 * p + d * (k - 1) + 1;
    if (o < 1 || grid < span) {
      return { error: `No output: (n − 1)·s − 2p + d(k − 1) + 1 = ${o}. The padding p = ${p} crops more than the stretched input holds.` };
    }
    const plan = {
      cfg, grid, o, stride: 1,
      kind: (t) => {
        const u = t - q;
        if (u < 0 || u >= stretched) return 'padding';
        return u % s === 0 ? 'input' : 'zero';
      },
      formula: `o = (n − 1)·s − 2p + d(k − 1) + 1 = (${n} − 1)·${s} − 2·${p} + ${d}·(${k} − 1) + 1 = ${o}`,
    };
    const zeros = s - 1;
    plan.note = `As a convolution: ${zeros} zero${zeros === 1 ? '' : 's'} inserted between neighbouring inputs `
      + `((n − 1)·s + 1 = ${stretched} cells), `
      + (q >= 0
        ? `padded by d(k − 1) − p = ${q} on each side${d === 1 ? ` (k − p − 1 = ${q})` : ''}, `
        : `cropped by p − d(k − 1) = ${-q} on each side, `)
      + 'then a stride-1 window with the kernel flipped.';
    return finish(plan, span);
  }

  function finish(plan, span) {
    const { d, k } = plan.cfg;
    plan.span = span;
    plan.taps = (i) => Array.from({ length: k }, (_, a) => i * plan.stride + a * d);
    plan.covered = new Set();
    for (let i = 0; i < plan.o; i++) for (const t of plan.taps(i)) plan.covered.add(t);
    plan.uncovered = [];
    for (let t = 0; t < plan.grid; t++) if (plan.kind(t) === 'input' && !plan.covered.has(t)) plan.uncovered.push(t);
    return plan;
  }

  /** A cell of the square grid: padding on either axis wins, then an inserted zero, then input. */
  function cellKind(plan, ty, tx) {
    const a = plan.kind(ty);
    const b = plan.kind(tx);
    if (a === 'padding' || b === 'padding') return 'padding';
    if (a === 'zero' || b === 'zero') return 'zero';
    return 'input';
  }

  function cellSize(plan) {
    return Math.min(CELL_MAX, (INPUT_MAX_CSS - 4) / plan.grid);
  }

  function drawInput(plan, oy, ox) {
    const c = cellSize(plan);
    const css = Math.ceil(plan.grid * c + 4);
    const ctx = prepareCanvas(ui.inputCanvas, css, { setWidth: true });
    const uncovered = new Set(plan.uncovered);
    ctx.font = `${Math.max(9, Math.floor(c * 0.45))}px system-ui, sans-serif`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    for (let ty = 0; ty < plan.grid; ty++) {
      for (let tx = 0; tx < plan.grid; tx++) {
        const x = 2 + tx * c;
        const y = 2 + ty * c;
        const kind = cellKind(plan, ty, tx);
        if (kind === 'padding') hatch(ctx, x, y, c, c, COLOURS.padding, COLOURS.hatch, Math.max(4, c / 4));
        else if (kind === 'zero') {
          ctx.fillStyle = COLOURS.zero;
          ctx.fillRect(x, y, c, c);
          if (c >= 14) { ctx.fillStyle = COLOURS.zeroEdge; ctx.fillText('0', x + c / 2, y + c / 2); }
        } else if (uncovered.has(ty) || uncovered.has(tx)) {
          hatch(ctx, x, y, c, c, COLOURS.uncovered, COLOURS.uncoveredHatch, Math.max(4, c / 4));
        } else {
          ctx.fillStyle = COLOURS.input;
          ctx.fillRect(x, y, c, c);
        }
      }
    }
    ctx.strokeStyle = COLOURS.grid;
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let t = 0; t <= plan.grid; t++) {
      ctx.moveTo(2, 2 + t * c); ctx.lineTo(2 + plan.grid * c, 2 + t * c);
      ctx.moveTo(2 + t * c, 2); ctx.lineTo(2 + t * c, 2 + plan.grid * c);
    }
    ctx.stroke();
    const rows = plan.taps(oy);
    const cols = plan.taps(ox);
    ctx.fillStyle = COLOURS.window;
    for (const ty of rows) for (const tx of cols) ctx.fillRect(2 + tx * c, 2 + ty * c, c, c);
    ctx.strokeStyle = COLOURS.windowEdge;
    ctx.lineWidth = 2.5;
    ctx.strokeRect(2 + cols[0] * c, 2 + rows[0] * c, plan.span * c, plan.span * c);
  }

  function drawOutput(plan, oy, ox) {
    const c = Math.min(CELL_MAX, (OUTPUT_MAX_CSS - 4) / plan.o);
    const css = Math.ceil(plan.o * c + 4);
    const ctx = prepareCanvas(ui.outputCanvas, css, { setWidth: true });
    const current = oy * plan.o + ox;
    for (let y = 0; y < plan.o; y++) {
      for (let x = 0; x < plan.o; x++) {
        const index = y * plan.o + x;
        ctx.fillStyle = index === current ? COLOURS.current : index < current ? COLOURS.computed : COLOURS.output;
        ctx.fillRect(2 + x * c, 2 + y * c, c, c);
      }
    }
    ctx.strokeStyle = COLOURS.grid;
    ctx.beginPath();
    for (let t = 0; t <= plan.o; t++) {
      ctx.moveTo(2, 2 + t * c); ctx.lineTo(2 + plan.o * c, 2 + t * c);
      ctx.moveTo(2 + t * c, 2); ctx.lineTo(2 + t * c, 2 + plan.o * c);
    }
    ctx.stroke();
  }

  function render() {
    const plan = state.plan;
    if (!plan) return;
    const total = plan.o * plan.o;
    state.position = Math.min(Math.max(0, state.position), total - 1);
    ui.range.max = String(total - 1);
    ui.range.value = String(state.position);
    const oy = Math.floor(state.position / plan.o);
    const ox = state.position % plan.o;
    drawInput(plan, oy, ox);
    drawOutput(plan, oy, ox);
    const { k } = plan.cfg;
    const rows = plan.taps(oy);
    const cols = plan.taps(ox);
    const counts = { input: 0, padding: 0, zero: 0 };
    for (const ty of rows) for (const tx of cols) counts[cellKind(plan, ty, tx)] += 1;
    const parts = [`${counts.input} on input values`, `${counts.padding} in the padding`];
    if (plan.cfg.transposed) parts.push(`${counts.zero} on inserted zeros`);
    ui.readout.textContent = `Output (${oy}, ${ox}) of ${plan.o}×${plan.o}: the ${k}×${k} window at grid rows `
      + `${rows[0]}…${rows[rows.length - 1]}, columns ${cols[0]}…${cols[cols.length - 1]}; of its ${k * k} taps, ${parts.join(', ')}.`;
    const gridName = plan.cfg.transposed ? 'The input with zeros inserted and padded' : 'The padded input';
    const lost = plan.uncovered.length;
    ui.inputCaption.textContent = `${gridName}: ${plan.grid}×${plan.grid} cells.`
      + (lost ? ` Red: the ${lost} input row${lost === 1 ? '' : 's'} and ${lost} column${lost === 1 ? '' : 's'} no window reads.` : '');
    ui.outputCaption.textContent = `The output: ${plan.o}×${plan.o}.`;
  }

  function recompute() {
    const cfg = readSettings();
    const plan = cfg.error ? cfg : makePlan(cfg);
    ui.legendZero.hidden = !ui.transposed.checked;
    if (plan.error) {
      ui.error.hidden = false;
      ui.error.textContent = plan.error;
      ui.formula.textContent = '';
      ui.note.textContent = '';
      stopPlaying();
      // The drawing below is for the last valid settings: dim it and say so.
      ui.page.classList.toggle('stale', Boolean(state.plan));
      ui.stale.hidden = !state.plan;
      return;
    }
    ui.error.hidden = true;
    ui.error.textContent = '';
    ui.page.classList.remove('stale');
    ui.stale.hidden = true;
    state.plan = plan;
    ui.formula.textContent = plan.formula;
    ui.note.textContent = plan.note;
    render();
  }

  function stopPlaying() {
    clearInterval(state.timer);
    state.timer = null;
    ui.play.textContent = 'Play';
    ui.play.setAttribute('aria-pressed', 'false');
  }

  function step(delta) {
    if (!state.plan) return;
    const total = state.plan.o * state.plan.o;
    state.position = (state.position + delta + total) % total;
    render();
  }

  ui.play.addEventListener('click', () => {
    if (state.timer) { stopPlaying(); return; }
    if (!state.plan) return;
    ui.play.textContent = 'Pause';
    ui.play.setAttribute('aria-pressed', 'true');
    state.timer = setInterval(() => step(1), PLAY_MS);
  });
  ui.step.addEventListener('click', () => { stopPlaying(); step(1); });
  ui.back.addEventListener('click', () => { stopPlaying(); step(-1); });
  ui.range.addEventListener('input', () => {
    stopPlaying();
    state.position = Number(ui.range.value);
    render();
  });
  for (const input of [...Object.values(ui.fields), ui.transposed]) {
    input.addEventListener('input', recompute);
    input.addEventListener('change', recompute);
  }

  // ?n=5&k=3&s=2&p=1&d=1&transposed=1 preloads a case (links from elsewhere can show one).
  const params = new URLSearchParams(window.location.search);
  for (const [key, input] of Object.entries(ui.fields)) if (params.has(key)) input.value = params.get(key);
  if (params.get('transposed') === '1') ui.transposed.checked = true;
  recompute();
}
