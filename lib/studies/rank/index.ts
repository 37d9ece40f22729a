/** Paper A's effective-rank analysis over the MAE studies' records (notebook 02); it runs nothing of its own. */
export * from './analysis';
export * from './figures';
