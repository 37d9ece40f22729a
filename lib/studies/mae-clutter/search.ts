/**
 * Issue 28, step 2: an lr at which the cluttered-study MAE learns. The 400-step study at the MAE rule's lr
 * (7.5e-5 at batch 128) lowered the training loss only ~3 % below the loss of predicting zero; at ×20 both rows
 * improved a lot. This search trains standard and α_min = 0.6 with paper A's decoder (8 blocks, every skip:
 * `skipLayout: 'paper'`) at ×10 … ×100 of the rule for 1500 steps (3.2 epochs), one seed, and reports the loss
 * drop below predicting zero, kNN and the converged probe; the long study then runs at the largest lr that
 * trains stably for both rows.
 */
import * as aq from 'arquero';
import type { DeepPartial } from '../../config';
import type { ColumnTable } from '../../report';
import type { WiringConfig } from '../../residual';
import type { MaeClutterConfig, MaeClutterRow } from './spec';

/**
 * Multiples of the MAE rule's peak lr the search tries. ×100 was planned too and dropped once ×50 had run:
 * at ×50 α_min = 0.6 already ended at a higher loss than at ×20 (and its kNN collapsed to 16.6), so no larger
 * multiple could be the pick.
 */
export const LR_SEARCH_SCALES = [10, 20, 50] as const;

const row = (name: string, wiring: WiringConfig, lrScale: number): MaeClutterRow => ({ name: `${name}, dec 8, lr ×${lrScale}`, wiring, skips: true, lrScale });

/** Overrides of the cpu preset that give the search's runs (complete: they do not depend on the preset's later values). */
export const LR_SEARCH: DeepPartial<MaeClutterConfig> = {
  model: { decoderDepth: 8, skipLayout: 'paper' },
  rows: LR_SEARCH_SCALES.flatMap((s) => [row('standard', { kind: 'residual' }, s), row('α_min=0.6', { kind: 'decayed', alphaMin: 0.6 }, s)]),
  seeds: [0],
  train: { steps: 1500, checkpointEvery: 250, logEvery: 25 },
};

/** One row of the search's table: how far each run's loss fell below predicting zero, and its frozen features. */
export interface LrSearchRow {
  row: string;
  lrScale: number;
  peakLr: number | null;
  /** First logged training loss (≈ the loss of predicting zero: the head starts at zero) and the last. */
  firstLoss: number | null;
  finalLoss: number | null;
  /** 1 − final / first. */
  drop: number | null;
  knn: number | null;
  lpConverged: number | null;
  /** The largest rise of a logged loss above the lowest before it, after the first tenth of the run (1.02 = 2 %). */
  worstRise: number | null;
  /** Trained stably: every logged loss finite, no rise above STABLE_RISE, and the loss fell ≥ 10 % below predicting zero. */
  stable: boolean;
  /** The final loss relative to the same row's at the next smaller multiple (1.01 = 1 % higher); null at the smallest. */
  vsSmallerLr: number | null;
}

/** A rise of the logged (25-step mean) loss more than 5 % above its running minimum counts as a spike; window noise here is ≈ 1.5 %. */
export const STABLE_RISE = 1.05;

/** The largest rise of `loss` above its running minimum after the first tenth (warm-up); null for fewer than 2 points. */
export function worstRise(loss: readonly (number | null)[]): number | null {
  if (loss.length < 2) return null;
  let min = Infinity;
  let worst = 0;
  loss.forEach((v, i) => {
    const x = typeof v === 'number' && Number.isFinite(v) ? v : Infinity;
    if (i >= loss.length * 0.1) worst = Math.max(worst, x / min);
    min = Math.min(min, x);
  });
  return worst;
}

/** The search's runs as table rows (one seed each: a pilot, not a finding), in the order of the records. */
export function lrSearchRows(records: { row: string; config: unknown; metrics: { [k: string]: unknown }; history?: { [k: string]: number[] } }[]): LrSearchRow[] {
  const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : null);
  const rows = records.map((r) => {
    const loss = r.history?.loss ?? [];
    const first = loss.length ? loss[0] : null;
    const last = loss.length ? loss[loss.length - 1] : null;
    return {
      row: r.row,
      lrScale: (r.config as { lrScale: number }).lrScale,
      peakLr: num(r.metrics.peakLr),
      firstLoss: first,
      finalLoss: last,
      drop: first && last !== null ? 1 - last / first : null,
      knn: num(r.metrics.knn) === null ? null : 100 * (r.metrics.knn as number),
      lpConverged: num(r.metrics.lpConverged) === null ? null : 100 * (r.metrics.lpConverged as number),
      worstRise: worstRise(loss),
      stable: (() => {
        const w = worstRise(loss);
        return w !== null && Number.isFinite(w) && w <= STABLE_RISE && first !== null && last !== null && 1 - last / first >= 0.1;
      })(),
      vsSmallerLr: null as number | null,
    };
  });
  // The same row (its label without the lr) at the next smaller multiple that ran.
  const base = (row: string) => row.replace(/, lr ×[\d.]+$/, '');
  for (const r of rows) {
    const smaller = rows.filter((o) => base(o.row) === base(r.row) && o.lrScale < r.lrScale).sort((a, b) => b.lrScale - a.lrScale)[0];
    if (smaller && smaller.finalLoss && r.finalLoss !== null) r.vsSmallerLr = r.finalLoss / smaller.finalLoss;
  }
  return rows;
}

/**
 * A larger lr whose final loss is more than this above the same row's at the next smaller lr is past the useful
 * range for that row: raising the lr made its own objective worse (the last logged window's noise is ≈ 0.5 %).
 * Picking past it would favour the row that still gains from the larger lr.
 */
export const WORSE_THAN_SMALLER = 1.005;

/**
 * The search's pick: the largest lr multiple at which every searched row (standard and α_min = 0.6) finished
 * and trained stably; null until one has. `why` says it in a sentence for the notebook.
 */
export function lrSearchPick(records: Parameters<typeof lrSearchRows>[0]): { scale: number | null; why: string } {
  const rows = lrSearchRows(records);
  const names = new Set((LR_SEARCH.rows as MaeClutterRow[]).map((r) => r.name.replace(/, dec 8, lr ×.*/, '')));
  const ok = (r: LrSearchRow) => r.stable && (r.vsSmallerLr === null || r.vsSmallerLr <= WORSE_THAN_SMALLER);
  const stableAt = LR_SEARCH_SCALES.filter((s) => {
    const at = rows.filter((r) => r.lrScale === s);
    return at.length === names.size && at.every(ok);
  });
  const unstable = LR_SEARCH_SCALES.filter((s) => rows.some((r) => r.lrScale === s && !ok(r)));
  const missing = LR_SEARCH_SCALES.filter((s) => rows.filter((r) => r.lrScale === s).length < names.size);
  if (!stableAt.length) return { scale: null, why: `no lr multiple has every row finished and stable yet${missing.length ? ` (missing runs at ×${missing.join(', ×')})` : ''}` };
  const pick = Math.max(...stableAt);
  return {
    scale: pick,
    why: `×${pick} is the largest multiple at which both rows trained stably (loss ≥ 10 % below predicting zero, no logged loss more than ${Math.round(100 * (STABLE_RISE - 1))} % above its running minimum, ` +
      `and a final loss no more than ${((WORSE_THAN_SMALLER - 1) * 100).toFixed(1)} % above the row's at the next smaller multiple)` +
      (unstable.length ? `; past that: ×${unstable.join(', ×')}` : '') + (missing.length ? `; not finished: ×${missing.join(', ×')}` : ''),
  };
}

/** The search's overrides for a preset: on smoke two rows of a few steps (the pipeline, not the search). */
export function lrSearchFor(preset: 'smoke' | 'cpu' | 'paper'): DeepPartial<MaeClutterConfig> {
  if (preset !== 'smoke') return LR_SEARCH;
  return { ...LR_SEARCH, model: { decoderDepth: 2, skipLayout: 'paper' }, rows: (LR_SEARCH.rows as MaeClutterRow[]).slice(0, 2), train: { steps: 4, checkpointEvery: 2, logEvery: 2 } };
}

/** The search's runs as a table to show: peak lr, the loss first → final, its drop, kNN and the converged probe. */
export function lrSearchTable(records: Parameters<typeof lrSearchRows>[0]): ColumnTable {
  const f = (x: number | null, d: number) => (x === null ? '–' : x.toFixed(d));
  return aq.from(lrSearchRows(records).map((r) => ({
    run: r.row,
    'peak lr': r.peakLr === null ? '–' : r.peakLr.toExponential(1),
    'loss first → final': `${f(r.firstLoss, 3)} → ${f(r.finalLoss, 3)}`,
    drop: r.drop === null ? '–' : `${(100 * r.drop).toFixed(0)} %`,
    'kNN %': f(r.knn, 1),
    'LP (converged) %': f(r.lpConverged, 1),
    'worst rise': r.worstRise === null ? '–' : `${(100 * (r.worstRise - 1)).toFixed(1)} %`,
    'loss vs smaller lr': r.vsSmallerLr === null ? '–' : `${r.vsSmallerLr >= 1 ? '+' : '−'}${Math.abs(100 * (r.vsSmallerLr - 1)).toFixed(1)} %`,
    stable: r.stable ? (r.vsSmallerLr !== null && r.vsSmallerLr > WORSE_THAN_SMALLER ? 'no (loss worse than at the smaller lr)' : 'yes') : 'no',
  })));
}
