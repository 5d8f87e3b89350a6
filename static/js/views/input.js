// The input band: file upload (picker and drag-and-drop), the drawing pad, the sample gallery,
// and what the network saw (each preprocessing step, the 28x28 input and, backward, its
// gradient). Inputs leave this module as {file} | {pixels} | {sample} for api.inspect.

import { drawHeatmap, drawLegend } from '../render/colormap.js';

const DRAW_DEBOUNCE_MS = 150;
const INK = '#ffffff';
const PAPER = '#000000';

/** "sample:7", "file:photo.png" or "pixels": which input the shown trace belongs to. */
export function describeInput(input) {
  if (!input) return '';
  if (input.file) return `file:${input.file.name || ''}`;
  if (input.pixels) return 'pixels';
  return `sample:${input.sample}`;
}

/** Wire the file picker and the drop zone: each chosen image calls onInput({file}) and its
 * name is shown in nameEl. */
export function initUpload(fileInput, dropZone, nameEl, onInput) {
  const choose = (file) => {
    nameEl.textContent = file.name || '';
    onInput({ file });
  };
  fileInput.addEventListener('change', () => {
    const [file] = fileInput.files;
    if (file) choose(file);
    // Choosing the same file twice must re-run it.
    fileInput.value = '';
  });
  const setHover = (on) => dropZone.classList.toggle('drag-over', on);
  dropZone.addEventListener('dragover', (event) => {
    event.preventDefault();
    setHover(true);
  });
  dropZone.addEventListener('dragleave', () => setHover(false));
  dropZone.addEventListener('drop', (event) => {
    event.preventDefault();
    setHover(false);
    const [file] = event.dataTransfer.files;
    if (file) choose(file);
  });
}

/** The pad's grayscale pixels (0-255, white ink on black) as rows, or null when blank. */
export function padPixels(canvas) {
  const { width, height } = canvas;
  const rgba = canvas.getContext('2d').getImageData(0, 0, width, height).data;
  const rows = [];
  let inked = false;
  for (let y = 0; y < height; y += 1) {
    const row = new Array(width);
    for (let x = 0; x < width; x += 1) {
      const value = rgba[4 * (y * width + x)];
      row[x] = value;
      if (value) inked = true;
    }
    rows.push(row);
  }
  return inked ? rows : null;
}

function clearPad(canvas) {
  const context = canvas.getContext('2d');
  context.fillStyle = PAPER;
  context.fillRect(0, 0, canvas.width, canvas.height);
}

/**
 * The drawing pad: pointer events (mouse, touch, pen) draw white ink on black, the MNIST
 * convention. While drawing, onInput({pixels}) fires debounced; the caller aborts stale requests.
 * Clear blanks the pad and calls onClear() (the page clears its result).
 */
export function initDrawPad(canvas, clearButton, onInput, onClear = () => {}) {
  // The pad is read back after every stroke: tell the browser so (no readback warning).
  const context = canvas.getContext('2d', { willReadFrequently: true });
  clearPad(canvas);
  let last = null;
  let timer = null;

  const point = (event) => {
    const rect = canvas.getBoundingClientRect();
    return [
      ((event.clientX - rect.left) / rect.width) * canvas.width,
      ((event.clientY - rect.top) / rect.height) * canvas.height,
    ];
  };
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const pixels = padPixels(canvas);
      if (pixels) onInput({ pixels });
    }, DRAW_DEBOUNCE_MS);
  };
  const stroke = (to) => {
    context.strokeStyle = INK;
    context.fillStyle = INK;
    context.lineWidth = canvas.width / 14;
    context.lineCap = 'round';
    context.lineJoin = 'round';
    context.beginPath();
    if (last) {
      context.moveTo(...last);
      context.lineTo(...to);
      context.stroke();
    } else {
      context.arc(to[0], to[1], context.lineWidth / 2, 0, 2 * Math.PI);
      context.fill();
    }
    last = to;
    schedule();
  };

  canvas.addEventListener('pointerdown', (event) => {
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    last = null;
    stroke(point(event));
  });
  canvas.addEventListener('pointermove', (event) => {
    if (last === null || !canvas.hasPointerCapture(event.pointerId)) return;
    for (const sub of event.getCoalescedEvents?.() ?? [event]) stroke(point(sub));
  });
  const end = (event) => {
    if (canvas.hasPointerCapture(event.pointerId)) canvas.releasePointerCapture(event.pointerId);
    last = null;
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  clearButton.addEventListener('click', () => {
    clearTimeout(timer);
    clearPad(canvas);
    onClear();
  });
}

/** Fill the gallery with one button per sample; clicking one calls onPick(sample). The gallery
 * is one tab stop: arrow keys (and Home / End) move between its samples. `classes` (the
 * model's class names) names each sample; without it a sample is "a digit N". */
export function renderSamples(gallery, samples, onPick, classes = null) {
  gallery.replaceChildren(
    ...samples.map((sample, i) => {
      const cell = document.createElement('div');
      cell.setAttribute('role', 'listitem');
      const item = document.createElement('button');
      item.type = 'button';
      item.className = 'sample';
      item.dataset.sampleId = String(sample.id);
      item.dataset.label = String(sample.label);
      const name = classes ? classes[sample.label] ?? String(sample.label) : null;
      item.title = `Sample ${sample.id}: a ${name ?? sample.label}`;
      const image = document.createElement('img');
      image.src = sample.thumbnail;
      image.alt = name ?? `digit ${sample.label}`;
      image.width = 28;
      image.height = 28;
      item.append(image);
      item.tabIndex = i === 0 ? 0 : -1;
      item.addEventListener('click', () => onPick(sample));
      cell.append(item);
      return cell;
    }),
  );
  gallery.onkeydown = (event) => {
    const items = [...gallery.querySelectorAll('.sample')];
    const current = items.indexOf(document.activeElement);
    if (current < 0) return;
    const perRow = items.filter((item) => item.offsetTop === items[0].offsetTop).length;
    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: perRow, ArrowUp: -perRow };
    let next;
    if (event.key in moves) next = current + moves[event.key];
    else if (event.key === 'Home') next = 0;
    else if (event.key === 'End') next = items.length - 1;
    else return;
    event.preventDefault();
    next = Math.min(items.length - 1, Math.max(0, next));
    items[current].tabIndex = -1;
    items[next].tabIndex = 0;
    items[next].focus();
  };
}

function figure(caption, ...content) {
  const element = document.createElement('figure');
  const text = document.createElement('figcaption');
  text.textContent = caption;
  element.append(...content, text);
  return element;
}

/**
 * What the network saw: every preprocessing step's image, the (C, H, W) input tensor as a
 * heatmap and, in backward mode, the input gradient (saliency) with its legend.
 */
export function renderPreprocessing(container, trace, mode) {
  const figures = (trace.preprocessing || []).map((step) => {
    const image = document.createElement('img');
    image.src = step.image;
    image.alt = `preprocessing step: ${step.step}`;
    image.className = 'step-image';
    return figure(step.step.replaceAll('_', ' '), image);
  });
  const [channels, h, w] = trace.input.shape;
  // One map per input channel (a colour model's red, green and blue); a normalised input
  // (mean/std) is shown on its own range.
  const names = channelNames(trace.input_spec, channels);
  const range = { min: Math.min(0, trace.input.min), max: Math.max(1, trace.input.max) };
  for (let c = 0; c < channels; c += 1) {
    const input = document.createElement('canvas');
    input.className = 'step-image';
    input.setAttribute('data-testid', c ? `network-input-${c}` : 'network-input');
    drawHeatmap(input, trace.input.data.subarray(c * h * w, (c + 1) * h * w), h, w,
      { signed: false, ...range });
    figures.push(figure(`network input ${names[c]}${h}×${w}`, input));
  }
  if (mode === 'backward' && trace.input_grad) {
    const { min, max } = trace.input_grad;
    for (let c = 0; c < channels; c += 1) {
      const saliency = document.createElement('canvas');
      saliency.className = 'step-image';
      saliency.setAttribute('data-testid', c ? `saliency-${c}` : 'saliency');
      drawHeatmap(saliency, trace.input_grad.data.subarray(c * h * w, (c + 1) * h * w), h, w,
        { signed: true, min, max });
      const legend = document.createElement('div');
      if (c === channels - 1) drawLegend(legend, { min, max, signed: true, label: 'dL/d input' });
      figures.push(figure(`saliency: dL/d input ${names[c]}`.trim(), saliency, legend));
    }
  }
  container.replaceChildren(...figures);
}

/** Captions for the input's channels: "red ", "green ", "blue " (in the network's order) for
 * a 3-channel input, "" for one channel. */
export function channelNames(spec, channels) {
  if (channels !== 3) return Array.from({ length: channels }, (_, c) => (channels > 1 ? `channel ${c} ` : ''));
  const rgb = ['red ', 'green ', 'blue '];
  return spec && spec.colour_order === 'bgr' ? rgb.reverse() : rgb;
}
