// The inspect page: wires the input band, the overview, the probabilities and the detail view
// around one state object. Data flows one way: input -> api.inspect -> trace -> views.

import * as api from './api.js';
import { fmt } from './render/colormap.js';
import { canvasToPng, composeCanvas, downloadBlob } from './render/snapshot.js';
import { describeInput, initDrawPad, initUpload, renderPreprocessing } from './views/input.js';
import { attachWeights, initModelPicker } from './views/model_picker.js';
import { renderOverview } from './views/overview.js';
import { renderProbabilities } from './views/probabilities.js';
import { autoTarget, renderTargetControls } from './views/target.js';
import { mountTour } from './tour.js';
import { linkedStart, mountLink } from './url_state.js';
import { createTraceSession, inlineWeights } from './trace_session.js';
import { mount as mountAttribution } from './views/attribution.js';
import { mount as mountSgdStep } from './views/sgd_step.js';

// Parts of the trace the page asks for; the backward side also shows the pooling masks and
// weight gradients. The weights (which the detail views' arithmetic needs) do not change from
// one input to the next: they come once per model from the model card and are attached to
// every trace as layer.params (and BatchNorm's running statistics as layer.buffers), so each
// inspect (one per pen stroke) stays small.
const INCLUDE = {
  forward: ['activations', 'gradients', 'pool_indices'],
  backward: ['activations', 'gradients', 'pool_indices', 'pool_mask', 'param_grads'],
};

// Matches the stylesheet's phone layout, where the layer columns stack vertically.
const STACKED_LAYERS = window.matchMedia('(max-width: 600px)');

/** Wire the inspect page inside root (#inspect-app). */
export function mount(root) {
  function byId(id) {
    return document.getElementById(id);
  }

  const ui = {
    modelSelect: byId('model-select'),
    modelDescription: byId('model-description'),
    upload: byId('upload-input'),
    dropZone: byId('drop-zone'),
    fileName: byId('file-name'),
    drawPad: byId('draw-pad'),
    drawClear: byId('draw-clear'),
    gallery: byId('sample-gallery'),
    error: byId('input-error'),
    preprocessing: byId('preprocessing'),
    modeForward: byId('mode-forward'),
    modeBackward: byId('mode-backward'),
    targetSelect: byId('target-select'),
    targetNote: byId('target-note'),
    results: [byId('overview-band'), byId('detail-band'), byId('preprocessing')],
    detailStatus: byId('detail-status'),
    scaleSelect: byId('scale-select'),
    downloadJson: byId('download-json'),
    downloadPng: byId('download-png'),
    progress: byId('progress'),
    overviewBand: byId('overview-band'),
    overview: byId('overview'),
    prediction: byId('prediction'),
    hoverReadout: byId('hover-readout'),
    probabilities: byId('probabilities'),
    detail: byId('detail-view'),
  };

  const state = {
    modelId: null,
    layerInfo: [],
    layerInfoModel: null,
    input: null,
    target: null,
    mode: 'forward',
    scaleMode: ui.scaleSelect.value,
    trace: null,
    traceInput: null,
    selected: null,
    controller: null,
    overview: null,
    detailModule: undefined,
  };
  // Large traces: the layers the response left out come lazily, one trace at a time.
  const session = createTraceSession();

  const NO_INPUT = 'No input yet: upload, draw or pick a sample.';
  const current = () => ({ modelId: state.modelId, input: state.input, classes: state.trace?.classes });
  mountAttribution(byId('attribution-panel'), current);
  mountSgdStep(byId('sgd-step-panel'), current);
  const picker = initModelPicker({ select: ui.modelSelect, gallery: ui.gallery, root, onPick: (sample) => setInput({ sample: sample.id }) });

  /** Mark the shown result as belonging to an earlier input (dimmed, and said so) or not. */
  function setStale(stale) {
    for (const band of ui.results) band.classList.toggle('is-stale', stale);
    if (stale && state.trace) {
      ui.prediction.textContent = 'This input could not be inspected (see the error above): '
        + 'the dimmed result is for the previous input.';
      ui.prediction.dataset.stale = 'true';
    } else {
      delete ui.prediction.dataset.stale;
    }
  }

  function showError(error) {
    if (!error) {
      ui.error.hidden = true;
      ui.error.textContent = '';
      setStale(false);
      return;
    }
    const code = error.code ? ` (${error.code}${error.status ? `, HTTP ${error.status}` : ''})` : '';
    ui.error.textContent = `Could not inspect this input: ${error.message}${code}`;
    ui.error.hidden = false;
    setStale(true);
  }

  /** The loss target to ask for: the chosen class, else "auto" for the mode (the runner-up
   * backward, known from the last trace; runInspect corrects it once the new trace is in). */
  function requestedTarget() {
    if (state.target !== null) return state.target;
    if (state.mode === 'backward' && state.trace) return autoTarget(state.trace, 'backward');
    return null;
  }

  /** Clear the result: no input, nothing shown (the Clear button). */
  function clearResult() {
    state.controller?.abort();
    state.controller = null;
    session.reset(null);
    setBusy(false);
    state.input = null;
    state.trace = null;
    state.traceInput = null;
    state.selected = null;
    state.overview = null;
    showError(null);
    ui.preprocessing.replaceChildren();
    ui.overview.replaceChildren();
    ui.probabilities.replaceChildren();
    ui.prediction.textContent = NO_INPUT;
    delete ui.prediction.dataset.class;
    delete ui.prediction.dataset.input;
    delete ui.prediction.dataset.blank;
    ui.hoverReadout.textContent = '';
    ui.targetNote.textContent = '';
    ui.detail.replaceChildren(Object.assign(document.createElement('p'), {
      className: 'hint', textContent: 'Click a unit of any feature map to see how it was computed.',
    }));
    ui.detailStatus.textContent = '';
    ui.downloadJson.disabled = true;
    ui.downloadPng.disabled = true;
  }

  function setBusy(busy) {
    ui.progress.hidden = !busy;
    ui.overviewBand.setAttribute('aria-busy', String(busy));
  }

  function includeFor(mode) {
    return INCLUDE[mode];
  }

  function traceHasAll(trace, mode) {
    return includeFor(mode).every((part) => trace.include?.includes(part));
  }

  async function runInspect() {
    if (!state.input || !state.modelId) return;
    state.controller?.abort();
    const controller = new AbortController();
    state.controller = controller;
    const { input } = state;
    setBusy(true);
    try {
      const trace = await api.inspect(state.modelId, input, {
        target: requestedTarget(),
        include: includeFor(state.mode),
        signal: controller.signal,
      });
      if (controller !== state.controller) return;
      if (trace.model === state.layerInfoModel) attachWeights(trace, state.layerInfo);
      session.reset(trace);
      state.trace = trace;
      state.traceInput = input;
      if (state.target === null && trace.target !== autoTarget(trace, state.mode)) {
        // "auto" backward is this input's runner-up, known only now: ask once more (the
        // probabilities do not depend on the target, so the second answer is final).
        runInspect();
        return;
      }
      showError(null);
      render();
    } catch (error) {
      if (error.name === 'AbortError') return;
      showError(error);
    } finally {
      if (controller === state.controller) setBusy(false);
    }
  }

  function setInput(input, { keepTarget = false } = {}) {
    state.input = input;
    if (!keepTarget) state.target = null;
    runInspect();
  }

  function onHover(unit, value) {
    state.overview?.preview(unit);
    if (!unit) {
      ui.hoverReadout.textContent = '';
      return;
    }
    const layer = state.trace.layers[unit.layerIndex];
    const where = layer.output_shape.length === 3
      ? `channel ${unit.channel}, row ${unit.y}, col ${unit.x}`
      : `unit ${unit.channel}`;
    const isLogit = unit.layerIndex === state.trace.layers.length - 1;
    const what = state.mode === 'backward' ? 'delta' : (isLogit ? 'logit' : 'activation');
    ui.hoverReadout.textContent = `${layer.name} ${where}: ${what} ${fmt(value)}`;
    ui.hoverReadout.title = String(value);
  }

  async function loadDetailModule() {
    if (state.detailModule === undefined) {
      state.detailModule = await import('./views/detail.js').catch(() => null);
    }
    return state.detailModule;
  }

  async function showSelectedDetail() {
    const { trace, selected } = state;
    if (!trace || !selected) return false;
    const ready = await session.prepareDetail(trace, selected.layerIndex, state.layerInfo, {
      detail: ui.detail, status: ui.detailStatus,
    });
    if (!ready || trace !== state.trace || selected !== state.selected) return false;
    const module = await loadDetailModule();
    if (!module) {
      ui.detail.textContent = 'The detail views are not available.';
      return false;
    }
    module.showDetail(ui.detail, {
      trace,
      ...selected,
      mode: state.mode,
      classes: trace.classes,
      target: trace.target,
      onSelectUnit: (layerIndex, channel, y, x) => selectUnit({ layerIndex, channel, y, x }),
    });
    const heading = ui.detail.querySelector('.detail-header h2');
    ui.detailStatus.textContent = heading ? `Detail: ${heading.textContent}` : '';
    return true;
  }

  /** Bring the detail where the user looks: scroll its band into view unless its top already
   * shows; from the keyboard, move focus to its heading too. */
  function revealDetail({ keyboard }) {
    const band = ui.detail.closest('section');
    const top = band.getBoundingClientRect().top;
    if (top < 0 || top > window.innerHeight * 0.6) band.scrollIntoView({ block: 'start' });
    if (keyboard) {
      const heading = ui.detail.querySelector('.detail-header h2');
      if (heading) {
        heading.tabIndex = -1;
        heading.focus({ preventScroll: true });
      }
    }
  }

  /** Select a unit; `reveal` ({keyboard}) when the user picked it in the overview or the bars. */
  async function selectUnit(unit, reveal = null) {
    state.selected = unit;
    state.overview?.select(unit);
    const shown = await showSelectedDetail();
    if (shown && reveal) revealDetail(reveal);
    announce();
  }

  // Events up, data down: the link and the tour hear the state and select through the page.
  const announce = () => root.dispatchEvent(new CustomEvent('convscope:state', { detail: { ...state } }));
  root.addEventListener('convscope:select', (event) => selectUnit(event.detail));

  function render() {
    const { trace } = state;
    if (!trace) return;
    renderPreprocessing(ui.preprocessing, trace, state.mode);
    // The softmax / cross-entropy panel is the detail view's unit just past the last layer.
    renderProbabilities(ui.probabilities, ui.prediction, trace, (k, how) => selectUnit({
      layerIndex: trace.layers.length, channel: k, y: 0, x: 0,
    }, how));
    ui.prediction.dataset.input = describeInput(state.traceInput);
    renderTargetControls(ui.targetSelect, ui.targetNote, trace, state.mode, state.target);
    // A redraw (a new colour scale, a resize) of a result an error made stale keeps saying so.
    if (!ui.error.hidden) setStale(true);
    if (state.selected && state.selected.layerIndex > trace.layers.length) state.selected = null;
    state.overview?.dispose?.();
    state.overview = renderOverview(ui.overview, {
      trace,
      mode: state.mode,
      scaleMode: state.scaleMode,
      layerInfo: state.layerInfo,
      selected: state.selected,
      onHover,
      onSelect: selectUnit,
      compact: STACKED_LAYERS.matches,
      loader: session.loader,
      onLoaded: () => requestAnimationFrame(() => state.trace === trace && render()),
    });
    ui.overviewBand.dataset.mode = state.mode;
    ui.downloadJson.disabled = false;
    ui.downloadPng.disabled = false;
    showSelectedDetail().then(announce);
  }

  function setMode(mode) {
    state.mode = mode;
    ui.modeForward.setAttribute('aria-pressed', String(mode === 'forward'));
    ui.modeBackward.setAttribute('aria-pressed', String(mode === 'backward'));
    render();
    // The backward side wants parts (pool masks, weight gradients) a forward trace may lack,
    // and "auto" means another target in each mode.
    if (state.trace && (!traceHasAll(state.trace, mode)
      || (state.target === null && state.trace.target !== autoTarget(state.trace, mode)))) runInspect();
  }

  async function selectModel(modelId) {
    state.controller?.abort();
    session.reset(null);
    state.modelId = modelId;
    state.selected = null;
    state.layerInfo = [];
    state.layerInfoModel = null;
    try {
      // A large model's weights come layer by layer, when a detail view needs them.
      const listed = picker.model(modelId);
      let card = await api.getModel(modelId, { weights: inlineWeights(listed) });
      if (!listed && inlineWeights(card)) card = await api.getModel(modelId, { weights: true });
      if (state.modelId !== modelId) return;
      state.layerInfo = card.layers || [];
      state.layerInfoModel = modelId;
      ui.modelDescription.textContent = card.description || '';
      const first = picker.firstInput(await picker.showGallery(modelId)); // its own gallery
      if (!state.input) state.input = first;
    } catch (error) {
      showError(error);
    }
    await runInspect();
  }

  function saveJson() {
    const { trace } = state;
    if (!trace) return;
    const blob = new Blob([trace.rawJson], { type: 'application/json' });
    downloadBlob(blob, `convscope-${trace.model}-${trace.classes[trace.prediction]}-${state.mode}.json`);
  }

  async function savePng() {
    const { trace } = state;
    if (!trace) return;
    const rows = [[ui.overview, ui.probabilities]];
    if (state.selected) rows.push([ui.detail]);
    const png = await canvasToPng(composeCanvas(rows));
    downloadBlob(png, `convscope-${trace.model}-${trace.classes[trace.prediction]}-${state.mode}.png`);
  }

  async function start() {
    initUpload(ui.upload, ui.dropZone, ui.fileName, (input) => setInput(input));
    initDrawPad(ui.drawPad, ui.drawClear, (input) => setInput(input, { keepTarget: true }), clearResult);
    ui.modeForward.addEventListener('click', () => setMode('forward'));
    ui.modeBackward.addEventListener('click', () => setMode('backward'));
    ui.targetSelect.addEventListener('change', () => {
      const value = ui.targetSelect.value;
      state.target = value === '' ? null : Number(value);
      runInspect();
    });
    ui.scaleSelect.addEventListener('change', () => {
      state.scaleMode = ui.scaleSelect.value;
      render();
    });
    ui.modelSelect.addEventListener('change', () => selectModel(ui.modelSelect.value));
    STACKED_LAYERS.addEventListener('change', render);
    ui.downloadJson.addEventListener('click', saveJson);
    ui.downloadPng.addEventListener('click', () => savePng().catch(showError));

    try {
      const models = await picker.load(); // the link's sample is one of its model's gallery:
      const samples = await picker.showGallery(linkedStart(window.location.search, models, []).model);
      const wanted = linkedStart(window.location.search, models, samples);
      if (wanted.sample !== null) state.input = { sample: wanted.sample };
      state.target = wanted.target;
      setMode(wanted.mode);
      if (wanted.model) await selectModel((ui.modelSelect.value = wanted.model));
    } catch (error) {
      showError(error);
    }
  }

  mountLink(root);
  mountTour(root, ui);
  start();
}
