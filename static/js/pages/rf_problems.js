// The receptive-field API's 422 answers as messages for the form's fields: which layer and
// field each problem is about, in words (never pydantic's raw "body.layers.0.kernel_size.int").
// Pure (no DOM): tests/js/rf_problems.test.mjs.

export const FIELD_LABELS = {
  name: 'name', kind: 'kind', kernel_size: 'kernel', stride: 'stride', padding: 'padding',
  dilation: 'dilation', ceil_mode: 'ceil', input_size: 'input size', layers: 'layers', preset: 'preset',
};
const SIZE_FIELDS = new Set(['kernel_size', 'stride', 'padding', 'dilation', 'input_size']);

/** One problem {loc, msg, type, ctx} -> {layer (index or null), field, message}. */
export function describeProblem(problem) {
  const loc = (problem.loc || []).map(String).filter((part) => part !== 'body');
  let layer = null;
  let field = loc[0] || null;
  if (loc[0] === 'layers' && /^\d+$/.test(loc[1] || '')) {
    layer = Number(loc[1]);
    field = loc[2] || 'layers';
  }
  const ctx = problem.ctx || {};
  const type = String(problem.type || '');
  let message;
  if (SIZE_FIELDS.has(field) && /int|list|tuple|too_(long|short)/.test(type)) {
    message = field === 'input_size' ? 'must be two whole numbers (height, width)'
      : 'must be a whole number, or two as h,w';
  } else if (type === 'greater_than_equal' || type === 'greater_than') {
    message = `must be at least ${ctx.ge ?? (Number(ctx.gt) + 1)}`;
  } else if (type === 'less_than_equal' || type === 'less_than') {
    message = `must be at most ${ctx.le ?? (Number(ctx.lt) - 1)}`;
  } else if (type === 'literal_error' || type === 'enum') {
    message = `must be one of ${ctx.expected || 'the listed choices'}`;
  } else if (type === 'missing') {
    message = 'is required';
  } else {
    message = String(problem.msg || 'is not valid').replace(/^(Value error, |Input should be )/, 'should be ');
  }
  return { layer, field, message };
}

/** "Layer 2, kernel: must be ..." or "input size: must be ..." (layers counted from 1, as the
 * list shows them); a message that already starts with its field is not prefixed twice. */
export function problemText({ layer, field, message }) {
  const label = FIELD_LABELS[field] || field || 'request';
  const named = message.startsWith(`${field} `) || message.startsWith(`${label} `);
  if (layer === null) return named ? message : `${label}: ${message}`;
  return named ? `Layer ${layer + 1}: ${message}` : `Layer ${layer + 1}, ${label}: ${message}`;
}

/**
 * An API error -> [{layer, field, message}], one per (layer, field) (a union type reports the
 * same field twice: the first problem is kept). An error naming one layer and field
 * (invalid_layer) gives that one with the server's sentence.
 */
export function fieldProblems(error) {
  const details = (error && error.details) || {};
  if (Array.isArray(details.problems) && details.problems.length) {
    const seen = new Set();
    const out = [];
    for (const problem of details.problems) {
      const described = describeProblem(problem);
      const key = `${described.layer}|${described.field}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(described);
    }
    return out;
  }
  if (details.field !== undefined) {
    const layer = Number.isInteger(details.layer) ? details.layer : null;
    const prefix = /^layer \d+ \([^)]*\): /;
    return [{ layer, field: details.field, message: String(error.message || '').replace(prefix, '') }];
  }
  return [];
}
