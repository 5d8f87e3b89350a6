// Class probabilities as labelled bars (the prediction and the loss target marked, with a
// legend), and the prediction stated in words, or "No digit found" for a blank input.

import { fmt, percent } from '../numbers.js';

export { percent };

/** True when preprocessing found no ink: the response's `blank` flag, or (from a server
 * without it) a last preprocessing step named "blank". */
export function isBlank(trace) {
  if (typeof trace.blank === 'boolean') return trace.blank;
  const steps = trace.preprocessing || [];
  return steps.length > 0 && steps[steps.length - 1].step === 'blank';
}

/** "Prediction: 7 (98.2%)", or "No digit found" when the input had no ink. */
export function predictionText(trace) {
  if (isBlank(trace)) {
    return 'No digit found: the image has no ink, so the network input is all zeros.';
  }
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
  predictionEl.dataset.blank = String(isBlank(trace));
  predictionEl.title = `p = ${trace.probabilities[trace.prediction]}`;
  const heading = document.createElement('h3');
  heading.textContent = 'Class probabilities';
  const list = document.createElement('ol');
  list.className = 'prob-bars';
  trace.probabilities.forEach((p, k) => {
    // <li> stays a list item; the row inside it is the control (a button role on the <li>
    // itself would hide it from the list).
    const entry = document.createElement('li');
    const item = document.createElement('div');
    entry.append(item);
    item.className = 'prob-row';
    if (k === trace.prediction) item.classList.add('is-prediction');
    if (k === trace.target) item.classList.add('is-target');
    item.dataset.class = String(k);
    item.title = `${trace.classes[k]}: p = ${p}, logit = ${trace.logits[k]}`;
    const label = document.createElement('span');
    label.className = 'prob-label';
    label.textContent = trace.classes[k];
    if (k === trace.target) {
      // The marker shows even when p is about 0 and the bar has no width.
      const marker = document.createElement('span');
      marker.className = 'target-marker';
      marker.textContent = '◆';
      marker.title = 'the loss target';
      label.append(marker);
    }
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
      const roles = [k === trace.prediction ? 'predicted' : '', k === trace.target ? 'loss target' : '']
        .filter(Boolean).join(', ');
      item.setAttribute('aria-label', `class ${trace.classes[k]}${roles ? ` (${roles})` : ''}: ${percent(p)}; `
        + 'show the softmax and loss');
      item.addEventListener('click', () => onSelectClass(k, { keyboard: false }));
      item.addEventListener('keydown', (event) => {
        if (event.key !== 'Enter' && event.key !== ' ') return;
        event.preventDefault();
        onSelectClass(k, { keyboard: true });
      });
    }
    list.append(entry);
  });
  const loss = document.createElement('p');
  loss.className = 'loss';
  loss.title = String(trace.loss);
  loss.textContent = `Loss −log p(${trace.classes[trace.target]}) = ${fmt(trace.loss)}`;
  const legend = document.createElement('p');
  legend.className = 'prob-legend';
  legend.dataset.testid = 'probabilities-legend';
  const predicted = document.createElement('span');
  predicted.className = 'legend-predicted';
  predicted.textContent = `${trace.classes[trace.prediction]}`;
  const marker = document.createElement('span');
  marker.className = 'target-marker';
  marker.textContent = '◆';
  legend.append(predicted, ' bold: predicted · ', marker, ` orange: loss target (${trace.classes[trace.target]})`);
  const parts = [heading, list, legend, loss];
  if (isBlank(trace)) {
    const note = document.createElement('p');
    note.className = 'hint';
    note.textContent = 'No digit was found, so these are the network’s answer to an all-zero input (its biases alone), not a reading.';
    parts.splice(1, 0, note);
  }
  container.replaceChildren(...parts);
}
