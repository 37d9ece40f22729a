/**
 * Learning-rate schedule: linear warm-up then cosine decay to `minRatio × peak`
 * (MAE: warm-up 40 of 800 epochs, decay to 0; ANCRe's LLaMA runs: 10% warm-up, decay to 0.1 × peak).
 */
import { checkNumber } from '../errors';

export interface ScheduleConfig {
  /** Peak learning rate. */
  lr: number;
  /** Warm-up as a fraction of the total steps, in [0, 1). */
  warmupFraction: number;
  /** Final learning rate as a fraction of the peak, in [0, 1]. */
  minRatio: number;
}

export function validateSchedule(s: ScheduleConfig, where = 'schedule'): void {
  checkNumber(`${where}.lr`, s.lr, { lo: 0, loOpen: true });
  checkNumber(`${where}.warmupFraction`, s.warmupFraction, { lo: 0, hi: 1, hiOpen: true });
  checkNumber(`${where}.minRatio`, s.minRatio, { lo: 0, hi: 1 });
}

/** The learning rate at `step` (0-based) of `total` steps. */
export function learningRate(s: ScheduleConfig, step: number, total: number): number {
  const warmup = Math.floor(s.warmupFraction * total);
  if (step < warmup) return (s.lr * (step + 1)) / warmup;
  const span = Math.max(1, total - warmup - 1);
  const progress = Math.min(1, (step - warmup) / span);
  const min = s.lr * s.minRatio;
  return min + (s.lr - min) * 0.5 * (1 + Math.cos(Math.PI * progress));
}
