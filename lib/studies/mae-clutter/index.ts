/** Paper A on cluttered, translated Fashion-MNIST with a 12-block encoder and the official recipe (notebook 01). */
export * from './spec';
export * from './verdict';
export * from './figures';
