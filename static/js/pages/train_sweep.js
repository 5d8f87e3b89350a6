// The /train page's learning-rate sweep: the same short training at each of SWEEP_LRS, one
// after the other (the server trains one run at a time), side by side, each labelled by the
// server's verdict (too small / good / too large / diverging) with its reason.

import { fmt } from '../numbers.js';
import { lineChart } from './train_charts.js';
import { applyEvent, emptyRun, lrLabel, SWEEP_LRS } from './train_math.js';
import { followRun, startRun } from './train_api.js';

const VERDICT_CLASS = {
  'too small': 'verdict-small', good: 'verdict-good', 'too large': 'verdict-large',
  diverging: 'verdict-diverging',
};

function card(lr) {
  const figure = document.createElement('figure');
  figure.className = 'sweep-card';
  figure.dataset.testid = 'sweep-card';
  figure.dataset.lr = String(lr);
  const title = document.createElement('h3');
  title.textContent = `lr = ${lrLabel(lr)}`;
  const canvas = document.createElement('canvas');
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', `Train loss per step at learning rate ${lr}`);
  const verdict = document.createElement('p');
  verdict.className = 'sweep-verdict';
  verdict.textContent = 'waiting';
  const reason = document.createElement('figcaption');
  figure.append(title, canvas, verdict, reason);
  return { figure, canvas, verdict, reason };
}

function follow(id, view, onProgress) {
  return new Promise((resolve) => {
    const run = emptyRun();
    let drawn = 0;
    followRun(id, (event) => {
      applyEvent(run, event);
      onProgress(run);
      if (event.event === 'step' && run.losses.length - drawn >= 3) {
        drawn = run.losses.length;
        lineChart(view.canvas, [{ name: 'train loss', colour: '#2166ac', points: run.losses }],
          { xLabel: 'step', yLabel: 'loss', height: 150 });
      }
      if (event.event === 'end') {
        lineChart(view.canvas, [{ name: 'train loss', colour: '#2166ac', points: run.losses }],
          { xLabel: 'step', yLabel: 'loss', height: 150 });
        resolve(run);
      }
    }, () => resolve(run));
  });
}

/**
 * ui: {start (button), grid, status, progress (progress element)}; base(): the run request
 * the sweep copies (architecture, dataset, ...) or null; busy(flag) tells the page.
 */
export function mountSweep(ui, base, busy) {
  async function sweep() {
    const config = base();
    if (!config) {
      ui.status.textContent = 'Fix the architecture first.';
      return;
    }
    busy(true);
    ui.start.disabled = true;
    const views = SWEEP_LRS.map(card);
    ui.grid.replaceChildren(...views.map((v) => v.figure));
    ui.progress.hidden = false;
    try {
      for (const [index, lr] of SWEEP_LRS.entries()) {
        const view = views[index];
        view.verdict.textContent = 'training…';
        const request = { ...config, epochs: 1,
          optimizer: { ...config.optimizer, lr }, schedule: { name: 'constant' } };
        let run;
        try {
          run = await startRun(request);
        } catch (error) {
          view.verdict.textContent = 'not started';
          ui.status.textContent = error.message;
          return;
        }
        const done = await follow(run.id, view, (r) => {
          const total = run.progress.total_steps || 1;
          ui.progress.max = SWEEP_LRS.length * total;
          ui.progress.value = index * total + Math.min(r.step, total);
          ui.status.textContent = `Training ${index + 1} of ${SWEEP_LRS.length}: lr = `
            + `${lrLabel(lr)}, step ${r.step} of ${total}`;
        });
        const verdict = done.end?.lr_verdict;
        view.verdict.textContent = verdict ? verdict.label : done.status;
        view.verdict.className = `sweep-verdict ${VERDICT_CLASS[verdict?.label] ?? ''}`;
        view.figure.dataset.verdict = verdict?.label ?? done.status;
        const last = done.losses.at(-1);
        view.reason.textContent = `${verdict ? `${verdict.reason}.` : ''}`
          + `${done.divergedAt ? ` Diverged at step ${done.divergedAt}.` : ''}`
          + `${last ? ` Last loss ${fmt(last[1])}.` : ''}`;
      }
      ui.status.textContent = 'Sweep done: the same training at five learning rates.';
      ui.progress.value = ui.progress.max;
    } finally {
      ui.start.disabled = false;
      busy(false);
    }
  }
  ui.start.addEventListener('click', sweep);
}
