/** Papers A and B in a small DiT/SiT on Fashion-MNIST, FID with the project's classifier (notebook 06). */
export * from './spec';
export * from './verdict';
