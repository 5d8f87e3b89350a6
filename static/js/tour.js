// The inspect page's guided tour and its in-place help toggles. The tour walks one step at a
// time through input -> conv -> activation -> pool -> flatten -> linear -> softmax -> backward
// on the current image: each step selects the real unit through the page's own
// 'convscope:select' event (and the page's own mode buttons), highlights its layer and
// explains it with the trace's numbers, which arrive with every 'convscope:state'.

import { activationOf, short } from './activation_functions.js';
import { helpToggle } from './help_text.js';
import { percent as pct } from './numbers.js';
import { planSteps, unitFor } from './tour_steps.js';
import { parseLink } from './url_state.js';
import { at, layerInput } from './views/detail_parts.js';

const STYLESHEET = '/static/css/tour.css';
const TITLES = {
  input: 'The input', conv: 'A convolution', activation: 'The activation', pool: 'Pooling',
  flatten: 'Flatten', linear: 'A fully connected layer', softmax: 'Softmax: the answer',
  backward: 'Backward: the deltas',
};

const where = (u, shape) => (shape.length === 3 ? `channel ${u.channel}, row ${u.y}, column ${u.x}` : `unit ${u.channel}`);
const value = (tensor, u) => {
  if (!tensor) return null;
  return tensor.shape.length === 3 ? at(tensor, u.channel, u.y, u.x) : at(tensor, u.channel);
};
const size = (k) => (Array.isArray(k) ? `${k[0]}×${k[1]}` : `${k}×${k}`);

/** The step's explanation with the trace's numbers. */
export function stepText(step, trace, unit) {
  const layer = step.layerIndex !== null && step.layerIndex < trace.layers.length ? trace.layers[step.layerIndex] : null;
  const cfg = (layer && layer.config) || {};
  const shape = layer ? layer.output_shape : [];
  const v = layer && unit ? value(layer.output, unit) : null;
  const k = trace.prediction;
  switch (step.id) {
    case 'input': {
      const [c, h, w] = trace.input.shape;
      return `This is what the network reads: ${c === 1 ? 'one grey channel' : `${c} channels`} of ${h}×${w} `
        + `pixels, scaled to [0, 1] (here from ${short(trace.input.min)} to ${short(trace.input.max)}). `
        + `It predicts ${trace.classes[k]} with ${pct(trace.probabilities[k])}. Each step below is one layer, left to right.`;
    }
    case 'conv':
      return `${layer.name} slides ${shape[0]} kernels of ${size(cfg.kernel_size ?? '?')} over its input; each kernel `
        + `makes one map. The highlighted unit (${where(unit, shape)}, the strongest of map ${unit.channel}) is its `
        + `window of the input times the kernel's weights, summed, plus the bias: ${short(v)}. The detail below shows every product.`;
    case 'activation': {
      const fn = activationOf(layer.kind);
      const x = value(layerInput(trace, step.layerIndex), unit);
      const name = fn ? fn.name : layer.kind;
      const how = {
        relu: 'keeps positive values and sets the rest to 0',
        tanh: 'squashes every value into (−1, 1), as the LeNet-5 of 1998 did',
        sigmoid: 'squashes every value into (0, 1)',
      }[layer.kind] || 'is applied to every value on its own';
      return `${layer.name} (${name}) ${how}: for this unit, f(${short(x)}) = ${short(v)}. Without it, the `
        + 'layers would collapse into one linear map. Its slope f′(x) decides how much gradient flows back.';
    }
    case 'pool': {
      const kind = layer.kind === 'maxpool2d' ? 'keeps the largest value of' : 'averages (LeCun’s subsampling)';
      return `${layer.name} ${kind} each ${size(cfg.kernel_size ?? 2)} window, shrinking the maps to ${shape[1]}×${shape[2]}. `
        + `This unit, (${where(unit, shape)}), covers the unit before: its value is ${short(v)}. Small shifts of the `
        + 'digit now change less.';
    }
    case 'flatten': {
      const inShape = layerInput(trace, step.layerIndex)?.shape || [];
      return `${layer.name} unrolls the ${inShape.join('×')} maps into one vector of ${shape[0]} numbers, channel by channel, `
        + `row by row, so that fully connected layers can read them. Unit ${unit.channel} holds ${short(v)}.`;
    }
    case 'linear': {
      const inputs = layerInput(trace, step.layerIndex);
      const n = inputs ? inputs.data.length : '?';
      return `${layer.name} is fully connected: each of its ${shape[0]} units weighs all ${n} inputs and adds a bias. `
        + `The highlighted unit ${unit.channel}, the strongest, is ${short(v)}.`;
    }
    case 'softmax':
      return `The last layer's ${trace.classes.length} numbers (the logits) become probabilities: p = e^z / Σ e^z. `
        + `Class ${trace.classes[k]}: logit ${short(trace.logits[k])}, probability ${pct(trace.probabilities[k])}. `
        + `The loss against the target ${trace.classes[trace.target]} is −log p = ${short(Number(trace.loss))}.`;
    case 'backward': {
      const g = layer && unit ? value(layer.grad_output, unit) : null;
      return `Backward, every map shows deltas: how much the loss (target ${trace.classes[trace.target]}) changes `
        + `per unit of each activation, from the output back to the pixels. The same ${layer ? layer.name : ''} unit's delta is `
        + `${g === null ? '(loading)' : short(g)}: raising it by a small ε changes the loss by about ${g === null ? 'that' : short(g)}·ε. `
        + 'The input column shows dL/d(pixel): which pixels would change the answer.';
    }
    default:
      return '';
  }
}

function ensureStylesheet() {
  if (document.querySelector(`link[href="${STYLESHEET}"]`)) return;
  const link = Object.assign(document.createElement('link'), { rel: 'stylesheet', href: STYLESHEET });
  document.head.append(link);
}

/** Help toggles for the page's bands: the input, the maps, the probabilities. */
function mountHelp(root) {
  const add = (headingId, key, label, text = '?') => {
    const heading = root.querySelector(`#${headingId}`);
    if (!heading) return;
    const { button, panel } = helpToggle(key, { label, text });
    heading.parentElement.insertBefore(button, heading.nextElementSibling?.classList.contains('help-toggle')
      ? heading.nextElementSibling.nextElementSibling : heading.nextElementSibling);
    heading.parentElement.append(panel);
  };
  add('input-heading', 'input', 'the input');
  add('overview-heading', 'overview', 'the feature maps', '? maps');
  add('overview-heading', 'probabilities', 'the probabilities', '? probabilities');
}

/** Wire the tour to the inspect page (root); ui holds the page's mode buttons. */
export function mountTour(root, ui) {
  ensureStylesheet();
  mountHelp(root);
  let latest = null;  // the page's last announced state
  let tour = null;    // {steps, index, model} while the tour runs

  const panel = document.createElement('section');
  panel.className = 'tour-panel';
  panel.hidden = true;
  panel.setAttribute('role', 'dialog');
  panel.setAttribute('aria-labelledby', 'tour-title');
  panel.dataset.testid = 'tour-panel';
  panel.innerHTML = '<p class="tour-count" id="tour-count"></p><h2 id="tour-title" tabindex="-1"></h2>'
    + '<p id="tour-text" data-testid="tour-text" aria-live="polite"></p><div class="tour-buttons">'
    + '<button type="button" data-testid="tour-back">Back</button>'
    + '<button type="button" data-testid="tour-next">Next</button>'
    + '<button type="button" data-testid="tour-exit">Exit tour</button></div>';
  root.append(panel);
  const [back, next, exit] = panel.querySelectorAll('button');
  const start = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Take the tour' });
  start.dataset.testid = 'tour-start';
  start.title = 'A step-by-step walk through the network on this image';
  root.querySelector('.controls-band')?.prepend(start);

  function highlight(step) {
    for (const node of root.querySelectorAll('.tour-target')) node.classList.remove('tour-target');
    let target = null;
    if (!step) return null;
    if (step.id === 'input') target = root.querySelector('.input-column') || root.querySelector('#preprocessing');
    else if (step.id === 'softmax') target = root.querySelector('#probabilities');
    else target = root.querySelector(`.layer-column[data-layer="${step.layerIndex}"]`);
    target?.classList.add('tour-target');
    return target;
  }

  function describe() {
    if (!tour || !latest || !latest.trace) return;
    const step = tour.steps[tour.index];
    const unit = unitFor(step, latest.trace, tour.steps);
    panel.querySelector('#tour-count').textContent = `Step ${tour.index + 1} of ${tour.steps.length}`;
    panel.querySelector('#tour-title').textContent = TITLES[step.id];
    panel.querySelector('#tour-text').textContent = stepText(step, latest.trace, unit);
    panel.dataset.step = step.id;
    back.disabled = tour.index === 0;
    next.textContent = tour.index === tour.steps.length - 1 ? 'Finish' : 'Next';
    const target = highlight(step);
    target?.scrollIntoView({ block: 'nearest', inline: 'center' });
    dodge(target);
  }

  /** Dock the panel on the other side when it would cover the highlighted layer. */
  function dodge(target) {
    panel.classList.remove('tour-panel-left');
    if (!target) return;
    const a = target.getBoundingClientRect();
    const b = panel.getBoundingClientRect();
    const overlaps = a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
    if (overlaps) panel.classList.add('tour-panel-left');
  }

  function show(index) {
    tour.index = index;
    const step = tour.steps[index];
    const wantBackward = step.id === 'backward';
    if ((latest.mode === 'backward') !== wantBackward) (wantBackward ? ui.modeBackward : ui.modeForward).click();
    const unit = unitFor(step, latest.trace, tour.steps);
    if (unit) root.dispatchEvent(new CustomEvent('convscope:select', { detail: unit }));
    describe();
    panel.querySelector('#tour-title').focus({ preventScroll: true });
  }

  function begin() {
    if (!latest || !latest.trace) {
      tour = { pending: true };
      return;
    }
    tour = { steps: planSteps(latest.trace), index: 0, model: latest.trace.model };
    panel.hidden = false;
    root.classList.add('touring');
    show(0);
  }

  function end() {
    tour = null;
    panel.hidden = true;
    root.classList.remove('touring');
    highlight(null);
    start.focus();
  }

  start.addEventListener('click', begin);
  back.addEventListener('click', () => tour && tour.index > 0 && show(tour.index - 1));
  next.addEventListener('click', () => {
    if (!tour) return;
    if (tour.index < tour.steps.length - 1) show(tour.index + 1);
    else end();
  });
  exit.addEventListener('click', end);
  panel.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') end();
    else if (event.key === 'ArrowRight' && event.target.tagName !== 'BUTTON') next.click();
    else if (event.key === 'ArrowLeft' && event.target.tagName !== 'BUTTON') back.click();
  });
  root.addEventListener('convscope:state', (event) => {
    latest = event.detail;
    if (!tour || !latest.trace) return;
    if (tour.pending) begin();
    else if (latest.trace.model !== tour.model) begin();  // another model: its own steps
    else describe();
  });
  if (parseLink(window.location.search).tour) begin();
}
