// The text CNN lesson: type a string; see every filter's response along it, the position that
// won max-over-time pooling, the fixed-length vector, the prediction and, backward, how much
// the loss depends on each letter. All numbers come from the server; this module draws them.

import { fmt, percent } from '../numbers.js';
import { textCnnInspect } from '../lessons/api.js';
import {
  byWidth, firstArgmax, foreignCharacters, fraction, ramp, responseScale, tokenLabel,
} from '../lessons/text.js';

const ALPHABET = 'abcdefgh';
const CLASSES = ['none', 'hg', 'bad', 'cafe'];
const EXAMPLES = ['gdbadhe', 'aahgaa', 'gcafeb', 'abcdefgh', 'cafbadfe', 'hhgg', 'ba'];
const RESPONSE_COLOUR = [8, 48, 107];
const SENSITIVITY_COLOUR = [230, 97, 0];
const DEBOUNCE_MS = 150;

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key === 'style') Object.assign(node.style, value);
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

export function mount(root) {
  const $ = (id) => root.querySelector(`#${id}`);
  const ui = {
    text: $('tc-text'), target: $('tc-target'), examples: $('tc-examples'), error: $('tc-error'),
    prediction: $('tc-prediction'), probs: $('tc-probs'),
    head: root.querySelector('#tc-filters thead'), body: root.querySelector('#tc-filters tbody'),
    vector: $('tc-vector'), loss: $('tc-loss'), sensitivity: $('tc-sensitivity'),
  };
  const state = { request: 0, controller: null, timer: null };

  CLASSES.forEach((name, i) => ui.target.append(el('option', { value: String(i), text: name })));
  for (const example of EXAMPLES) {
    const button = el('button', { type: 'button', text: example });
    button.addEventListener('click', () => { ui.text.value = example; run(); });
    ui.examples.append(button);
  }

  function showError(message) {
    ui.error.hidden = !message;
    ui.error.textContent = message || '';
    root.classList.toggle('is-stale', Boolean(message));
  }

  function drawProbabilities(body) {
    ui.prediction.textContent = `Prediction for "${body.text}": ${body.classes[body.prediction]} `
      + `(${percent(body.probabilities[body.prediction])}). Held-out accuracy of this model: `
      + `${percent(body.heldout_accuracy)}.`;
    ui.probs.replaceChildren(...body.classes.map((name, i) => el('li', {
      class: i === body.prediction ? 'tc-predicted' : '',
    }, [
      el('span', { text: name }),
      el('span', { class: 'tc-track', role: 'img', 'aria-label': `${name}: ${percent(body.probabilities[i])}` },
        [el('span', { class: 'tc-fill', style: { width: `${100 * body.probabilities[i]}%`, display: 'block' } })]),
      el('span', { text: percent(body.probabilities[i]) }),
    ])));
  }

  function drawFilters(body) {
    const tokens = body.tokens;
    ui.head.replaceChildren(el('tr', {}, [
      el('th', { scope: 'col', text: 'filter' }),
      ...tokens.map((t, i) => el('th', {
        scope: 'col', class: t === null ? 'tc-pad' : '', text: tokenLabel(t),
        title: t === null ? `position ${i}: padding` : `position ${i}`,
      })),
      el('th', { scope: 'col', text: 'winner' }),
    ]));
    const scale = responseScale(body.filters);
    const rows = [];
    for (const [width, filters] of byWidth(body.filters)) {
      rows.push(el('tr', { class: 'tc-group' }, [
        el('th', { colspan: String(tokens.length + 2), scope: 'rowgroup',
          text: `width ${width}: ${filters.length} filters, each reads ${width} letters` }),
      ]));
      for (const f of filters) {
        const win = f.winner.position;
        // The page's own check: the outlined cell is the first maximum of the drawn row.
        const drawnWinner = firstArgmax(f.response);
        const cells = tokens.map((_, i) => {
          if (i >= f.response.length) return el('td', { class: 'tc-cell tc-empty' });
          const ngram = tokens.slice(i, i + width).map(tokenLabel).join('');
          return el('td', {
            class: `tc-cell${i === drawnWinner ? ' tc-win' : ''}`,
            title: `${f.name} at ${i} ("${ngram}"): ${fmt(f.response[i])}`,
            style: { background: ramp(fraction(f.response[i], scale), RESPONSE_COLOUR) },
          });
        });
        const label = f.winner.padding ? `${f.winner.ngram}${'·'.repeat(f.winner.padding)}` : f.winner.ngram;
        rows.push(el('tr', { 'data-filter': f.name, 'data-winner': String(win) }, [
          el('th', { scope: 'row', text: f.name }),
          ...cells,
          el('td', { class: 'tc-ngram', text: `"${label}" at ${win}: ${fmt(f.winner.value)}` }),
        ]));
      }
    }
    ui.body.replaceChildren(...rows);
  }

  function drawVector(body) {
    const scale = Math.max(...body.vector, 0);
    ui.vector.replaceChildren(...body.filters.map((f, i) => el('li', {
      title: `${f.name}: winner "${f.winner.ngram}" at ${f.winner.position}`,
    }, [
      el('span', { class: 'tc-bar-track', role: 'img', 'aria-label': `${f.name}: ${fmt(body.vector[i])}` },
        [el('span', { class: 'tc-bar', style: { height: `${100 * fraction(body.vector[i], scale)}%` } })]),
      el('span', { text: fmt(body.vector[i]) }),
      el('span', { class: 'tc-name', text: f.name }),
    ])));
  }

  function drawSensitivity(body) {
    ui.loss.textContent = `Loss against "${body.classes[body.target]}": ${fmt(body.loss)}. `
      + 'Per letter, ‖dL/d embedding‖:';
    const scale = Math.max(...body.sensitivity, 0);
    ui.sensitivity.replaceChildren(...body.tokens.map((t, i) => el('li', {}, [
      el('span', {
        class: 'tc-char', text: tokenLabel(t),
        title: `position ${i}${t === null ? ' (padding)' : ''}: ${fmt(body.sensitivity[i])}`,
        style: { background: ramp(fraction(body.sensitivity[i], scale), SENSITIVITY_COLOUR) },
      }),
      el('span', { text: fmt(body.sensitivity[i]) }),
    ])));
  }

  async function run() {
    clearTimeout(state.timer);
    const text = ui.text.value;
    const foreign = foreignCharacters(text, ALPHABET);
    if (!text) { showError('Type at least one letter (a–h).'); return; }
    if (foreign.length) {
      showError(`Only the letters a–h: remove ${foreign.map((c) => `"${c}"`).join(', ')}.`);
      return;
    }
    const target = ui.target.value === '' ? null : Number(ui.target.value);
    state.controller?.abort();
    state.controller = new AbortController();
    const request = ++state.request;
    try {
      const body = await textCnnInspect(text, { target, signal: state.controller.signal });
      if (request !== state.request) return;
      showError('');
      drawProbabilities(body);
      drawFilters(body);
      drawVector(body);
      drawSensitivity(body);
      root.dataset.shown = body.text;
    } catch (error) {
      if (error.name === 'AbortError' || request !== state.request) return;
      showError(error.message);
    }
  }

  ui.text.addEventListener('input', () => {
    clearTimeout(state.timer);
    state.timer = setTimeout(run, DEBOUNCE_MS);
  });
  ui.target.addEventListener('change', run);
  run();
}
