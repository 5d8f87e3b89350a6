// Mounts the lesson page named by #lesson-root's data-lesson (a module exporting mount(root)).

const PAGES = {
  perceptron: '../pages/perceptron.js',
  activations: '../pages/activations.js',
  'mlp-vs-cnn': '../pages/mlp_vs_cnn.js',
  'fc-as-conv': '../pages/fc_as_conv.js',
  'conv-matrix': '../pages/conv_matrix.js',
  autoencoder: '../pages/autoencoder.js',
  equivariance: '../pages/equivariance.js',
  colour: '../pages/colour.js',
  'text-cnn': '../pages/text_cnn.js',
};

const root = document.getElementById('lesson-root');
const path = root && PAGES[root.dataset.lesson];
if (path) {
  import(path).then((page) => page.mount(root));
}
