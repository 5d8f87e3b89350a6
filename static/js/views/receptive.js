// The selected unit's receptive field drawn on the input and on every layer in between,
// each box computed with geometry.js from the layers' receptive_field {size, jump, start}.
// Backward mode draws the deltas instead of the activations.

import { clipBox, receptiveBox, unitsInField } from '../geometry.js';
import { ancestorsOf } from '../graph.js';
import { el, heatmapCanvas, note, panel } from './detail_parts.js';

const BOX = '#e66100';
const SAME_GEOMETRY = ['relu', 'sigmoid', 'tanh', 'batchnorm2d', 'add'];

/** The channel to draw at layer l on the way down from the selected layer: the same channel
 * until a convolution mixes channels, then channel 0 (every channel feeds it). */
function channelsDown(trace, layerIndex, channel, onPath) {
  const channels = [];
  let c = channel;
  for (let l = layerIndex; l >= 0; l--) {
    if (!onPath(l)) continue;
    channels[l] = c;
    if (trace.layers[l].kind === 'conv2d' || trace.layers[l].kind === 'convtranspose2d') c = 0;
  }
  return { channels, inputChannel: c };
}

export function showReceptiveField(ctx) {
  const { trace, layerIndex } = ctx;
  const layer = trace.layers[layerIndex];
  const field = layer.receptive_field;
  const inputT = ctx.mode === 'backward' && trace.input_grad ? trace.input_grad : trace.input;
  if (!field || !inputT) return null;
  const [, inH, inW] = inputT.shape;
  // A global pool's units (jump 0) see the whole input, like a dense layer's.
  const global = [].concat(field.jump)[0] === 0;
  const spatial = layer.output && layer.output.shape.length === 3 && !global;
  const box = spatial ? receptiveBox(field, ctx.y, ctx.x, inH, inW)
    : { y0: 0, x0: 0, y1: inH - 1, x1: inW - 1 };
  const clipped = spatial ? box.clipped : clipBox(box, inH, inW);
  // In a graph only the unit's ancestors see the input through it (a chain: every layer before).
  const ancestors = ancestorsOf(trace.layers, layerIndex);
  const onPath = (l) => l === layerIndex || ancestors.has(l);
  const { channels, inputChannel } = spatial ? channelsDown(trace, layerIndex, ctx.channel, onPath)
    : { channels: [], inputChannel: 0 };
  const cellFor = (h, w) => Math.max(2, Math.floor(112 / Math.max(h, w)));
  const figures = [];
  const inputCanvas = heatmapCanvas(inputT, inputChannel, {
    cell: cellFor(inH, inW), signed: ctx.mode === 'backward',
    boxes: clipped ? [{ ...clipped, colour: BOX, width: 2 }] : [],
    label: `the input with the unit's receptive field`,
  });
  inputCanvas.dataset.testid = 'detail-rf-input';
  if (clipped) Object.assign(inputCanvas.dataset, {
    y0: String(clipped.y0), x0: String(clipped.x0), y1: String(clipped.y1), x1: String(clipped.x1),
  });
  figures.push(el('figure', {}, inputCanvas, el('figcaption', { text: 'input' })));
  if (spatial) {
    for (let l = 0; l <= layerIndex; l++) {
      const lt = trace.layers[l];
      const tensor = ctx.mode === 'backward' ? lt.grad_output : lt.output;
      if (!onPath(l) || !tensor || tensor.shape.length !== 3 || !lt.receptive_field) continue;
      // Activations (and BatchNorm, Add) repeat their input's geometry: draw only layers that
      // change it.
      if (SAME_GEOMETRY.includes(lt.kind) && l !== layerIndex) continue;
      const [, h, w] = tensor.shape;
      const units = unitsInField(box, lt.receptive_field, h, w);
      const canvas = heatmapCanvas(tensor, channels[l], {
        cell: cellFor(h, w), signed: ctx.mode === 'backward' || tensor.min < 0,
        boxes: units ? [{ ...units, colour: BOX, width: 2 }] : [],
        label: `${lt.name} channel ${channels[l]} with the units in the field`,
      });
      canvas.dataset.testid = `detail-rf-layer-${l}`;
      figures.push(el('figure', {}, canvas, el('figcaption', { text: `${lt.name} (ch ${channels[l]})` })));
    }
  }
  const [sh, sw] = Array.isArray(field.size) ? field.size : [field.size, field.size];
  const [jh, jw] = Array.isArray(field.jump) ? field.jump : [field.jump, field.jump];
  const text = spatial
    ? `Field ${sh}×${sw} input pixels, jump ${jh}×${jw}: rows ${box.y0}…${box.y1}, columns ${box.x0}…${box.x1}` +
      (clipped && (clipped.y0 !== box.y0 || clipped.x0 !== box.x0 || clipped.y1 !== box.y1 || clipped.x1 !== box.x1)
        ? ' (clipped to the image where it reaches into the padding).' : '.')
    : `${global && layer.output.shape.length === 3 ? 'This unit pools every position, so it' : 'A dense unit'} sees the whole input.`;
  return panel('Receptive field', { testid: 'detail-rf' },
    note(text),
    el('div', { class: 'rf-strip' }, ...figures));
}
