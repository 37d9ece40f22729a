/**
 * The analysis of `mae-long` from its run records: each run's evaluation curve (kNN, probes, rank, α_eff and
 * the held-out reconstruction loss at every evaluation step), the rows' mean curves, and the rows compared
 * with standard, paired by seed, at equal steps and at equal held-out reconstruction loss.
 *
 * Equal loss: a run's metric at loss level L is read off its curve where the held-out loss first reaches L,
 * linearly interpolated between the two evaluation points around that crossing (the curve is sampled, not
 * continuous: the reading is as fine as the evaluation steps). The levels are ones every compared run
 * reached: from the highest final loss of those runs up to the lowest loss at their first evaluation.
 */
import * as aq from 'arquero';
import type { ColumnTable, RunRecord } from '../../report';
import { meanStd, spearman } from '../../stats';
import { BASELINE_ROWS, baselineOf } from '../shared/frozen-features';
import { pairedTableRows, type SeedRecord } from '../shared/paired';
import { STANDARD_ROW } from './spec';

/** The metrics of a curve the study compares (accuracies in %, as the tables show them). */
export const CURVE_METRICS = [
  { key: 'knn', label: 'kNN %', scale: 100, lowerIsBetter: false, digits: 1 },
  { key: 'lpConverged', label: 'LP (converged) %', scale: 100, lowerIsBetter: false, digits: 1 },
  { key: 'linearProbe', label: 'LP (Adam) %', scale: 100, lowerIsBetter: false, digits: 1 },
  { key: 'erank', label: 'effective rank', scale: 1, lowerIsBetter: true, digits: 2 },
  { key: 'evalLoss', label: 'held-out loss', scale: 1, lowerIsBetter: true, digits: 4 },
] as const;

export type CurveMetric = (typeof CURVE_METRICS)[number]['key'];

/** One trained run's evaluation curve: values by evaluation step (accuracies in %). */
export interface RunCurve {
  row: string;
  seed: number;
  step: number[];
  values: Record<CurveMetric, number[]>;
}

/** The curves of the trained runs that have one (in record order). */
export function runCurves(records: readonly RunRecord[]): RunCurve[] {
  const out: RunCurve[] = [];
  for (const r of records) {
    const c = (r.extra as { curve?: { [k: string]: number[] } } | undefined)?.curve;
    if (!c || !Array.isArray(c.step) || baselineOf(r.config)) continue;
    const values = Object.fromEntries(CURVE_METRICS.map((m) => [m.key, (c[m.key] ?? []).map((v) => (typeof v === 'number' ? v * m.scale : NaN))])) as Record<CurveMetric, number[]>;
    out.push({ row: r.row, seed: r.seed, step: c.step.slice(), values });
  }
  return out;
}

/** Each curve's values at `step` as seed records (metrics unscaled back to the records' units: scale 1 here). */
export function atStep(curves: readonly RunCurve[], step: number): SeedRecord[] {
  return curves.flatMap((c) => {
    const i = c.step.indexOf(step);
    return i < 0 ? [] : [{ row: c.row, seed: c.seed, metrics: Object.fromEntries(CURVE_METRICS.map((m) => [m.key, c.values[m.key][i]])) }];
  });
}

/**
 * A curve's `metric` where its held-out loss first reaches `level` (linear between the evaluation points
 * around the crossing); null when the run never got that low, or started below it (no crossing to read).
 */
export function valueAtLoss(c: RunCurve, metric: CurveMetric, level: number): number | null {
  const L = c.values.evalLoss;
  const y = c.values[metric];
  if (!L.length || !(L[0] >= level)) return null;
  for (let i = 0; i < L.length; i++) {
    if (L[i] <= level) {
      if (i === 0 || L[i] === L[i - 1]) return y[i];
      const t = (L[i - 1] - level) / (L[i - 1] - L[i]);
      return y[i - 1] + t * (y[i] - y[i - 1]);
    }
  }
  return null;
}

/** Each curve's values at held-out loss `level` as seed records (runs that never reached it are left out). */
export function atLoss(curves: readonly RunCurve[], level: number): SeedRecord[] {
  const out: SeedRecord[] = [];
  for (const c of curves) {
    const metrics: SeedRecord['metrics'] = {};
    for (const m of CURVE_METRICS) if (m.key !== 'evalLoss') metrics[m.key] = valueAtLoss(c, m.key, level);
    if (metrics.knn !== null) out.push({ row: c.row, seed: c.seed, metrics: { ...metrics, evalLoss: level } });
  }
  return out;
}

/**
 * Held-out loss levels every curve of `rows` crossed: `count` levels from the highest final loss (the lowest
 * level all reached) toward the lowest first-evaluation loss (the highest level all started above); the
 * first level is always the lowest. Empty when the curves share no range.
 */
export function commonLossLevels(curves: readonly RunCurve[], rows: readonly string[], count = 2): number[] {
  const cs = curves.filter((c) => rows.includes(c.row) && c.values.evalLoss.length);
  if (!cs.length) return [];
  const lo = Math.max(...cs.map((c) => Math.min(...c.values.evalLoss)));
  const hi = Math.min(...cs.map((c) => c.values.evalLoss[0]));
  if (!(hi >= lo)) return [];
  if (count <= 1 || hi === lo) return [lo];
  return Array.from({ length: count }, (_, i) => lo + ((hi - lo) * i) / count);
}

/** A row's mean ± std curve of `metric` over its seeds at each evaluation step every one of them has. */
export function meanCurve(curves: readonly RunCurve[], row: string, metric: CurveMetric): { step: number[]; mean: number[]; std: number[]; n: number } {
  const cs = curves.filter((c) => c.row === row);
  if (!cs.length) return { step: [], mean: [], std: [], n: 0 };
  const steps = cs[0].step.filter((s) => cs.every((c) => c.step.includes(s)));
  const stats = steps.map((s) => meanStd(cs.map((c) => c.values[metric][c.step.indexOf(s)])));
  return { step: steps, mean: stats.map((x) => x.mean), std: stats.map((x) => x.std ?? 0), n: cs.length };
}

/** The baselines' value of a metric (mean over seeds, in the curve's units); null without a baseline record. */
export function baselineValue(records: readonly RunRecord[], row: string, metric: CurveMetric): number | null {
  const m = CURVE_METRICS.find((x) => x.key === metric)!;
  const v = records.filter((r) => r.row === row && typeof r.metrics[metric] === 'number').map((r) => (r.metrics[metric] as number) * m.scale);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
}

/** The trained rows that have curves, standard first. */
export function curveRows(curves: readonly RunCurve[]): string[] {
  const rows = [...new Set(curves.map((c) => c.row))];
  return [...rows.filter((r) => r === STANDARD_ROW), ...rows.filter((r) => r !== STANDARD_ROW)];
}

const COMPARED: readonly CurveMetric[] = ['knn', 'lpConverged', 'erank'];

/**
 * Every row against standard at each of `steps` (default: every evaluation step all curves share), paired by
 * seed: the difference with its 95 % interval, p, the word and the smallest difference the seeds detect.
 */
export function matchedStepTable(records: readonly RunRecord[], steps?: readonly number[], rows?: readonly string[]): ColumnTable {
  const curves = runCurves(records);
  const all = steps ?? (curves.length ? curves[0].step.filter((s) => curves.every((c) => c.step.includes(s))) : []);
  const rs = rows ?? curveRows(curves);
  const out = all.flatMap((step) => pairedTableRows(atStep(curves, step), rs, STANDARD_ROW, CURVE_METRICS.filter((m) => COMPARED.includes(m.key)).map((m) => ({ ...m, scale: 1 }))).map((r) => ({ step, ...r })));
  return aq.from(out.length ? out : [{ step: '–', row: 'no curves yet' }]);
}

/** Every row against standard at each common held-out loss level (see `commonLossLevels`), paired by seed. */
export function matchedLossTable(records: readonly RunRecord[], rows?: readonly string[], count = 2): ColumnTable {
  const curves = runCurves(records);
  const rs = rows ?? curveRows(curves);
  const out = commonLossLevels(curves, rs, count).flatMap((level) =>
    pairedTableRows(atLoss(curves, level), rs, STANDARD_ROW, CURVE_METRICS.filter((m) => COMPARED.includes(m.key)).map((m) => ({ ...m, scale: 1 }))).map((r) => ({ 'held-out loss': Number(level.toFixed(4)), ...r })),
  );
  return aq.from(out.length ? out : [{ 'held-out loss': '–', row: 'no common loss range yet' }]);
}

/** The rows' curves at a glance: each row's mean ± std of every metric at every evaluation step. */
export function curvesTable(records: readonly RunRecord[]): ColumnTable {
  const curves = runCurves(records);
  const rows = curveRows(curves);
  const out: Record<string, string | number>[] = [];
  for (const row of rows) {
    const base = meanCurve(curves, row, 'knn');
    base.step.forEach((step, i) => {
      const cell = (m: (typeof CURVE_METRICS)[number]) => {
        const c = meanCurve(curves, row, m.key);
        return `${c.mean[i].toFixed(m.digits)}${c.n > 1 ? ` ± ${c.std[i].toFixed(m.digits)}` : ''}`;
      };
      out.push({ row, step, seeds: base.n, ...Object.fromEntries(CURVE_METRICS.map((m) => [m.label, cell(m)])) });
    });
  }
  return aq.from(out.length ? out : [{ row: 'no curves yet' }]);
}

/**
 * How far each trained run's held-out loss fell below the loss of predicting zero (the untrained encoder's
 * held-out loss at the same seed: the prediction head starts at zero), by row: mean over seeds; null where a
 * run has no untrained baseline at its seed.
 */
export function heldOutDrop(records: readonly RunRecord[], row: string): number | null {
  const zero = new Map(records.filter((r) => r.row === BASELINE_ROWS.untrained && typeof r.metrics.evalLoss === 'number').map((r) => [r.seed, r.metrics.evalLoss as number]));
  const drops = records.filter((r) => r.row === row && typeof r.metrics.evalLoss === 'number' && zero.has(r.seed)).map((r) => 1 - (r.metrics.evalLoss as number) / zero.get(r.seed)!);
  return drops.length ? drops.reduce((a, b) => a + b, 0) / drops.length : null;
}

/**
 * At each evaluation step every trained run shares: Spearman's ρ between the final features' effective rank
 * and kNN / the converged probe across the trained runs (paper A: lower rank goes with better features, the
 * relation weakening late in training). ρ < 0: lower rank went with better accuracy.
 */
export function rankAccuracyByStep(records: readonly RunRecord[]): ColumnTable {
  const curves = runCurves(records);
  const steps = curves.length ? curves[0].step.filter((s) => curves.every((c) => c.step.includes(s))) : [];
  const f = (x: number | null) => (x === null ? '–' : `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(2)}`);
  const out = steps.map((step) => {
    const at = atStep(curves, step);
    const er = at.map((r) => r.metrics.erank as number);
    return {
      step,
      runs: at.length,
      'ρ(erank, kNN)': f(spearman(er, at.map((r) => r.metrics.knn as number))),
      'ρ(erank, LP converged)': f(spearman(er, at.map((r) => r.metrics.lpConverged as number))),
    };
  });
  return aq.from(out.length ? out : [{ step: '–', runs: 0 }]);
}
