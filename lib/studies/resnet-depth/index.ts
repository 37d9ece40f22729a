/** Paper B's depth efficiency on a deep random-teacher regression (notebook 04): spec, depth search, verdicts. */
export * from './spec';
export * from './search';
export * from './figures';
