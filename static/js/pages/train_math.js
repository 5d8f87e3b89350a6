// Pure helpers of the /train page: the run's event log folded into chart series, axis ticks,
// and the learning rates of the sweep. No DOM here (tested with node --test).

export const SWEEP_LRS = [1e-4, 1e-2, 1e-1, 1, 10];

/** A fresh view of a run, before any event. */
export function emptyRun() {
  return {
    lastId: 0, status: 'queued', step: 0, losses: [], lrs: [], epochs: [], layers: null,
    filters: null, confusion: null, end: null, reason: null, divergedAt: null,
  };
}

/** Fold one event {id, event, data} into the run view (events of an id already seen are
 * ignored, so a resumed stream never doubles a point). Returns the same object. */
export function applyEvent(run, { id, event, data }) {
  if (id <= run.lastId) return run;
  run.lastId = id;
  if (data.step !== undefined) run.step = Math.max(run.step, data.step);
  if (event === 'step') {
    run.losses.push([data.step, data.loss]);
    run.lrs.push([data.step, data.lr]);
  } else if (event === 'epoch') {
    run.epochs.push({
      epoch: data.epoch, step: data.step, train_loss: data.train_loss,
      heldout_loss: data.heldout_loss, heldout_accuracy: data.heldout_accuracy,
    });
    run.confusion = data.confusion;
  } else if (event === 'layers') {
    run.layers = data;
  } else if (event === 'filters') {
    run.filters = data;
  } else if (event === 'status') {
    run.status = data.status;
    if (data.reason) run.reason = data.reason;
    if (data.diverged_at_step) run.divergedAt = data.diverged_at_step;
  } else if (event === 'end') {
    run.end = data;
    run.status = data.status;
    run.reason = data.reason ?? run.reason;
    run.divergedAt = data.diverged_at_step ?? run.divergedAt;
  }
  return run;
}

/** [min, max] of the finite numbers in values; [0, 1] when there are none; widened when
 * flat. */
export function extent(values) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (lo === Infinity) return [0, 1];
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    return [lo - pad, hi + pad];
  }
  return [lo, hi];
}

/** Round tick values (1, 2 or 5 times a power of ten) covering [lo, hi], about `count` of
 * them (whole numbers only when `integer`); returns {ticks, lo, hi} with lo/hi snapped
 * outwards to ticks. */
export function niceTicks(lo, hi, count = 5, integer = false) {
  const span = hi - lo;
  const raw = integer ? Math.max(1, span / Math.max(1, count)) : span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const start = Math.floor(lo / step + 1e-9) * step;
  const end = Math.ceil(hi / step - 1e-9) * step;
  const ticks = [];
  for (let t = start; t <= end + step / 2; t += step) ticks.push(Number(t.toPrecision(12)));
  return { ticks, lo: start, hi: end };
}

/** The running view of a sweep entry's label while it trains. */
export function lrLabel(lr) {
  return lr >= 1 ? String(lr) : lr.toExponential(0).replace('e-', 'e−');
}

/** Fraction done of a run, from its progress {step, total_steps}: 0..1. */
export function fractionDone(progress) {
  if (!progress || !progress.total_steps) return 0;
  return Math.min(1, Math.max(0, progress.step / progress.total_steps));
}
