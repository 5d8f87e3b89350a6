// The guided tour's plan, pure (no DOM): which steps a trace supports, in the order of the
// network, and which unit each step selects. input -> conv -> activation -> pool -> flatten
// -> linear -> softmax -> backward; a step whose layer kind the model lacks is skipped.

export const ACTIVATION_KINDS = ['relu', 'tanh', 'sigmoid', 'leakyrelu', 'relu6', 'sign', 'clamp'];
const KINDS = {
  conv: ['conv2d'],
  activation: ACTIVATION_KINDS,
  pool: ['maxpool2d', 'avgpool2d'],
  flatten: ['flatten'],
  linear: ['linear'],
};

/** The unit with the largest value (the strongest response; the first on ties) in channel c
 * of a (C, H, W) tensor, or overall for other shapes. -> {channel, y, x} */
export function strongest(tensor, channel = 0) {
  const { shape, data } = tensor;
  if (shape.length !== 3) {
    let best = 0;
    for (let i = 1; i < data.length; i += 1) if (data[i] > data[best]) best = i;
    return { channel: best, y: 0, x: 0 };
  }
  const [, h, w] = shape;
  const offset = channel * h * w;
  let best = 0;
  for (let i = 1; i < h * w; i += 1) if (data[offset + i] > data[offset + best]) best = i;
  return { channel, y: Math.floor(best / w), x: best % w };
}

/** The tour's steps for a trace: [{id, layerIndex}], layer steps in network order; 'input'
 * first, 'softmax' and 'backward' last. The activation step takes the first activation after
 * the first convolution (or the first activation when there is no convolution); the pool step
 * the first pooling after the activation. */
export function planSteps(trace) {
  const layers = trace && Array.isArray(trace.layers) ? trace.layers : [];
  const find = (kinds, from = 0) => {
    const i = layers.findIndex((l, k) => k >= from && kinds.includes(l.kind));
    return i;
  };
  const found = {};
  found.conv = find(KINDS.conv);
  found.activation = find(KINDS.activation, Math.max(0, found.conv));
  found.pool = find(KINDS.pool, Math.max(0, found.activation, found.conv));
  found.flatten = find(KINDS.flatten);
  found.linear = find(KINDS.linear, Math.max(0, found.flatten));
  const middle = Object.entries(found)
    .filter(([, i]) => i >= 0)
    .map(([id, layerIndex]) => ({ id, layerIndex }))
    .sort((a, b) => a.layerIndex - b.layerIndex);
  const steps = [{ id: 'input', layerIndex: null }, ...middle];
  if (layers.length) steps.push({ id: 'softmax', layerIndex: layers.length });
  const conv = middle.find((s) => s.id === 'conv') || middle[0];
  if (conv) steps.push({ id: 'backward', layerIndex: conv.layerIndex });
  return steps;
}

/** The unit a step selects: the strongest unit of channel 0 for the convolution and its
 * relatives (the activation at the same place, the pooling unit covering it), the strongest
 * unit of dense layers, the predicted class for softmax, the conv step's unit for backward. */
export function unitFor(step, trace, steps) {
  if (step.id === 'input') return null;
  if (step.id === 'softmax') return { layerIndex: step.layerIndex, channel: trace.prediction, y: 0, x: 0 };
  const conv = steps.find((s) => s.id === 'conv');
  const anchor = conv ? strongest(trace.layers[conv.layerIndex].output, 0) : null;
  if (step.id === 'backward') {
    const base = conv || steps.find((s) => s.layerIndex === step.layerIndex && s.id !== 'backward');
    return base ? unitFor({ ...base }, trace, steps) : null;
  }
  const layer = trace.layers[step.layerIndex];
  const shape = layer.output_shape || (layer.output && layer.output.shape) || [];
  if (anchor && shape.length === 3) {
    const [c, h, w] = shape;
    const convShape = trace.layers[conv.layerIndex].output_shape;
    const fy = convShape[1] / h;
    const fx = convShape[2] / w;
    return {
      layerIndex: step.layerIndex,
      channel: Math.min(anchor.channel, c - 1),
      y: Math.min(h - 1, Math.floor(anchor.y / fy)),
      x: Math.min(w - 1, Math.floor(anchor.x / fx)),
    };
  }
  if (!layer.output) return { layerIndex: step.layerIndex, channel: 0, y: 0, x: 0 };
  return { layerIndex: step.layerIndex, ...strongest(layer.output) };
}
