// The detail view: what the selected unit computed, forward or backward, shown with the
// trace's own numbers. showDetail dispatches on the layer's kind; every view adds the unit's
// receptive field, and the last layer (the logits) adds the softmax / cross-entropy panel.
//
// ctx = {trace, layerIndex, channel, y, x, mode: 'forward'|'backward', classes, target,
//        onSelectUnit(layerIndex, channel, y, x)}
// For dense layers (linear, flatten, and activations after them) channel is the unit's index
// and y = x = 0. layerIndex === trace.layers.length selects the softmax panel on its own.

import { showActivation } from './activation.js';
import { showAdd } from './add.js';
import { showBatchNorm } from './batchnorm.js';
import { showConcat } from './concat.js';
import { showConv } from './conv.js';
import { showConvTransposeUnit } from './convtranspose_unit.js';
import { el, MissingPart, note } from './detail_parts.js';
import { showFanout } from './fanout.js';
import { showGlobalAvgPool } from './gap.js';
import { helpToggle } from '../help_text.js';
import { showPad } from './pad.js';
import { showFlatten, showLinear } from './linear.js';
import { showPool } from './pool.js';
import { showReceptiveField } from './receptive.js';
import { showSoftmax } from './softmax.js';

const VIEWS = {
  conv2d: showConv,
  convtranspose2d: showConvTransposeUnit,
  maxpool2d: showPool,
  avgpool2d: showPool,
  relu: showActivation,
  sigmoid: showActivation,
  tanh: showActivation,
  leakyrelu: showActivation, relu6: showActivation, sign: showActivation,
  identity: showActivation, clamp: showActivation,
  linear: showLinear,
  flatten: showFlatten,
  batchnorm2d: showBatchNorm,
  add: showAdd,
  adaptiveavgpool2d: showGlobalAvgPool,
  concat: showConcat,
  zeropad2d: showPad,
};

// Per container: how many times it was drawn and the context it shows, so that a view's own
// controls (step, play, scrub) can move the selection whether or not the page redraws it.
const states = new WeakMap();

function stateOf(container) {
  if (!states.has(container)) states.set(container, { renders: 0, ctx: null, stop: null });
  return states.get(container);
}

/**
 * Move the selection to another unit: tell the page, which normally redraws the detail
 * (perhaps after a microtask), and redraw here only if it has not done so by the next task.
 */
function selectUnit(container, layerIndex, channel, y, x) {
  const state = stateOf(container);
  const before = state.renders;
  const ctx = state.ctx;
  if (!ctx.onSelectUnit) {
    showDetail(container, { ...ctx, layerIndex, channel, y, x });
    return;
  }
  ctx.onSelectUnit(layerIndex, channel, y, x);
  setTimeout(() => {
    if (state.renders === before) showDetail(container, { ...ctx, layerIndex, channel, y, x });
  }, 0);
}

function header(trace, ctx) {
  const unit = ctx.layerIndex >= trace.layers.length
    ? 'softmax and cross-entropy'
    : describeUnit(trace.layers[ctx.layerIndex], ctx);
  const help = helpToggle(ctx.layerIndex >= trace.layers.length ? 'softmax' : trace.layers[ctx.layerIndex].kind, { label: unit });
  return el('header', { class: 'detail-header' },
    el('h2', { text: unit }),
    el('span', { class: 'detail-mode', text: ctx.mode === 'backward' ? 'backward (deltas)' : 'forward' }),
    help.button, help.panel);
}

function describeUnit(layer, ctx) {
  const shape = layer.output_shape || (layer.output && layer.output.shape) || [];
  const where = shape.length === 3 ? `channel ${ctx.channel}, row ${ctx.y}, column ${ctx.x}`
    : `unit ${ctx.channel}`;
  return `${layer.name} (${layer.kind}) — ${where}`;
}

const STYLESHEET = '/static/css/detail.css';

/** The views' stylesheet, linked once (the page template need not know about it). */
function ensureStylesheet() {
  if (document.querySelector(`link[href="${STYLESHEET}"]`)) return;
  document.head.append(el('link', { rel: 'stylesheet', href: STYLESHEET }));
}

/** Draw the detail of ctx's unit into container (replacing what was there). */
export function showDetail(container, ctx) {
  ensureStylesheet();
  const state = stateOf(container);
  // Keyboard users keep their place: the control that had focus gets it back after a redraw.
  const focused = container.contains(document.activeElement)
    ? document.activeElement.dataset.testid : null;
  // A player started for another layer, or another mode, stops when the view changes.
  const key = `${ctx.layerIndex}|${ctx.mode}`;
  if (state.stop && state.key !== key) {
    state.stop();
    state.stop = null;
  }
  state.key = key;
  state.renders += 1;
  state.ctx = ctx;
  const { trace } = ctx;
  const root = el('div', {
    class: 'detail',
    dataset: {
      layer: String(ctx.layerIndex), channel: String(ctx.channel), y: String(ctx.y ?? 0),
      x: String(ctx.x ?? 0), mode: ctx.mode || 'forward',
    },
  });
  const tools = {
    select: (layerIndex, channel, y, x) => selectUnit(container, layerIndex, channel, y, x),
    // A player (play/pause) survives the redraws it causes; it stops when the layer or the
    // mode changes, or when the container leaves the page.
    playing: () => Boolean(state.stop),
    play: (advance, ms) => {
      if (state.stop) return;
      const id = setInterval(() => {
        if (!container.isConnected) {
          clearInterval(id);
          state.stop = null;
          return;
        }
        advance(state.ctx);
      }, ms);
      state.stop = () => clearInterval(id);
    },
    pause: () => {
      if (state.stop) state.stop();
      state.stop = null;
    },
  };
  root.append(header(trace, ctx));
  try {
    if (ctx.layerIndex >= trace.layers.length) {
      root.append(showSoftmax(ctx));
    } else {
      const layer = trace.layers[ctx.layerIndex];
      const view = VIEWS[layer.kind];
      root.append(view ? view(ctx, tools)
        : note(`No detail view for ${layer.kind} layers yet; the overview shows its maps.`));
      // A node read by several layers (a block's input): its delta is the sum of their shares.
      if (ctx.mode === 'backward' && layer.kind !== 'add') {
        const fanout = showFanout(trace, layer.name, [ctx.channel, ctx.y ?? 0, ctx.x ?? 0]);
        if (fanout) root.append(fanout);
      }
      if (ctx.layerIndex === trace.layers.length - 1) root.append(showSoftmax(ctx));
      const field = showReceptiveField(ctx);
      if (field) root.append(field);
    }
  } catch (error) {
    // A trace without the parts a view needs (e.g. params not requested) says so, readably;
    // anything else is a bug and is reported as one after the message is shown.
    root.append(el('p', { class: 'detail-error', role: 'alert', text: error.message }));
    container.replaceChildren(root);
    if (!(error instanceof MissingPart)) throw error;
    return;
  }
  container.replaceChildren(root);
  if (focused) {
    const again = root.querySelector(`[data-testid="${focused}"]`);
    if (again) again.focus();
  }
}

export { showSoftmax };
