// Global average pooling detail (adaptiveavgpool2d to 1x1): each channel's output is the mean
// of its whole input map; backward, the channel's delta is spread evenly, δ / (H·W) to every
// cell of the map.

import { fmt, magnitudeOf } from '../numbers.js';
import {
  at, deltaMatches, el, heatmapCanvas, layerInput, layerInputGrad, layerInputName, matches, need,
  note, num, panel, sum,
} from './detail_parts.js';

function isGlobal(layer) {
  const size = layer.config.output_size;
  const [h, w] = Array.isArray(size) ? size : [size, size];
  return h === 1 && w === 1;
}

export function showGlobalAvgPool(ctx) {
  const { trace, layerIndex, channel: c } = ctx;
  const layer = trace.layers[layerIndex];
  if (!isGlobal(layer)) {
    return note('This view shows global average pooling (output 1×1); this layer pools to a '
      + 'larger grid, so the overview shows its maps only.');
  }
  const input = need(layerInput(trace, layerIndex), 'activations (include=activations)');
  const output = need(layer.output, 'activations (include=activations)');
  const [, h, w] = input.shape;
  const count = h * w;
  const values = [];
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) values.push(at(input, c, i, j));
  const total = sum(values);
  const mean = total / count;
  const reported = at(output, c, 0, 0);
  const cell = Math.max(4, Math.floor(140 / Math.max(h, w)));
  const map = heatmapCanvas(input, c, { cell, label: `${layerInputName(trace, layerIndex)}, channel ${c}` });
  map.dataset.testid = 'detail-gap-map';
  const forward = panel(`Forward: channel ${c}'s output = the mean of its ${h}×${w} map`, { testid: 'detail-gap' },
    el('div', { class: 'conv-row' },
      el('figure', {}, map, el('figcaption', { text: `${layerInputName(trace, layerIndex)}, channel ${c}` })),
      el('p', { class: 'conv-total' },
        `Σ of the ${count} values = `, num(total, { testid: 'detail-gap-sum', label: 'sum of the map' }),
        ` ; / ${count} = `, num(mean, { testid: 'detail-gap-mean', cls: 'total', label: 'mean' }),
        ' ; the trace says ', num(reported, { testid: 'detail-gap-out', cls: 'total', label: 'output' }),
        ' ', matches(mean, reported, { magnitude: magnitudeOf(values) / count }))));
  if (ctx.mode !== 'backward') return forward;

  const gradOut = need(layer.grad_output, 'deltas (include=gradients)');
  const gradIn = need(layerInputGrad(trace, layerIndex), 'deltas (include=gradients)');
  const delta = at(gradOut, c, 0, 0);
  const each = delta / count;
  // Every cell of the map got the same share: compare the one that differs most.
  let worst = [0, 0];
  let worstDiff = -1;
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const diff = Math.abs(at(gradIn, c, i, j) - each);
      if (diff > worstDiff) [worst, worstDiff] = [[i, j], diff];
    }
  }
  const gradMap = heatmapCanvas(gradIn, c, { cell, signed: true, label: `δ of ${layerInputName(trace, layerIndex)}, channel ${c}` });
  gradMap.dataset.testid = 'detail-gap-grad-map';
  const backward = panel('Backward: the delta is spread evenly over the map', { testid: 'detail-gap-backward' },
    el('div', { class: 'conv-row' },
      el('figure', {}, gradMap, el('figcaption', { text: `δ of ${layerInputName(trace, layerIndex)}, channel ${c}` })),
      el('div', {},
        el('p', { class: 'conv-total' },
          `δ[${c}] = `, num(delta, { testid: 'detail-gap-delta', label: 'delta of the output' }),
          ` → ${fmt(delta)} / ${count} = `, num(each, { testid: 'detail-gap-each', cls: 'total', label: 'delta / (H·W)' }),
          ' to every cell'),
        el('p', { class: 'conv-total' },
          `the trace's δ at (${worst[0]}, ${worst[1]}), the cell farthest from it: `,
          num(at(gradIn, c, worst[0], worst[1]), { testid: 'detail-gap-grad-trace', label: 'trace delta' }),
          ' ', deltaMatches(trace, layerIndex, each, at(gradIn, c, worst[0], worst[1]))))));
  return el('div', { class: 'detail-views' }, backward, forward);
}
