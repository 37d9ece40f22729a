/** Paper A: the standard vs α_min = 0.6 gap against training length (notebook 01). */
export * from './spec';
