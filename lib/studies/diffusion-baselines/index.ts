/** Mid-trunk feature baselines for the diffusion study: noisy pixels and an untrained DiT (notebook 06). */
export * from './spec';
