/** The setup check (notebook 00): engine, datasets and a real MLP run through the whole pipeline; and the GPU check. */
export * from './spec';
export * from './gpu-check';
