// The activation lesson: f and f' of each activation, computed by the core (forward, and
// backward with dL/dy = 1), with the saturated runs the server found shaded; and the slopes
// at the ends of the scaled input ranges against a raw pixel.

import { ACTIVATIONS, saturationText, short } from '../activation_functions.js';
import { activations } from '../lessons/api.js';
import { drawAxes, prepare } from '../lessons/canvas.js';
import { linearScale, niceStep, ticks } from '../lessons/plot.js';

const MAIN = ['sign', 'sigmoid', 'tanh', 'relu', 'leakyrelu', 'relu6'];
const BRIEF = ['identity', 'clamp'];
const W = 330;
const H = 220;
const NOTES = {
  sign: 'Its slope is 0 almost everywhere (and undefined at 0): the backward pass sends back '
    + 'nothing, so gradient descent cannot train through it. The perceptron has its own rule.',
  sigmoid: 'Steepest at 0, where f′ = 0.25: even there a delta shrinks to a quarter per layer.',
  tanh: 'Centred on 0 and steeper than sigmoid (f′(0) = 1), but flat beyond about ±3.',
  relu: 'Never saturates for x > 0 (slope 1); for x ≤ 0 it passes nothing back: a unit that '
    + 'is always negative is "dead".',
  leakyrelu: 'A slope of 0.01 below 0 keeps a trickle of gradient, so no unit dies; 0.01 is '
    + 'just at the threshold, so it is never counted as saturated.',
  relu6: 'A ReLU capped at 6 (MobileNet): flat on both sides.',
  identity: '',
  clamp: '',
};

function card(kind) {
  const fn = ACTIVATIONS[kind];
  const node = document.createElement('article');
  node.className = 'ac-card';
  node.dataset.kind = kind;
  node.innerHTML = '<h3></h3><p class="formula"></p><canvas role="img"></canvas>'
    + '<p class="saturation" aria-live="polite"></p><p class="note"></p>';
  node.querySelector('h3').textContent = fn.name;
  node.querySelector('.formula').textContent = `f(x) = ${fn.formula};  f′(x) = ${fn.derivative}`;
  node.querySelector('.saturation').id = `ac-sat-${kind}`;
  node.querySelector('.note').textContent = NOTES[kind];
  node.querySelector('.note').hidden = !NOTES[kind];
  return node;
}

function draw(canvas, body) {
  const g = prepare(canvas, W, H);
  const box = { left: 46, top: 10, right: W - 10, bottom: H - 46 };
  const lo = body.x[0];
  const hi = body.x[body.x.length - 1];
  let yLo = Math.min(0, ...body.f, ...body.df);
  let yHi = Math.max(1, ...body.f, ...body.df);
  const pad = (yHi - yLo) * 0.06;
  yLo -= pad;
  yHi += pad;
  const sx = linearScale([lo, hi], [box.left, box.right]);
  const sy = linearScale([yLo, yHi], [box.bottom, box.top]);
  g.fillStyle = '#fff';
  g.fillRect(box.left, box.top, box.right - box.left, box.bottom - box.top);
  if (body.input_range) {
    const [a, b] = body.input_range.map((v) => Math.min(hi, Math.max(lo, v)));
    g.fillStyle = '#fdf1c7';
    g.fillRect(sx(a), box.top, Math.max(2, sx(b) - sx(a)), box.bottom - box.top);
  }
  g.fillStyle = '#dfe3ea';
  for (const [a, b] of body.saturated) {
    g.fillRect(sx(a), box.top, Math.max(1, sx(b) - sx(a)), box.bottom - box.top);
  }
  g.strokeStyle = '#aab1bf';
  g.beginPath();
  g.moveTo(box.left, sy(0));
  g.lineTo(box.right, sy(0));
  if (lo < 0 && hi > 0) { g.moveTo(sx(0), box.top); g.lineTo(sx(0), box.bottom); }
  g.stroke();
  const curve = (values, colour, dash) => {
    g.save();
    g.strokeStyle = colour;
    g.lineWidth = 2;
    g.setLineDash(dash);
    g.beginPath();
    values.forEach((v, i) => (i ? g.lineTo(sx(body.x[i]), sy(v)) : g.moveTo(sx(body.x[i]), sy(v))));
    g.stroke();
    g.restore();
  };
  curve(body.f, '#2166ac', []);
  curve(body.df, '#b2182b', [6, 4]);
  drawAxes(g, box, sx, sy, {
    xTicks: ticks(lo, hi, niceStep(hi - lo, 6)),
    yTicks: ticks(yLo, yHi, niceStep(yHi - yLo, 4)),
    xLabel: 'x (the unit’s input)',
    yLabel: 'f(x), f′(x)',
  });
}

function scaleRow(body) {
  const [low, high, raw] = body.probes;
  const tr = document.createElement('tr');
  tr.dataset.kind = body.kind;
  const cells = [body.name, `[${short(low.x)}, ${short(high.x)}]`,
    `f′(${short(low.x)}) = ${short(low.df)}`, `f′(${short(high.x)}) = ${short(high.df)}`,
    `f′(255) = ${short(raw.df)}${raw.df < 0.01 ? ' (saturated)' : ''}`];
  for (const text of cells) {
    const td = document.createElement('td');
    td.textContent = text;
    tr.append(td);
  }
  return tr;
}

export function mount(root) {
  const $ = (id) => root.querySelector(`#${id}`);
  const ui = {
    min: $('ac-min'), max: $('ac-max'), apply: $('ac-apply'), error: $('ac-error'),
    cards: $('ac-cards'), brief: $('ac-brief'), scale: $('ac-scale-table').querySelector('tbody'),
  };
  const cards = new Map();
  for (const kind of MAIN) ui.cards.append(cards.set(kind, card(kind)).get(kind));
  for (const kind of BRIEF) ui.brief.append(cards.set(kind, card(kind)).get(kind));
  let ticket = 0;

  async function load() {
    const mine = ++ticket;
    const range = { x_min: ui.min.value, x_max: ui.max.value, points: 401 };
    const [lo, hi] = [Number(range.x_min), Number(range.x_max)];
    const bad = [lo, hi].some((v) => range.x_min === '' || range.x_max === '' || !Number.isFinite(v)
      || Math.abs(v) > 1000) ? 'both ends must be numbers from −1000 to 1000'
      : (lo >= hi ? `x_min (${lo}) must be less than x_max (${hi})` : null);
    if (bad) {
      ui.error.hidden = false;
      ui.error.textContent = `Could not draw this range: ${bad}`;
      return;
    }
    try {
      const bodies = await Promise.all([...cards.keys()].map((kind) => activations({ ...range, kind })));
      if (mine !== ticket) return;
      ui.error.hidden = true;
      ui.scale.replaceChildren();
      for (const body of bodies) {
        const node = cards.get(body.kind);
        const canvas = node.querySelector('canvas');
        draw(canvas, body);
        const lo = body.x[0];
        const hi = body.x[body.x.length - 1];
        const text = saturationText(body.saturated, [lo, hi], body.threshold);
        node.querySelector('.saturation').textContent = text;
        canvas.setAttribute('aria-label', `${body.name} (solid) and its derivative (dashed) for x `
          + `from ${short(lo)} to ${short(hi)}. ${text}`);
        if (body.input_range) ui.scale.append(scaleRow(body));
      }
    } catch (error) {
      if (mine !== ticket) return;
      ui.error.hidden = false;
      ui.error.textContent = `Could not draw this range: ${error.message}`;
    }
  }

  ui.apply.addEventListener('click', load);
  for (const input of [ui.min, ui.max]) {
    input.addEventListener('keydown', (event) => { if (event.key === 'Enter') load(); });
  }
  load();
}
