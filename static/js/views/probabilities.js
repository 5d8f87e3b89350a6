// Class probabilities as labelled bars, and the prediction stated in words.

import { fmt, percent } from '../numbers.js';

export { percent };

/** "Prediction: 7 (98.2%)". */
export function predictionText(trace) {
  const k = trace.prediction;
  return `Prediction: ${trace.classes[k]} (${percent(trace.probabilities[k])})`;
}

/**
 * Bars for every class in `container`; the predicted class and the loss target marked.
 * `predictionEl` gets the prediction in words. Clicking a row (or Enter on it) calls
 * onSelectClass(k), e.g. to open the softmax / cross-entropy detail.
 */
export function renderProbabilities(container, predictionEl, trace, onSelectClass = null) {
  predictionEl.textContent = predictionText(trace);
  predictionEl.dataset.class = String(trace.prediction);
  predictionEl.title = `p = ${trace.probabilities[trace.prediction]}`;
  const heading = document.createElement('h3');
  heading.textContent = 'Class probabilities';
  const list = document.createElement('ol');
  list.className = 'prob-bars';
  trace.probabilities.forEach((p, k) => {
    const item = document.createElement('li');
    item.className = 'prob-row';
    if (k === trace.prediction) item.classList.add('is-prediction');
    if (k === trace.target) item.classList.add('is-target');
    item.dataset.class = String(k);
    item.title = `${trace.classes[k]}: p = ${p}, logit = ${trace.logits[k]}`;
    const label = document.createElement('span');
    label.className = 'prob-label';
    label.textContent = trace.classes[k];
    const track = document.createElement('span');
    track.className = 'prob-track';
    const bar = document.createElement('span');
    bar.className = 'prob-bar';
    bar.style.width = `${Math.max(0, Math.min(1, p)) * 100}%`;
    track.append(bar);
    const value = document.createElement('span');
    value.className = 'prob-value';
    value.textContent = percent(p);
    item.append(label, track, value);
    if (onSelectClass) {
      item.tabIndex = 0;
      item.setAttribute('role', 'button');
      item.setAttribute('aria-label', `class ${trace.classes[k]}: ${percent(p)}; show the softmax and loss`);
      item.addEventListener('click', () => onSelectClass(k));
      item.addEventListener('keydown', (event) => {
        if (event.key !== 'Enter' && event.key !== ' ') return;
        event.preventDefault();
        onSelectClass(k);
      });
    }
    list.append(item);
  });
  const loss = document.createElement('p');
  loss.className = 'loss';
  loss.title = String(trace.loss);
  loss.textContent = `Loss −log p(${trace.classes[trace.target]}) = ${fmt(trace.loss)}`;
  container.replaceChildren(heading, list, loss);
}
