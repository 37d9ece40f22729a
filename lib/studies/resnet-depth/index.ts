/** Paper B's depth efficiency on a deep random-teacher regression (notebook 04): spec, one run, depth search, tables and verdicts. */
export * from './spec';
export * from './experiment';
export * from './analysis';
export * from './search';
export * from './figures';
