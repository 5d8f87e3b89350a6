// Convolution detail. Forward: for output unit (o, y, x), the window on every input channel,
// the kernel slice weight[o, c], their element-wise products and per-channel sums, the bias,
// and the total beside the trace's own output value; step / play / scrub the window.
// Backward: for a pixel of the layer's input, the chain rule -- its delta is the sum, over
// every output it touched, of that output's delta times the joining weight -- listed term by
// term beside the trace's delta; and every kernel drawn with its weight gradient.

import { tapsBounds, unitsTouching, windowTaps } from '../geometry.js';
import { inputsOf } from '../graph.js';
import { magnitudeOf } from '../numbers.js';
import {
  at, cellAt, deltaMatches, el, heatmapCanvas, layerInput, layerInputGrad, layerInputName, matches, MissingPart, need,
  note, num, numberGrid, panel, signedScale, sum,
} from './detail_parts.js';

const PLAY_MS = 700;

function stepControls(ctx, tools, outH, outW) {
  const { layerIndex, channel } = ctx;
  const position = ctx.y * outW + ctx.x;
  const last = outH * outW - 1;
  const go = (p) => {
    const q = ((p % (last + 1)) + last + 1) % (last + 1);
    tools.select(layerIndex, channel, Math.floor(q / outW), q % outW);
  };
  const playing = tools.playing();
  const label = el('span', { class: 'detail-position', text: `row ${ctx.y}, column ${ctx.x} of ${outH}×${outW}` });
  // Dragging only previews the position: redrawing mid-drag would drop the slider.
  const scrub = el('input', {
    type: 'range', min: 0, max: last, value: position, testid: 'detail-conv-scrub',
    'aria-label': 'Window position (row-major)',
    oninput: (event) => {
      const p = Number(event.target.value);
      label.textContent = `row ${Math.floor(p / outW)}, column ${p % outW} of ${outH}×${outW}`;
    },
    onchange: (event) => go(Number(event.target.value)),
  });
  return el('div', { class: 'detail-controls', role: 'group', 'aria-label': 'Move the window' },
    el('button', { type: 'button', testid: 'detail-conv-prev', onclick: () => go(position - 1),
      text: '◀ Prev' }),
    el('button', {
      type: 'button', testid: 'detail-conv-play', 'aria-pressed': playing ? 'true' : 'false',
      text: playing ? '❚❚ Pause' : '▶ Play',
      onclick: () => {
        if (tools.playing()) tools.pause();
        else {
          tools.play((latest) => {
            const p = (latest.y * outW + latest.x + 1) % (last + 1);
            tools.select(latest.layerIndex, latest.channel, Math.floor(p / outW), p % outW);
          }, PLAY_MS);
        }
        go(position);
      },
    }),
    el('button', { type: 'button', testid: 'detail-conv-next', onclick: () => go(position + 1),
      text: 'Next ▶' }),
    scrub, label);
}

/** The input channels output channel o reads: {first, count} (all of them unless groups > 1;
 * with groups = C_in, the depthwise case, the one channel o·C_in/C_out). */
function groupOf(layer, o, cIn, cOut) {
  const groups = Number(layer.config.groups ?? 1);
  const count = cIn / groups;
  return { first: Math.floor(o / (cOut / groups)) * count, count, groups };
}

/** Forward arithmetic of output unit (o, y, x). */
function forwardPanel(ctx, tools) {
  const { trace, layerIndex, channel: o, y, x } = ctx;
  const layer = trace.layers[layerIndex];
  const input = layerInput(trace, layerIndex);
  const output = need(layer.output, 'activations (include=activations)');
  const params = need(layer.params, 'the weights (include=params)');
  const weight = need(params.weight, 'the weights (include=params)');
  const [cIn, inH, inW] = input.shape;
  const [, outH, outW] = output.shape;
  const { rows, cols, taps } = windowTaps(layer.config, y, x, inH, inW);
  const inputScale = signedScale(Array.from(input.data));
  const weightScale = signedScale(Array.from(weight.data));

  const channelSums = [];
  let magnitude = 0; // Σ|products| + |bias|: the scale float32 rounding is relative to
  const rowsOut = [];
  // With groups, output channel o sees only its group's input channels (depthwise: one).
  const { first, count } = groupOf(layer, o, cIn, weight.shape[0]);
  for (let c = first; c < first + count; c++) {
    const values = taps.map((t) => (t.padding ? 0 : at(input, c, t.iy, t.ix)));
    const weights = taps.map((t) => at(weight, o, c - first, t.ky, t.kx));
    const products = values.map((v, i) => v * weights[i]);
    const channelSum = sum(products);
    magnitude += magnitudeOf(products);
    channelSums.push(channelSum);
    const tapAt = (r, k) => r * cols + k;
    const padCls = (r, k) => (taps[tapAt(r, k)].padding ? 'pad' : '');
    const windowGrid = numberGrid(rows, cols, (r, k) => {
      const t = taps[tapAt(r, k)];
      return t.padding
        ? { value: 0, cls: 'pad', title: `padding (${t.iy}, ${t.ix})`, plain: true }
        : { value: values[tapAt(r, k)], title: `input[${c}, ${t.iy}, ${t.ix}]` };
    }, { scale: inputScale, caption: `window on channel ${c}`, cls: 'conv-window' });
    const kernelGrid = numberGrid(rows, cols, (r, k) => ({
      value: weights[tapAt(r, k)], title: `weight[${o}, ${c - first}, ${r}, ${k}]`,
    }), { scale: weightScale, caption: `weight[${o}, ${c - first}]`, cls: 'conv-kernel' });
    const productScale = signedScale(products);
    const productGrid = numberGrid(rows, cols, (r, k) => ({
      value: products[tapAt(r, k)], cls: `product ${padCls(r, k)}`.trim(),
      title: `input × weight at tap (${r}, ${k})`,
    }), { scale: productScale, caption: 'products', cls: 'conv-product-grid', testid: `detail-conv-products-${c}` });
    const map = heatmapCanvas(input, c, {
      cell: Math.max(2, Math.floor(96 / Math.max(inH, inW))),
      boxes: [{ ...tapsBounds(taps), colour: '#111' }],
      label: `${layerInputName(trace, layerIndex)}, channel ${c}, with the window`,
    });
    rowsOut.push(el('div', { class: 'conv-row' },
      el('figure', { class: 'conv-map' }, map, el('figcaption', { text: `channel ${c}` })),
      windowGrid, el('span', { class: 'op', text: '⊙' }), kernelGrid,
      el('span', { class: 'op', text: '=' }), productGrid,
      el('span', { class: 'channel-total' }, el('span', { class: 'op', text: 'Σ = ' }),
        num(channelSum, { testid: `detail-conv-channel-sum-${c}`, cls: 'channel-sum',
          label: `sum of channel ${c}'s products` }))));
  }
  const bias = params.bias ? at(params.bias, o) : 0;
  const total = sum(channelSums) + bias;
  const reported = at(output, o, y, x);
  const totals = el('div', { class: 'conv-total' },
    el('span', { text: 'Σ channels ' }),
    el('span', { class: 'sum-terms' }, ...channelSums.flatMap((s, i) => [i ? ' + ' : '', num(s)])),
    el('span', { text: ' + bias ' }),
    num(bias, { testid: 'detail-conv-bias', label: `bias[${o}]` }),
    el('span', { text: ' = ' }),
    num(total, { testid: 'detail-conv-sum', cls: 'total', label: 'sum of products + bias' }),
    el('span', { text: ' ; the trace says ' }),
    num(reported, { testid: 'detail-conv-output', cls: 'total', label: `output[${o}, ${y}, ${x}]` }),
    ' ', matches(total, reported, { magnitude: magnitude + Math.abs(bias) }));
  const body = el('div', { class: 'conv-rows', testid: 'detail-conv-products' }, ...rowsOut);
  return panel(`Forward: output[${o}, ${y}, ${x}] = Σ_c Σ_taps input × weight + bias`,
    { testid: 'detail-conv', cls: 'conv-forward' },
    note('Convolution here is cross-correlation, as in PyTorch: the kernel is not flipped. ',
      'Hatched cells lie outside the input (zero padding) and read 0.'),
    stepControls(ctx, tools, outH, outW), body, totals);
}

/** The input pixel of the backward panel: the centre tap of the selected unit's window. */
function defaultPixel(layer, ctx, inH, inW) {
  const { taps } = windowTaps(layer.config, ctx.y, ctx.x, inH, inW);
  const inside = taps.filter((t) => !t.padding);
  const centre = taps[Math.floor(taps.length / 2)];
  const pick = centre.padding ? inside[0] || centre : centre;
  // The first input channel the selected output channel reads (channel 0 unless grouped).
  const weight = layer.params && layer.params.weight;
  const channel = weight ? groupOf(layer, ctx.channel, layer.input_shape[0], weight.shape[0]).first : 0;
  return [channel, Math.min(inH - 1, Math.max(0, pick.iy)), Math.min(inW - 1, Math.max(0, pick.ix))];
}

/** Backward: the delta of input pixel (c, iy, ix) by the chain rule: Σ over the outputs it fed of δ × weight. */
function backwardPanel(ctx, pixel) {
  const { trace, layerIndex } = ctx;
  const layer = trace.layers[layerIndex];
  const gradOut = need(layer.grad_output, 'deltas (include=gradients)');
  const weight = need(layer.params && layer.params.weight, 'the weights (include=params)');
  const inputGrad = need(layerInputGrad(trace, layerIndex), 'deltas (include=gradients)');
  const [cIn, inH, inW] = inputGrad.shape;
  const [cOut, outH, outW] = gradOut.shape;
  const [c, iy, ix] = pixel;
  const touching = unitsTouching(layer.config, iy, ix, outH, outW);

  const groups = [];
  const allTerms = [];
  // With groups, input channel c feeds only its group's output channels.
  const perGroup = cIn / Number(layer.config.groups ?? 1);
  const outPerGroup = cOut / Number(layer.config.groups ?? 1);
  const group = Math.floor(c / perGroup);
  for (let oc = group * outPerGroup; oc < (group + 1) * outPerGroup; oc++) {
    const terms = touching.map((u) => {
      const delta = at(gradOut, oc, u.oy, u.ox);
      const w = at(weight, oc, c - group * perGroup, u.ky, u.kx);
      return { ...u, delta, w, product: delta * w };
    });
    allTerms.push(...terms);
    const subtotal = sum(terms.map((t) => t.product));
    const list = el('ol', { class: 'term-list' }, ...terms.map((t) => el('li', {},
      'δ', el('sub', { text: `${oc},${t.oy},${t.ox}` }), ' ', num(t.delta), ' × w',
      el('sub', { text: `${oc},${c - group * perGroup},${t.ky},${t.kx}` }), ' ', num(t.w), ' = ',
      num(t.product, { cls: 'term', label: `delta[${oc}, ${t.oy}, ${t.ox}] × weight[${oc}, ${c - group * perGroup}, ${t.ky}, ${t.kx}]` }))));
    groups.push(el('details', { class: 'term-group' },
      el('summary', {}, `output channel ${oc}: ${terms.length} term${terms.length === 1 ? '' : 's'}, Σ = `, num(subtotal, { cls: 'subtotal' })),
      list));
  }
  const total = sum(allTerms.map((t) => t.product));
  const reported = at(inputGrad, c, iy, ix);
  const source = inputsOf(trace.layers, layerIndex)[0];
  const where = source === 'input' ? 'input_grad' : `${source}'s grad_output`;

  const container = el('div', { class: 'conv-backward-body' });
  const render = (next, refocus) => {
    const replacement = backwardPanel(ctx, next);
    container.replaceWith(replacement);
    if (refocus) replacement.querySelector(`[data-testid="${refocus}"]`).focus();
  };
  const channelPicker = el('label', { class: 'inline-control' }, 'input channel ',
    el('select', {
      testid: 'detail-conv-backward-channel',
      onchange: (event) => render([Number(event.target.value), iy, ix], 'detail-conv-backward-channel'),
    }, ...Array.from({ length: cIn }, (_, k) => el('option', {
      value: k, text: String(k), selected: k === c,
    }))));
  const gradMap = heatmapCanvas(inputGrad, c, {
    cell: Math.max(3, Math.floor(140 / Math.max(inH, inW))), signed: true,
    marks: [{ y: iy, x: ix, colour: '#000' }],
    label: `the delta of ${layerInputName(trace, layerIndex)}, channel ${c}: click a pixel`,
  });
  gradMap.classList.add('clickable');
  gradMap.dataset.testid = 'detail-conv-backward-pick';
  gradMap.tabIndex = 0;
  gradMap.setAttribute('aria-label', `${gradMap.getAttribute('aria-label')}; arrow keys move the pixel`);
  gradMap.addEventListener('click', (event) => render([c, ...cellAt(gradMap, event)]));
  const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
  gradMap.addEventListener('keydown', (event) => {
    const move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    const ny = Math.min(inH - 1, Math.max(0, iy + move[0]));
    const nx = Math.min(inW - 1, Math.max(0, ix + move[1]));
    render([c, ny, nx], 'detail-conv-backward-pick');
  });
  const outputBoxes = touching.map((u) => ({ y0: u.oy, x0: u.ox, y1: u.oy, x1: u.ox, colour: '#000', width: 1 }));
  const deltaMap = heatmapCanvas(gradOut, ctx.channel, {
    cell: Math.max(3, Math.floor(140 / Math.max(outH, outW))), signed: true, boxes: outputBoxes,
    label: `this layer's delta, channel ${ctx.channel}, with the outputs the pixel touched`,
  });
  container.append(
    el('div', { class: 'detail-controls' }, channelPicker,
      el('span', { class: 'detail-position', text: `pixel (${c}, ${iy}, ${ix}) — click the delta map to pick another` })),
    el('div', { class: 'conv-row' },
      el('figure', {}, gradMap, el('figcaption', { text: `δ of ${layerInputName(trace, layerIndex)}, channel ${c}` })),
      el('figure', {}, deltaMap, el('figcaption', { text: `δ of ${layer.name}, channel ${ctx.channel}: outputs touched` }))),
    note(`Pixel (${iy}, ${ix}) of channel ${c} fed ${touching.length} output position(s) in each of `,
      `${outPerGroup} output channel${outPerGroup === 1 ? '' : 's'}`,
      outPerGroup === cOut ? '' : ` (its group's: with groups, channel ${c} feeds only those)`,
      '; each term is that output\'s delta times the weight that joined them.'),
    el('div', { class: 'term-groups', testid: 'detail-conv-backward-terms' }, ...groups),
    el('div', { class: 'conv-total' },
      'δ', el('sub', { text: `${c},${iy},${ix}` }), ' = Σ terms = ',
      num(total, { testid: 'detail-conv-backward-sum', cls: 'total', label: 'sum of delta × weight' }),
      ` ; the trace's ${where} = `,
      num(reported, { testid: 'detail-conv-backward-expected', cls: 'total', label: where }),
      ' ', deltaMatches(trace, layerIndex, total, reported, { magnitude: magnitudeOf(allTerms.map((t) => t.product)) })));
  container.dataset.pixel = `${c},${iy},${ix}`;
  return container;
}

/** Every kernel weight[o, c] with its gradient dL/dweight[o, c] beside it. */
function kernelsPanel(ctx) {
  const { trace, layerIndex } = ctx;
  const layer = trace.layers[layerIndex];
  const weight = need(layer.params && layer.params.weight, 'the weights (include=params)');
  const grads = need(layer.param_grads && layer.param_grads.weight,
    'the weight gradients (include=param_grads)');
  const [cOut, cIn, kh, kw] = weight.shape;
  const cell = Math.max(4, Math.floor(30 / Math.max(kh, kw)));
  const plane = (tensor, o, c) => ({
    shape: [kh, kw], data: tensor.data.subarray((o * cIn + c) * kh * kw, (o * cIn + c + 1) * kh * kw),
  });
  const rows = [el('div', { class: 'kernel-row kernel-head' }, el('span', { class: 'kernel-label' }),
    ...Array.from({ length: cIn }, (_, c) => el('span', {
      class: 'kernel-pair-label', style: `width: ${2 * kw * cell + 5}px`, text: `c=${c}: w | ∂w`,
    })))];
  for (let o = 0; o < cOut; o++) {
    const cells = [];
    for (let c = 0; c < cIn; c++) {
      const w = heatmapCanvas(plane(weight, o, c), 0, { cell, signed: true, label: `weight[${o}, ${c}]` });
      const g = heatmapCanvas(plane(grads, o, c), 0, { cell, signed: true, label: `dL/dweight[${o}, ${c}]` });
      w.title = `weight[${o}, ${c}]`;
      g.title = `dL/dweight[${o}, ${c}]`;
      cells.push(el('span', { class: 'kernel-pair' }, w, g));
    }
    rows.push(el('div', { class: `kernel-row${o === ctx.channel ? ' selected' : ''}` },
      el('span', { class: 'kernel-label', text: `o=${o}` }), ...cells));
  }
  const children = [
    note('Each pair: the kernel weight[o, c] (left) and its gradient dL/dweight[o, c] (right), ',
      'each on its own blue–white–red scale about zero.'),
    el('div', { class: 'kernel-grid', testid: 'detail-conv-kernels' }, ...rows),
  ];
  const biasGrad = layer.param_grads.bias;
  if (biasGrad && layer.grad_output) {
    const o = ctx.channel;
    const [, outH, outW] = layer.grad_output.shape;
    const offset = o * outH * outW;
    const deltas = layer.grad_output.data.subarray(offset, offset + outH * outW);
    const deltaSum = sum(deltas);
    const reported = at(biasGrad, o);
    children.push(el('p', { class: 'conv-total' },
      `dL/dbias[${o}] = Σ over the map of δ[${o}] = `,
      num(deltaSum, { testid: 'detail-conv-bias-grad-sum', label: `sum of delta[${o}]` }),
      ' ; the trace says ', num(reported, { testid: 'detail-conv-bias-grad', label: `dL/dbias[${o}]` }),
      ' ', matches(deltaSum, reported, { magnitude: magnitudeOf(deltas) })));
  }
  return panel('Kernels and their weight gradients', { testid: 'detail-conv-kernel-grads' }, ...children);
}

/** The kernels panel, or a note while the trace lacks the weight gradients (the page asks for
 * them when it switches to backward; until that answer arrives the rest still shows). */
function kernelsOrNote(ctx) {
  try {
    return kernelsPanel(ctx);
  } catch (error) {
    if (!(error instanceof MissingPart)) throw error;
    return panel('Kernels and their weight gradients', { testid: 'detail-conv-kernel-grads' },
      note(error.message));
  }
}

export function showConv(ctx, tools) {
  const { trace, layerIndex } = ctx;
  const layer = trace.layers[layerIndex];
  if (ctx.mode === 'backward') {
    const inputGrad = need(layerInputGrad(trace, layerIndex), 'deltas (include=gradients)');
    const [, inH, inW] = inputGrad.shape;
    const body = backwardPanel(ctx, defaultPixel(layer, ctx, inH, inW));
    return el('div', { class: 'detail-views' },
      panel('Backward: an input pixel’s delta = Σ δ_out × weight', { testid: 'detail-conv-backward' }, body),
      kernelsOrNote(ctx),
      forwardPanel(ctx, tools));
  }
  return forwardPanel(ctx, tools);
}
