// Shareable URLs for the inspect page: the query holds model, sample, layer, unit (c,y,x or
// one index for dense layers), mode (forward|backward) and target; the page restores them
// on load and rewrites the query (history.replaceState) as the user clicks. Anything
// invalid falls back quietly to the default. The parse / validate / serialise helpers are
// pure (tested with node --test); mountLink wires them to the page's events.

const MODES = ['forward', 'backward'];
const NAT = /^(0|[1-9]\d{0,8})$/;  // a non-negative integer of at most 9 digits

function natural(text) {
  return typeof text === 'string' && NAT.test(text) ? Number(text) : null;
}

/** The query string -> its fields, each syntactically checked (null when absent or bad). */
export function parseLink(search) {
  const q = new URLSearchParams(search || '');
  const model = q.get('model');
  const layer = q.get('layer');
  const unitText = q.get('unit');
  let unit = null;
  if (unitText !== null) {
    const parts = unitText.split(',').map((p) => natural(p.trim()));
    if ((parts.length === 1 || parts.length === 3) && parts.every((p) => p !== null)) unit = parts;
  }
  return {
    model: model && /^[A-Za-z0-9._-]{1,64}$/.test(model) ? model : null,
    sample: natural(q.get('sample')),
    layer: layer && layer.length <= 64 ? layer : null,
    unit,
    mode: MODES.includes(q.get('mode')) ? q.get('mode') : 'forward',
    target: natural(q.get('target')),
    tour: q.get('tour') === '1',
  };
}

/** The start the page should take: the link's model and sample when they exist (else the
 * first of each), its mode, and its target when the chosen model has that class. */
export function linkedStart(search, models, samples) {
  const link = parseLink(search);
  const model = models.find((m) => m.id === link.model) || models[0] || null;
  const sample = samples.some((s) => s.id === link.sample) ? link.sample
    : (samples.length ? samples[0].id : null);
  const classes = model && Array.isArray(model.classes) ? model.classes.length : 0;
  const target = link.target !== null && link.target < classes ? link.target : null;
  return { model: model ? model.id : null, sample, mode: link.mode, target };
}

/** The link's layer and unit resolved against a trace: {layerIndex, channel, y, x}, or null.
 * layer "softmax" is the softmax panel (unit = the class); a bad unit of a good layer is the
 * layer's first unit. */
export function resolveUnit(link, trace) {
  if (!link.layer || !trace || !Array.isArray(trace.layers)) return null;
  const n = trace.layers.length;
  const index = link.layer === 'softmax' ? n : trace.layers.findIndex((l) => l.name === link.layer);
  if (index < 0) return null;
  const shape = index === n ? [trace.classes ? trace.classes.length : 0] : trace.layers[index].output_shape;
  const first = { layerIndex: index, channel: 0, y: 0, x: 0 };
  const u = link.unit;
  if (!u || !Array.isArray(shape) || shape.length === 0) return first;
  if (shape.length === 3 && u.length === 3 && u[0] < shape[0] && u[1] < shape[1] && u[2] < shape[2]) {
    return { layerIndex: index, channel: u[0], y: u[1], x: u[2] };
  }
  const size = shape.reduce((a, b) => a * b, 1);
  if (shape.length !== 3 && u.length === 1 && u[0] < size) return { ...first, channel: u[0] };
  return first;
}

/** The page's state -> the query string ("?model=...&..."). */
export function serializeLink({ modelId, input, mode, target, selected, trace }) {
  const q = new URLSearchParams();
  if (modelId) q.set('model', modelId);
  if (input && input.sample !== undefined && input.sample !== null && !input.file && !input.pixels) {
    q.set('sample', String(input.sample));
  }
  if (selected && trace && Array.isArray(trace.layers)) {
    const n = trace.layers.length;
    const layer = selected.layerIndex === n ? null : trace.layers[selected.layerIndex];
    if (selected.layerIndex === n || layer) {
      q.set('layer', layer ? layer.name : 'softmax');
      const spatial = layer && layer.output_shape && layer.output_shape.length === 3;
      q.set('unit', spatial ? `${selected.channel},${selected.y},${selected.x}` : String(selected.channel));
    }
  }
  q.set('mode', mode === 'backward' ? 'backward' : 'forward');
  if (target !== null && target !== undefined) q.set('target', String(target));
  return `?${q.toString().replace(/%2C/g, ',')}`;
}

/**
 * Wire the link to the inspect page (root): restore the link's layer and unit once the first
 * trace of the page is in (through the page's own 'convscope:select' event), then keep the
 * query in step with every 'convscope:state' the page announces; add a "Copy link" button.
 */
export function mountLink(root, { search = window.location.search } = {}) {
  const link = parseLink(search);
  let pending = Boolean(link.layer);
  let ready = false;
  root.addEventListener('convscope:state', (event) => {
    const state = event.detail;
    if (!state.trace) return;
    if (pending) {
      pending = false;
      const unit = resolveUnit(link, state.trace);
      if (unit) {
        root.dispatchEvent(new CustomEvent('convscope:select', { detail: unit }));
        return;  // the selection announces the state again
      }
    }
    ready = true;
    // (tour=1 starts the tour once, at load: the rewritten link leaves it out.)
    const query = serializeLink(state);
    if (query !== window.location.search) {
      window.history.replaceState(null, '', `${window.location.pathname}${query}${window.location.hash}`);
    }
  });

  const controls = root.querySelector('.controls-band');
  if (!controls) return;
  const button = Object.assign(document.createElement('button'), {
    type: 'button', id: 'copy-link', textContent: 'Copy link',
    title: 'Copy a link that reopens this model, sample, unit and mode',
  });
  button.dataset.testid = 'copy-link';
  const status = Object.assign(document.createElement('span'), { className: 'link-status', id: 'link-status' });
  status.setAttribute('role', 'status');
  status.dataset.testid = 'link-status';
  button.addEventListener('click', async () => {
    const url = window.location.href;
    try {
      if (!ready) throw new Error('not ready');
      await navigator.clipboard.writeText(url);
      status.textContent = 'Link copied.';
    } catch {
      status.textContent = `Copy this link: ${url}`;
    }
  });
  const json = controls.querySelector('#download-json');
  controls.insertBefore(button, json);
  controls.insertBefore(status, json);
}
