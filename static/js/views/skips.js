// Skip edges on the overview: the overview draws a graph's nodes in topological order, so a
// node that reads something other than the column just before it (a residual Add reading its
// block's input, a projection reading it too) gets a labelled connector at both ends: "⤶ from
// relu1" on the reader, "⤷ to block1_add" on the source, in a colour shared by the pair.
// Hovering (or focusing) either end highlights the other column; activating it scrolls there.
// A chain (the LeNets) has no skip edges and gets nothing.

import { inputsOf, skipEdges } from '../graph.js';

const COLOURS = ['#7b3294', '#1b7837', '#b35806', '#2166ac', '#c51b7d', '#4d4d4d'];

function chip(text, title, colour, onActivate, onHighlight) {
  const node = document.createElement('button');
  node.type = 'button';
  node.className = 'skip-chip';
  node.textContent = text;
  node.title = title;
  node.setAttribute('aria-label', title);
  node.style.setProperty('--skip-colour', colour);
  node.addEventListener('click', onActivate);
  for (const [event, on] of [['pointerenter', true], ['focus', true], ['pointerleave', false], ['blur', false]]) {
    node.addEventListener(event, () => onHighlight(on));
  }
  return node;
}

/**
 * Add the connectors of every skip edge of `trace` to the overview's columns: `columns[0]` is
 * the input column and columns[i + 1] layer i's. Returns the number of edges drawn.
 */
export function drawSkipConnectors(trace, columns) {
  // A node with several inputs says what it joins: "block1_bn2 + relu1".
  trace.layers.forEach((layer, i) => {
    const names = inputsOf(trace.layers, i);
    const head = columns[i + 1] && columns[i + 1].querySelector('.layer-head');
    if (names.length < 2 || !head) return;
    const line = document.createElement('p');
    line.className = 'layer-meta layer-inputs';
    line.textContent = names.join(layer.kind === 'add' ? ' + ' : ', ');
    head.append(line);
  });
  const edges = skipEdges(trace.layers);
  edges.forEach((edge, k) => {
    const colour = COLOURS[k % COLOURS.length];
    const source = columns[edge.fromIndex + 1];
    const target = columns[edge.to + 1];
    if (!source || !target) return;
    const reader = trace.layers[edge.to];
    const joins = reader.kind === 'add' ? 'added to' : reader.kind === 'concat' ? 'concatenated in' : 'read by';
    const highlight = (column) => (on) => column.classList.toggle('skip-highlight', on);
    const go = (column) => () => {
      column.scrollIntoView({ block: 'nearest', inline: 'center', behavior: 'smooth' });
      column.classList.add('skip-highlight');
      setTimeout(() => column.classList.remove('skip-highlight'), 1200);
    };
    const inChip = chip(`⤶ from ${edge.from}`,
      `skip connection: ${edge.from}'s output is ${joins} ${reader.name}`, colour, go(source), highlight(source));
    inChip.dataset.testid = `skip-in-${edge.to}-${edge.slot}`;
    inChip.dataset.from = edge.from;
    const outChip = chip(`⤷ to ${reader.name}`,
      `skip connection: ${edge.from}'s output is ${joins} ${reader.name}`, colour, go(target), highlight(target));
    outChip.dataset.testid = `skip-out-${edge.to}-${edge.slot}`;
    outChip.dataset.to = reader.name;
    target.querySelector('.layer-head').append(inChip);
    source.querySelector('.layer-head').append(outChip);
    target.classList.add('has-skip');
    target.style.setProperty('--skip-colour', colour);
  });
  return edges.length;
}
