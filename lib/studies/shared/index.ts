/** Helpers several studies share: frozen-feature evaluation and the raw-pixel / untrained baselines. */
export * from './frozen-features';
export * from './paired';
