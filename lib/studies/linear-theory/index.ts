/** Paper B, Sec. 3: deep linear networks (notebook 05). */
export * from './spec';
export * from './verdict';
