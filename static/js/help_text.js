// Short in-place help for every view of the inspect page: what you see, what to try, and the
// formula, per layer kind (the detail view of a unit) and per band of the page. helpToggle
// builds the "?" button and its panel; the texts are plain data (tested against the core's
// layer kinds).

const T = (see, tryIt, formula) => ({ see, try: tryIt, formula });

export const HELP = {
  // The bands of the page.
  input: T('The image the network reads: a sample, your drawing or an upload, after the same '
    + 'preprocessing as in training (grey, 28×28, scaled to [0, 1]).',
  'Draw a digit badly on purpose, or pick a sample the network gets wrong.',
  'x = pixel / 255'),
  overview: T('Every layer’s maps side by side: forward, the activations; backward, the deltas '
    + 'dL/d(activation). One square per unit, coloured by its value.',
  'Click any unit to see how it was computed; switch to Backward to see where the loss '
    + 'sends its gradient.',
  'a(l) = layer(a(l−1));  δ(l−1) = ∂a(l)/∂a(l−1)ᵀ δ(l)'),
  probabilities: T('The softmax of the last layer: the probability of each class.',
  'Pick a class as the loss target and watch the deltas change.',
  'p_k = e^{z_k} / Σ_j e^{z_j};  L = −log p_target'),
  softmax: T('Logits z turned into probabilities, and the cross-entropy loss against the target.',
  'Change the loss target: the delta at the logits is p − onehot(target).',
  'p_k = e^{z_k} / Σ_j e^{z_j};  dL/dz = p − y'),
  // Layer kinds.
  conv2d: T('One output unit: its kernel laid over the input window it reads, multiplied and summed, '
    + 'plus the bias.', 'Step through neighbouring units: the same kernel slides, the window moves.',
  'y[c,i,j] = b[c] + Σ_{c′,u,v} w[c,c′,u,v] · x[c′, s·i+u, s·j+v]'),
  convtranspose2d: T('Each input value scatters a scaled copy of the kernel into the output; '
    + 'overlapping copies add.', 'Look for a checkerboard where the kernel size is not a multiple '
    + 'of the stride.', 'y[s·i+u, s·j+v] += x[i,j] · w[u,v]'),
  conv1d: T('A kernel sliding along a sequence: a window of characters or steps, weighted and summed.',
    'Compare windows at different positions.', 'y[c,t] = b[c] + Σ_{c′,u} w[c,c′,u] · x[c′, s·t+u]'),
  maxpool2d: T('The window this unit pools and its winner: the largest value is kept.',
    'Backward: only the winner receives the delta; the others get 0.',
    'y = max(window);  dL/dx = dL/dy at the winner, 0 elsewhere'),
  avgpool2d: T('The window this unit averages (LeCun’s subsampling).',
    'Backward: the delta is shared equally by every input of the window.',
    'y = mean(window);  dL/dx = dL/dy / (k·k)'),
  adaptiveavgpool2d: T('Each map averaged down to the output size (global average pooling: one number per map).',
    'Compare a map’s picture with its single average.', 'y[c] = mean over the map of x[c]'),
  adaptivemaxpool2d: T('Each map max-pooled down to the output size.', 'Find the winning unit of each map.',
    'y[c] = max over the region of x[c]'),
  maxpool1d: T('A window along the sequence and its largest value.', 'Backward: the winner takes the delta.',
    'y[t] = max(x[s·t … s·t+k−1])'),
  adaptivemaxpool1d: T('Max over time: the largest response of each filter anywhere in the sequence.',
    'See which position won.', 'y[c] = max_t x[c,t]'),
  relu: T('The unit’s input x and output max(0, x), on the curve of ReLU and its slope.',
    'Backward: the delta passes where x > 0 and stops where x ≤ 0.',
    'f(x) = max(0, x);  dL/dx = f′(x) · dL/dy,  f′ = 1 if x > 0 else 0'),
  leakyrelu: T('Like ReLU, but a small slope a below 0 keeps a trickle of gradient.',
    'Find a negative unit: its delta is a times the delta above.',
    'f(x) = x if x > 0 else a·x;  f′ = 1 or a'),
  relu6: T('ReLU capped at 6: flat on both sides.', 'Units above 6 pass no gradient back.',
    'f(x) = min(max(0, x), 6);  f′ = 1 if 0 < x < 6 else 0'),
  sigmoid: T('The unit on the sigmoid curve: squashed into (0, 1).',
    'Units far from 0 are saturated: f′ ≈ 0, their delta vanishes.',
    'f(x) = 1 / (1 + e^−x);  f′ = y (1 − y)'),
  tanh: T('The unit on the tanh curve: squashed into (−1, 1), centred on 0.',
    'Units beyond about ±3 are saturated: f′ ≈ 0.', 'f(x) = tanh x;  f′ = 1 − y²'),
  sign: T('The threshold unit: −1, 0 or 1.', 'Backward: its slope is 0, so no delta passes.',
    'f(x) = sign(x);  f′ = 0'),
  identity: T('A placeholder: output equals input.', 'The delta passes unchanged.', 'f(x) = x;  f′ = 1'),
  clamp: T('The input clipped to [lo, hi].', 'Units outside the bounds pass no gradient.',
    'f(x) = min(max(x, lo), hi);  f′ = 1 inside, 0 outside'),
  linear: T('A fully connected unit: every input times its weight, summed, plus the bias.',
    'Sort by contribution to see which inputs decide this unit.',
    'y_j = b_j + Σ_i W[j,i] x_i;  δ_in = Wᵀ δ_out'),
  flatten: T('The maps unrolled into one vector, channel by channel, row by row.',
    'A unit’s index n is channel n ÷ (H·W), then row, then column.', 'v[c·H·W + i·W + j] = x[c,i,j]'),
  batchnorm2d: T('The unit normalised by its channel’s statistics, then scaled and shifted.',
    'Compare the running mean with this unit’s value.',
    'y = γ (x − μ) / √(σ² + ε) + β'),
  channelaffine: T('A fixed scale and shift per channel.', 'Backward: the delta is multiplied by the scale.',
    'y[c] = a[c] · x[c] + b[c]'),
  dropout: T('Dropout: in inference it passes its input through unchanged.',
    'Nothing to try here at inference time.', 'y = x (inference);  training: y = m·x / (1 − p)'),
  zeropad2d: T('The map with a border of zeros added.', 'Padding units have no input: their value is 0.',
    'y[i+top, j+left] = x[i, j], 0 elsewhere'),
  add: T('A skip connection: two branches added element by element.',
    'Backward: both branches receive the same delta.', 'y = a + b;  δ_a = δ_b = δ_y'),
  concat: T('Maps of several branches stacked along the channels.',
    'Backward: each branch gets its own slice of the delta.', 'y = [a; b] along channels'),
  embedding: T('Each token index looked up as a row of a table of vectors.',
    'The input indices have no gradient; the table rows do.', 'y[t] = E[token t]'),
  transpose: T('Two axes swapped, as torch’s x.transpose(1, 2).', 'The values do not change.',
    'y[i,j,k] = x[i,k,j]'),
  rnn: T('A recurrent layer: the hidden state updated at every step from the input and the last state.',
    'Follow the state along the steps.', 'h_t = tanh(W x_t + U h_{t−1} + b)'),
  lstm: T('An LSTM: gates decide what the cell keeps, adds and shows.', 'Compare the forget gate across steps.',
    'c_t = f ⊙ c_{t−1} + i ⊙ g;  h_t = o ⊙ tanh(c_t)'),
  imagerows: T('The image read as a sequence of its rows.', 'Each step is one row of pixels.',
    'x_t = image[t, :]'),
  laststep: T('The last step’s output of a sequence.', 'Only the last step receives a delta from above.',
    'y = h_T'),
  finalstates: T('The final hidden state of a recurrent layer.', 'The delta enters at the last step.',
    'y = h_T'),
};

/** The help entry for a kind or band, or a plain fallback (never undefined). */
export function helpFor(key) {
  if (Object.hasOwn(HELP, key)) return HELP[key];
  return T(`A ${key} layer: the overview shows its maps.`, 'Click a unit to see its value.', '—');
}

let counter = 0;
// The help panels a reader opened stay open when their view is drawn again (a new unit).
const open = new Set();

/** A "?" toggle button and the help panel it shows and hides (hidden at first). */
export function helpToggle(key, { label = key, text = '?' } = {}) {
  const help = helpFor(key);
  counter += 1;
  const id = `help-${String(key).replace(/[^a-z0-9]/gi, '')}-${counter}`;
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'help-toggle';
  button.textContent = text;
  button.setAttribute('aria-controls', id);
  button.setAttribute('aria-label', `Help: ${label}`);
  button.dataset.testid = `help-toggle-${key}`;
  const panel = document.createElement('div');
  panel.className = 'help-panel';
  panel.id = id;
  panel.hidden = !open.has(key);
  button.setAttribute('aria-expanded', String(!panel.hidden));
  panel.dataset.testid = `help-${key}`;
  for (const [term, text] of [['What you see', help.see], ['Try', help.try], ['Formula', help.formula]]) {
    const p = document.createElement('p');
    const b = document.createElement('strong');
    b.textContent = `${term}: `;
    const span = document.createElement(term === 'Formula' ? 'code' : 'span');
    span.textContent = text;
    p.append(b, span);
    panel.append(p);
  }
  button.addEventListener('click', () => {
    panel.hidden = !panel.hidden;
    if (panel.hidden) open.delete(key); else open.add(key);
    button.setAttribute('aria-expanded', String(!panel.hidden));
  });
  return { button, panel };
}
