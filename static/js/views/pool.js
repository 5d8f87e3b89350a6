// Pooling detail. Forward: the window on the pool's input, its winner (max, from the trace's
// pool_indices) or its mean (average), and the output; the pooling mask (pool_mask, or the
// winners counted from pool_indices) drawn over the input map. Backward: the
// output's delta routed to the winner (max) or split evenly (mean), beside the trace's delta
// of the pool's input.

import {
  decodePoolIndex, tapsBounds, unitsTouching, windowGeometry, windowTaps,
} from '../geometry.js';
import { fmt, magnitudeOf } from '../numbers.js';
import {
  at, deltaMatches, el, heatmapCanvas, layerInput, layerInputGrad, layerInputName, matches, need, note, num,
  numberGrid, panel, signedScale, sum,
} from './detail_parts.js';

/** The divisor of an average-pool window along both axes: PyTorch's rule, as the core's. */
function averageDivisor(config, oy, ox, inH, inW) {
  const { kernel, stride, padding } = windowGeometry(config);
  const includePad = config.count_include_pad !== false;
  let divisor = 1;
  [[oy, inH], [ox, inW]].forEach(([o, n], axis) => {
    let start = o * stride[axis] - padding[axis];
    let end = Math.min(start + kernel[axis], n + padding[axis]);
    if (!includePad) {
      start = Math.max(start, 0);
      end = Math.min(end, n);
    }
    divisor *= end - start;
  });
  return divisor;
}

/** Per input cell of channel c: how many windows it won (pool_mask, else counted). */
function maskPlane(layer, c, inH, inW) {
  if (layer.pool_mask) {
    const offset = c * inH * inW;
    return { data: layer.pool_mask.data.subarray(offset, offset + inH * inW), source: 'pool_mask' };
  }
  const indices = layer.pool_indices;
  const [, outH, outW] = indices.shape;
  const counts = new Uint8Array(inH * inW);
  const offset = c * outH * outW;
  for (let i = 0; i < outH * outW; i++) counts[Number(indices.data[offset + i])] += 1;
  return { data: counts, source: 'pool_indices' };
}

/** True when another cell of the window holds the winner's value: the winner is then only
 * the first maximum in row-major order (typically an all-zero window after a ReLU). */
export function isTie(values, winnerValue) {
  let hits = 0;
  for (const v of values) if (v !== null && v === winnerValue) hits += 1;
  return hits > 1;
}

/** Per input cell of channel c: 1 when every window it won was a tie (a flat region). */
function tieOnlyPlane(layer, input, c, inH, inW) {
  const indices = layer.pool_indices;
  const [, outH, outW] = indices.shape;
  const real = new Uint8Array(inH * inW);
  const tie = new Uint8Array(inH * inW);
  for (let oy = 0; oy < outH; oy++) {
    for (let ox = 0; ox < outW; ox++) {
      const index = at(indices, c, oy, ox);
      const [wy, wx] = decodePoolIndex(index, inW);
      const { taps } = windowTaps(layer.config, oy, ox, inH, inW);
      const values = taps.map((t) => (t.padding ? null : at(input, c, t.iy, t.ix)));
      if (isTie(values, at(input, c, wy, wx))) tie[index] = 1;
      else real[index] = 1;
    }
  }
  return tie.map((t, i) => (t && !real[i] ? 1 : 0));
}

export function showPool(ctx) {
  const { trace, layerIndex, channel: c, y, x } = ctx;
  const layer = trace.layers[layerIndex];
  const isMax = layer.kind === 'maxpool2d';
  const input = need(layerInput(trace, layerIndex), 'activations (include=activations)');
  const output = need(layer.output, 'activations (include=activations)');
  const [, inH, inW] = input.shape;
  const { rows, cols, taps } = windowTaps(layer.config, y, x, inH, inW);
  const values = taps.map((t) => (t.padding ? null : at(input, c, t.iy, t.ix)));
  const reported = at(output, c, y, x);
  let winner = null;
  if (isMax) {
    const indices = need(layer.pool_indices, 'the pooling winners (include=pool_indices)');
    const index = at(indices, c, y, x);
    const [wy, wx] = decodePoolIndex(index, inW);
    winner = { index, wy, wx };
  }
  const divisor = isMax ? 1 : averageDivisor(layer.config, y, x, inH, inW);
  const scale = signedScale(values.filter((v) => v !== null));
  const isWinner = (t) => winner && t.iy === winner.wy && t.ix === winner.wx;

  const windowGrid = numberGrid(rows, cols, (r, k) => {
    const t = taps[r * cols + k];
    if (t.padding) return { text: isMax ? '−∞' : 'pad', cls: 'pad', title: `padding (${t.iy}, ${t.ix})` };
    return {
      value: values[r * cols + k], title: `input[${c}, ${t.iy}, ${t.ix}]`,
      cls: isWinner(t) ? 'winner' : '',
      testid: isWinner(t) ? 'detail-pool-winner' : undefined,
      dataset: isWinner(t) ? { row: String(t.iy), col: String(t.ix), index: String(winner.index) } : undefined,
    };
  }, { scale, caption: `window on ${layerInputName(trace, layerIndex)}, channel ${c}`, testid: 'detail-pool-window' });

  const mask = isMax ? maskPlane(layer, c, inH, inW) : null;
  const marks = [];
  let ties = 0;
  if (isMax) {
    // Winners of flat windows (ties) are drawn faint and thin: they carry no information.
    const tieOnly = layer.pool_indices ? tieOnlyPlane(layer, input, c, inH, inW) : null;
    for (let i = 0; i < inH * inW; i++) {
      if (!(mask.data[i] > 0)) continue;
      const tie = tieOnly && tieOnly[i];
      ties += tie ? 1 : 0;
      marks.push(tie
        ? { y: Math.floor(i / inW), x: i % inW, colour: 'rgba(120, 120, 120, 0.6)', width: 0.75, halo: false }
        : { y: Math.floor(i / inW), x: i % inW, colour: '#fdd835', width: 1.5, halo: false });
    }
  }
  const cell = Math.max(4, Math.floor(168 / Math.max(inH, inW)));
  const windowBox = { ...tapsBounds(taps), colour: '#000' };
  const forwardMap = heatmapCanvas(input, c, {
    cell, boxes: [windowBox], marks,
    label: `${layerInputName(trace, layerIndex)}, channel ${c}, with the pooling mask`,
  });
  if (isMax) {
    forwardMap.dataset.testid = 'detail-pool-mask';
    forwardMap.dataset.source = mask.source;
    forwardMap.dataset.winners = String(marks.length);
    forwardMap.dataset.ties = String(ties);
  }

  const forwardChildren = [
    el('div', { class: 'conv-row' },
      el('figure', {}, forwardMap, el('figcaption', {
        text: isMax ? `channel ${c}: cells outlined in yellow won a window (the pooling mask, from ${mask.source}); `
          + `${ties} faint grey outline${ties === 1 ? '' : 's'}: won only flat windows (tie: first in row-major order)`
          : `channel ${c} with the window`,
      })),
      windowGrid),
  ];
  if (isMax) {
    forwardChildren.push(el('p', { class: 'conv-total' },
      'winner (from pool_indices): index ', el('span', { text: String(winner.index) }),
      ` = ${winner.wy}·${inW} + ${winner.wx} → row ${winner.wy}, column ${winner.wx}; max = `,
      num(at(input, c, winner.wy, winner.wx), { testid: 'detail-pool-winner-value', label: 'input at the winner' }),
      ' ; output = ', num(reported, { testid: 'detail-pool-output', label: `output[${c}, ${y}, ${x}]` }),
      ' ', matches(at(input, c, winner.wy, winner.wx), reported)));
    const tie = isTie(values, at(input, c, winner.wy, winner.wx));
    forwardChildren.push(note(tie
      ? el('strong', { testid: 'detail-pool-tie', text: 'tie: first in row-major order. ' }) : null,
    tie ? 'Several cells of this window hold the maximum, so the winner carries no information: '
      + 'the first one in row-major order wins, and only it receives the delta.'
      : 'Ties go to the first maximum in row-major window order.'));
  } else {
    const total = sum(values.filter((v) => v !== null));
    forwardChildren.push(el('p', { class: 'conv-total' },
      'mean = Σ window / ', el('span', { text: String(divisor) }), ' = ', num(total), ` / ${divisor} = `,
      num(total / divisor, { testid: 'detail-pool-mean', label: 'mean of the window' }),
      ' ; output = ', num(reported, { testid: 'detail-pool-output', label: `output[${c}, ${y}, ${x}]` }),
      ' ', matches(total / divisor, reported, { magnitude: magnitudeOf(values.filter((v) => v !== null)) / divisor })));
    if (layer.config.count_include_pad !== false && taps.some((t) => t.padding)) {
      forwardChildren.push(note('Padding cells count towards the divisor (count_include_pad).'));
    }
  }
  const parts = [panel(isMax ? 'Max pooling: the window and its winner' : 'Average pooling: the window and its mean',
    { testid: 'detail-pool' }, ...forwardChildren)];
  if (ctx.mode === 'backward') parts.unshift(backwardPanel(ctx, { taps, rows, cols, winner, divisor, inH, inW }));
  return el('div', { class: 'detail-views' }, ...parts);
}

function backwardPanel(ctx, { taps, rows, cols, winner, divisor, inH, inW }) {
  const { trace, layerIndex, channel: c, y, x } = ctx;
  const layer = trace.layers[layerIndex];
  const isMax = layer.kind === 'maxpool2d';
  const gradOut = need(layer.grad_output, 'deltas (include=gradients)');
  const inputGrad = need(layerInputGrad(trace, layerIndex), 'deltas (include=gradients)');
  const [, outH, outW] = gradOut.shape;
  const delta = at(gradOut, c, y, x);
  const routedTo = (t) => {
    if (t.padding) return 0;
    if (isMax) return t.iy === winner.wy && t.ix === winner.wx ? delta : 0;
    return delta / divisor;
  };
  const routed = taps.map(routedTo);
  const scale = signedScale([...routed, ...taps.filter((t) => !t.padding).map((t) => at(inputGrad, c, t.iy, t.ix))]);
  const routedGrid = numberGrid(rows, cols, (r, k) => {
    const t = taps[r * cols + k];
    if (t.padding) return { text: 'pad', cls: 'pad' };
    return { value: routed[r * cols + k], title: `delta routed to (${t.iy}, ${t.ix})`,
      cls: winner && t.iy === winner.wy && t.ix === winner.wx ? 'winner' : '' };
  }, { scale, caption: `δ[${c}, ${y}, ${x}] routed`, testid: 'detail-pool-routed' });
  const traceGrid = numberGrid(rows, cols, (r, k) => {
    const t = taps[r * cols + k];
    if (t.padding) return { text: 'pad', cls: 'pad' };
    return { value: at(inputGrad, c, t.iy, t.ix), title: `trace delta at (${t.iy}, ${t.ix})` };
  }, { scale, caption: `the trace's δ of ${layerInputName(trace, layerIndex)}`, testid: 'detail-pool-input-grads' });

  // The trace's delta at a cell is the sum over every window containing it of what that
  // window routed there (overlapping windows accumulate).
  const [cy, cx] = isMax ? [winner.wy, winner.wx] : (() => {
    const inside = taps.find((t) => !t.padding);
    return [inside.iy, inside.ix];
  })();
  const contributions = unitsTouching(layer.config, cy, cx, outH, outW).map((u) => {
    const d = at(gradOut, c, u.oy, u.ox);
    if (isMax) {
      const [wy, wx] = decodePoolIndex(at(layer.pool_indices, c, u.oy, u.ox), inW);
      return wy === cy && wx === cx ? d : 0;
    }
    return d / averageDivisor(layer.config, u.oy, u.ox, inH, inW);
  });
  const total = sum(contributions);
  const reported = at(inputGrad, c, cy, cx);
  const cell = Math.max(4, Math.floor(168 / Math.max(inH, inW)));
  const routedMap = heatmapCanvas(inputGrad, c, {
    cell, signed: true, boxes: [{ ...tapsBounds(taps), colour: '#000' }],
    label: `the routed deltas: ${layerInputName(trace, layerIndex)}'s delta, channel ${c}`,
  });
  routedMap.dataset.testid = 'detail-pool-routed-map';
  return panel(isMax ? 'Backward: the delta goes to the winner only' : 'Backward: the delta is split evenly',
    { testid: 'detail-pool-backward' },
    el('p', { class: 'conv-total' }, `δ[${c}, ${y}, ${x}] = `, num(delta, { testid: 'detail-pool-delta', label: 'this output\'s delta' }),
      isMax ? ' → all of it to the winner, 0 to the others' : ` → ${fmt(delta)} / ${divisor} to each cell`),
    el('div', { class: 'conv-row' },
      el('figure', {}, routedMap, el('figcaption', { text: `δ of ${layerInputName(trace, layerIndex)}, channel ${c}: the routed deltas` })),
      routedGrid, traceGrid),
    el('p', { class: 'conv-total' },
      `at (${cy}, ${cx}): Σ of what the ${contributions.length} window(s) containing it routed = `,
      num(total, { testid: 'detail-pool-routed-sum', label: 'sum of routed deltas' }),
      ' ; the trace says ', num(reported, { testid: 'detail-pool-input-grad', label: 'trace delta' }),
      ' ', deltaMatches(trace, layerIndex, total, reported, { magnitude: magnitudeOf(contributions) })));
}
