// A trace's layers as a graph: who reads whom. Every layer of an inspect response names its
// `inputs` ("input" is the network's input); a chain's layer reads the layer before it.
// Pure functions (no DOM): tests/js/graph.test.mjs runs them with node --test.

export const INPUT = 'input';

/** The names a layer reads: its `inputs`, or (an older response) the layer before it. */
export function inputsOf(layers, index) {
  const named = layers[index].inputs;
  if (Array.isArray(named) && named.length) return named;
  return [index === 0 ? INPUT : layers[index - 1].name];
}

/** name -> layer index, with "input" -> -1. */
export function indexByName(layers) {
  const map = new Map([[INPUT, -1]]);
  layers.forEach((layer, i) => map.set(layer.name, i));
  return map;
}

/** The indices of the layers that read node `name` (in order). */
export function readersOf(layers, name) {
  const readers = [];
  layers.forEach((_, i) => {
    if (inputsOf(layers, i).includes(name)) readers.push(i);
  });
  return readers;
}

/**
 * The skip edges: every input of a layer that is not the node drawn just before it.
 * -> [{from: name, fromIndex (-1 for the input), to: layer index, slot: argument position}],
 * e.g. a residual block's Add reading the block's input.
 */
export function skipEdges(layers) {
  const where = indexByName(layers);
  const edges = [];
  layers.forEach((_, i) => {
    const previous = i === 0 ? INPUT : layers[i - 1].name;
    inputsOf(layers, i).forEach((name, slot) => {
      if (name !== previous) edges.push({ from: name, fromIndex: where.get(name), to: i, slot });
    });
  });
  return edges;
}

/** True when every layer reads the layer before it (the LeNets). */
export function isChain(layers) {
  return skipEdges(layers).length === 0
    && layers.every((_, i) => inputsOf(layers, i).length === 1);
}

/** The indices of every layer that layer `index` depends on (its ancestors), as a Set. */
export function ancestorsOf(layers, index) {
  const where = indexByName(layers);
  const seen = new Set();
  const stack = [index];
  while (stack.length) {
    const i = stack.pop();
    for (const name of inputsOf(layers, i)) {
      const j = where.get(name);
      if (j !== undefined && j >= 0 && !seen.has(j)) {
        seen.add(j);
        stack.push(j);
      }
    }
  }
  return seen;
}

/** A node's output (part 'output') or delta (part 'grad_output') by name; the network's
 * input and its gradient for "input". */
export function nodeTensor(trace, name, part = 'output') {
  if (name === INPUT) return part === 'grad_output' ? trace.input_grad : trace.input;
  const layer = trace.layers.find((l) => l.name === name);
  return layer ? layer[part] : undefined;
}
