// /train: train a CNN live on the server. Choose the architecture, data and optimizer; Start,
// Pause, Step, Stop; watch the run's events; sweep the learning rate; inspect the result.
// The page only renders what /api/v1/training-runs sends.

import { fmt, percent } from '../numbers.js';
import { mountArchitecture } from './train_arch.js';
import { controlRun, followRun, getRun, startRun } from './train_api.js';
import {
  renderCharts, renderConfusion, renderEpochTable, renderFilters, renderLayers,
} from './train_live.js';
import { applyEvent, emptyRun, fractionDone } from './train_math.js';
import { mountSweep } from './train_sweep.js';

const ACTIVE = ['queued', 'running', 'paused'];

export function mount(root) {
  const $ = (id) => root.querySelector(`#${id}`);
  const ui = {
    preset: $('train-preset'), dataset: $('train-dataset'), layers: $('train-layers'),
    table: $('train-shapes'), total: $('train-total'), archError: $('train-arch-error'),
    optimizer: $('train-optimizer'), lr: $('train-lr'), momentum: $('train-momentum'),
    decay: $('train-decay'), schedule: $('train-schedule'), batch: $('train-batch'),
    epochs: $('train-epochs'), augment: $('train-augment'), seed: $('train-seed'),
    examples: $('train-examples'),
    start: $('train-start'), pause: $('train-pause'), step: $('train-step'),
    stop: $('train-stop'), status: $('train-status'), progress: $('train-progress'),
    inspect: $('train-inspect'), error: $('train-error'),
    lossChart: $('train-loss-chart'), accuracyChart: $('train-accuracy-chart'),
    lrChart: $('train-lr-chart'), epochTable: $('train-epochs-table'),
    layerStats: $('train-layer-stats'), filters: $('train-filters'),
    filtersCaption: $('train-filters-caption'), confusion: $('train-confusion'),
  };
  const state = { run: null, view: emptyRun(), close: null, sweeping: false, pending: false };
  let frame = 0;

  const arch = mountArchitecture({
    preset: ui.preset, dataset: ui.dataset, layers: ui.layers, table: ui.table,
    total: ui.total, error: ui.archError,
  }, () => updateButtons());

  function request() {
    const chosen = arch.value();
    if (!chosen) return null;
    const body = {
      ...chosen,
      optimizer: { name: ui.optimizer.value, lr: Number(ui.lr.value),
        momentum: Number(ui.momentum.value), weight_decay: Number(ui.decay.value) },
      schedule: { name: ui.schedule.value },
      batch_size: Number(ui.batch.value), epochs: Number(ui.epochs.value),
      augment: ui.augment.checked, seed: Number(ui.seed.value),
    };
    if (ui.examples.value) body.train_examples = Number(ui.examples.value);
    return body;
  }

  function updateButtons() {
    const status = state.view.status;
    const live = state.run && ACTIVE.includes(status);
    ui.start.disabled = Boolean(live) || state.sweeping || state.pending || !arch.value();
    ui.pause.disabled = !live || status !== 'running';
    ui.step.disabled = !live || status !== 'paused' || state.pending;
    ui.stop.disabled = !live;
    $('train-resume').disabled = !live || status !== 'paused';
  }

  function renderStatus() {
    const v = state.view;
    const run = state.run;
    if (!run) return;
    const total = run.progress.total_steps;
    ui.progress.max = total;
    ui.progress.value = Math.min(v.step, total);
    const last = v.epochs.at(-1);
    let text = `Run ${run.id}: ${v.status}, step ${v.step} of ${total}`
      + ` (${Math.round(100 * fractionDone({ step: v.step, total_steps: total }))}%)`;
    if (last) text += `; epoch ${last.epoch}: held-out ${percent(last.heldout_accuracy)}, `
      + `loss ${fmt(last.heldout_loss)}`;
    if (v.divergedAt) text += `; diverged at step ${v.divergedAt}`;
    if (v.reason && v.status !== 'running') text += ` (${v.reason})`;
    ui.status.textContent = text;
    root.dataset.status = v.status;
    if (v.end?.model_id) {
      ui.inspect.href = `/?model=${encodeURIComponent(v.end.model_id)}`;
      ui.inspect.hidden = false;
    }
  }

  function draw() {
    frame = 0;
    const v = state.view;
    renderCharts(ui, v);
    renderEpochTable(ui.epochTable, v);
    renderLayers(ui.layerStats, v.layers);
    renderFilters(ui.filters, ui.filtersCaption, v.filters);
    renderConfusion(ui.confusion, v.confusion, state.run?.classes ?? []);
    renderStatus();
    updateButtons();
    if (v.end) root.dataset.ended = 'true';
  }

  function schedule() {
    if (!frame) frame = requestAnimationFrame(draw);
  }

  async function start() {
    const body = request();
    if (!body) return;
    ui.error.textContent = '';
    state.pending = true;
    updateButtons();
    try {
      if (state.close) state.close();
      state.run = await startRun(body);
      state.view = emptyRun();
      ui.inspect.hidden = true;
      delete root.dataset.ended;
      root.dataset.runId = state.run.id;
      state.close = followRun(state.run.id, (event) => {
        applyEvent(state.view, event);
        schedule();
      }, () => { ui.error.textContent = 'The event stream closed.'; });
    } catch (error) {
      ui.error.textContent = error.message;
    } finally {
      state.pending = false;
      schedule();
    }
  }

  async function control(command) {
    if (!state.run) return;
    ui.error.textContent = '';
    state.pending = true;
    updateButtons();
    try {
      const run = await controlRun(state.run.id, command);
      state.view.status = run.status;
      state.view.step = Math.max(state.view.step, run.progress.step);
    } catch (error) {
      ui.error.textContent = error.message;
    } finally {
      state.pending = false;
      schedule();
    }
  }

  ui.start.addEventListener('click', start);
  ui.pause.addEventListener('click', () => control('pause'));
  $('train-resume').addEventListener('click', () => control('resume'));
  ui.step.addEventListener('click', () => control('step'));
  ui.stop.addEventListener('click', () => control('stop'));
  ui.optimizer.addEventListener('change', () => {
    ui.momentum.disabled = ui.optimizer.value === 'adam';
    if (ui.optimizer.value === 'adam' && Number(ui.lr.value) > 0.01) ui.lr.value = '0.001';
  });
  window.addEventListener('resize', schedule);

  mountSweep({ start: $('sweep-start'), grid: $('sweep-grid'), status: $('sweep-status'),
    progress: $('sweep-progress') }, () => {
    const body = request();
    return body && { ...body, augment: false };
  }, (flag) => { state.sweeping = flag; updateButtons(); });

  // A page reopened on a run (?run=id) follows it again.
  const reopened = new URLSearchParams(window.location.search).get('run');
  if (reopened) {
    getRun(reopened).then((run) => {
      state.run = run;
      root.dataset.runId = run.id;
      state.close = followRun(run.id, (event) => { applyEvent(state.view, event); schedule(); });
    }).catch((error) => { ui.error.textContent = error.message; });
  }
  updateButtons();
}
