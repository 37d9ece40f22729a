/**
 * Tables, curves and the verdict of the MAE sweep, built from run records (the notebooks call these).
 */
import { summarise, type ColumnTable, type RunRecord } from '../../report';
import { baselineGainLines, baselineOf, BASELINE_ROWS } from '../shared/frozen-features';
import { alphaMinOf, skipsOf } from './spec';
import { meanStd } from '../../stats';
import { compareRows } from '../shared/paired';
/** A record's metrics in the table's units: accuracies in %, plus α_min for the sweep axis. */
export function inPercent(r: RunRecord): RunRecord {
  const m = r.metrics;
  const pct = (v: unknown) => (typeof v === 'number' ? 100 * v : null);
  return {
    ...r,
    metrics: { ...m, knn: pct(m.knn), linearProbe: pct(m.linearProbe), probeTrainAccuracy: pct(m.probeTrainAccuracy), lpConverged: pct(m.lpConverged), lpConvergedTrain: pct(m.lpConvergedTrain) },
  };
}

/**
 * The sweep table in the paper's form, mean ± std over seeds per row: kNN %, `linearProbe` (the first
 * protocol: 300 full-batch Adam steps) and its train accuracy, `lpConverged` (L-BFGS to tolerance; only in
 * runs made since it exists: the baselines, the new study) and its train accuracy, α_eff, erank, loss, time.
 */
export function sweepTable(records: RunRecord[]): ColumnTable {
  return summarise(records.map(inPercent), {
    metrics: ['knn', 'linearProbe', 'probeTrainAccuracy', 'lpConverged', 'lpConvergedTrain', 'alphaEff', 'erank', 'finalLoss', 'trainSeconds'],
    digits: { knn: 1, linearProbe: 1, probeTrainAccuracy: 1, lpConverged: 1, lpConvergedTrain: 1, alphaEff: 4, erank: 2, finalLoss: 4, trainSeconds: 0 },
  });
}

export interface RowStats {
  row: string;
  n: number;
  mean: number;
  /** Sample std over seeds (lib/stats: null with one seed). */
  std: number | null;
  values: number[];
}

/** Mean ± std per row of a metric over the records that have it (lib/stats `meanStd`). */
export function rowStats(records: RunRecord[], metric: string): RowStats[] {
  const rows = new Map<string, number[]>();
  for (const r of records) {
    const v = r.metrics[metric];
    if (!rows.has(r.row)) rows.set(r.row, []);
    if (typeof v === 'number' && Number.isFinite(v)) rows.get(r.row)!.push(v);
  }
  return [...rows].map(([row, values]) => {
    if (!values.length) return { row, n: 0, mean: NaN, std: null, values };
    const m = meanStd(values);
    return { row, n: m.n, mean: m.mean, std: m.std, values };
  });
}

/** kNN or LP (in %) against α_min over the decayed rows WITH skips (α_min = 1 is standard residuals). */
export function alphaSweep(records: RunRecord[], metric: 'knn' | 'linearProbe' | 'erank'): { alphaMin: number[]; mean: number[]; std: number[] } {
  const scale = metric === 'erank' ? 1 : 100;
  const by = new Map<number, number[]>();
  for (const r of records) {
    const a = alphaMinOf(r.config);
    const v = r.metrics[metric];
    if (a === null || !skipsOf(r.config) || typeof v !== 'number') continue;
    if (!by.has(a)) by.set(a, []);
    by.get(a)!.push(scale * v);
  }
  const alphas = [...by.keys()].sort((x, y) => y - x);
  const stats = alphas.map((a) => meanStd(by.get(a)!));
  return { alphaMin: alphas, mean: stats.map((s) => s.mean), std: stats.map((s) => s.std ?? 0) };
}

/** The mean over seeds of a history curve per row (runs of a row share their x values). */
export function meanCurves(records: RunRecord[], x: string, y: string): { name: string; x: number[]; y: number[] }[] {
  const rows = new Map<string, RunRecord[]>();
  for (const r of records) {
    if (!r.history?.[x] || !r.history?.[y]) continue;
    if (!rows.has(r.row)) rows.set(r.row, []);
    rows.get(r.row)!.push(r);
  }
  return [...rows].map(([name, rs]) => {
    const xs = rs[0].history![x];
    const ys = xs.map((_, i) => rs.reduce((s, r) => s + (r.history![y][i] ?? NaN), 0) / rs.length);
    return { name, x: xs, y: ys };
  });
}

/** Reconstructions stored with a row's first-seed run: originals come from the test set by index 0..n−1. */
export interface StoredReconstructions {
  n: number;
  height: number;
  width: number;
  patch: number;
  maskSeed: number;
  loss: number;
  mask: number[];
  images: number[];
}

export function storedReconstructions(records: RunRecord[], row: string): StoredReconstructions | null {
  const r = records.find((x) => x.row === row && x.extra?.reconstructions);
  return r ? (r.extra!.reconstructions as unknown as StoredReconstructions) : null;
}

/** Test images with their masked patches greyed out (0.5), as the MAE figure shows its input. // [n, H, W] */
export function maskedInputs(test: Float32Array, rec: StoredReconstructions): Float32Array {
  const { n, height: H, width: W, patch: p } = rec;
  const g = W / p;
  const out = Float32Array.from(test.subarray(0, n * H * W));
  for (let i = 0; i < n; i++) {
    for (let l = 0; l < g * g; l++) {
      if (rec.mask[i * g * g + l] !== 1) continue;
      const [r0, c0] = [Math.floor(l / g) * p, (l % g) * p];
      for (let y = 0; y < p; y++) for (let x = 0; x < p; x++) out[i * H * W + (r0 + y) * W + c0 + x] = 0.5;
    }
  }
  return out;
}

/**
 * Paper A's claim on this data: did decayed shortcuts (best α_min < 1, and α_min = 0.6 specifically) beat
 * standard residuals on kNN and linear probe? A difference counts when it exceeds twice its standard error.
 */
export function sweepVerdict(records: RunRecord[]): string {
  const lines: string[] = [];
  const rowOf = (pred: (c: RunRecord['config']) => boolean) => [...new Set(records.filter((r) => pred(r.config)).map((r) => r.row))];
  const base = rowOf((c) => alphaMinOf(c) === 1 && skipsOf(c))[0];
  const decayed = rowOf((c) => { const a = alphaMinOf(c); return a !== null && a < 1 && skipsOf(c); });
  const at06 = rowOf((c) => alphaMinOf(c) === 0.6 && skipsOf(c))[0];
  for (const [metric, label] of [['knn', 'kNN'], ['linearProbe', 'linear probe']] as const) {
    if (!base || !decayed.length) {
      lines.push(`${label}: the table lacks the standard row or the decayed rows.`);
      continue;
    }
    const stats = rowStats(records.map(inPercent), metric);
    const mean = (row: string) => stats.find((s) => s.row === row)?.mean ?? NaN;
    const best = decayed.reduce((a, b) => (mean(b) > mean(a) ? b : a));
    // paired by seed: every row of one seed shares the data order and the mask seeds
    const judge = (row: string) => {
      const c = compareRows(records, row, base, metric, { lowerIsBetter: false, scale: 100 });
      return `${row}: ${c.word} (${c.reason})`;
    };
    lines.push(`**${label}** — best decayed row ${judge(best)}${at06 && at06 !== best ? `; ${judge(at06)}` : ''}.`);
  }
  const trained = records.filter((r) => !baselineOf(r.config));
  if (records.some((r) => baselineOf(r.config))) {
    const std = trained.find((r) => alphaMinOf(r.config) === 1 && skipsOf(r.config))?.row ?? 'α_min=1.0 (standard)';
    const at06 = trained.find((r) => alphaMinOf(r.config) === 0.6 && skipsOf(r.config))?.row;
    const rows = [std, ...(at06 ? [at06] : [])];
    lines.push(
      '**Against the baselines** (points; the trained rows of earlier runs have only the 300-step Adam probe, `linearProbe`; ' +
        '`lpConverged` is the L-BFGS probe):\n' +
        baselineGainLines(records, rows, std, [['knn', 'kNN'], ['linearProbe', 'LP (Adam 300)']]).join('\n') +
        '\n' +
        baselineGainLines(records, [BASELINE_ROWS.pixels, BASELINE_ROWS.untrained], std, [['lpConverged', 'LP (converged)']]).filter((l) => !/no finished run/.test(l)).join('\n'),
    );
  }
  return lines.join('\n\n');
}
