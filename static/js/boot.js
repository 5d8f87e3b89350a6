// The one script every page loads (no inline script: the pages run under a strict CSP).
// <main data-page="..."> names the page; its module's mount(root) wires the page's root element.

const PAGES = {
  inspect: ['./main.js', 'inspect-app'],
  'receptive-field': ['./pages/receptive_field.js', 'rf-page'],
  'conv-arithmetic': ['./pages/conv_arithmetic.js', 'ca-page'],
  recurrent: ['./pages/recurrent.js', 'rnn-page'],
  train: ['./pages/train.js', 'train-page'],
};

const main = document.getElementById('main');
const entry = main && PAGES[main.dataset.page];
if (entry) {
  const [path, rootId] = entry;
  import(path).then((module) => module.mount(document.getElementById(rootId)));
}
