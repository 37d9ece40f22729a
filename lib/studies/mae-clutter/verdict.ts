/**
 * Tables and the verdict of `mae-clutter` (paper A, arXiv 2404.10947, on cluttered Fashion-MNIST), computed
 * from its run records: every row's kNN and converged linear probe against the standard row AND both
 * baselines (raw pixels, untrained encoder), with seed spread; what the clutter costs raw pixels; whether
 * the order of standard and α_min = 0.6 holds at every lr of the sweep; which planned runs are missing.
 */
import { summarise, type ColumnTable, type RunRecord } from '../../report';
import { baselineGainLines, BASELINE_ROWS, gainOver, metricStats, describeGain } from '../shared/frozen-features';
import type { RunSpec } from '../../runner/types';

const PCT = ['knn', 'linearProbe', 'probeTrainAccuracy', 'lpConverged', 'lpConvergedTrain', 'plainKnn', 'plainLpConverged', 'plainLinearProbe'];

/** Accuracies in % (the table's units). */
export function clutterInPercent(r: RunRecord): RunRecord {
  const m = { ...r.metrics };
  for (const k of PCT) if (typeof m[k] === 'number') m[k] = 100 * (m[k] as number);
  return { ...r, metrics: m };
}

/** kNN %, converged LP % (test and train), Adam LP %, α_eff, erank, loss, peak lr, time: mean ± std over seeds. */
export function clutterTable(records: RunRecord[]): ColumnTable {
  return summarise(records.map(clutterInPercent), {
    metrics: ['knn', 'lpConverged', 'lpConvergedTrain', 'linearProbe', 'alphaEff', 'erank', 'finalLoss', 'peakLr', 'trainSeconds'],
    digits: { knn: 1, lpConverged: 1, lpConvergedTrain: 1, linearProbe: 1, alphaEff: 4, erank: 2, finalLoss: 4, peakLr: 6, trainSeconds: 0 },
  });
}

/** The planned runs that have no record yet (row and seed), in run order. */
export function missingRuns(records: RunRecord[], specs: RunSpec[], runIdOf: (s: RunSpec) => string): { row: string; seed: number }[] {
  const have = new Set(records.map((r) => r.runId));
  return specs.filter((s) => !have.has(runIdOf(s))).map((s) => ({ row: s.row, seed: s.seed }));
}

const STANDARD = 'α_min=1.0 (standard)';

/**
 * The study's reading. `planned` (optional): the config's run list, so the verdict can say which runs
 * are still missing and that the reading covers only what finished.
 */
export function clutterVerdict(records: RunRecord[], planned?: { total: number; missing: { row: string; seed: number }[] }): string {
  const out: string[] = [];
  if (planned) {
    const m = planned.missing;
    out.push(
      m.length
        ? `**Partial data**: ${planned.total - m.length} of ${planned.total} planned runs finished; missing: ${m.map((x) => `${x.row} (seed ${x.seed})`).join(', ')}. Everything below covers only the finished runs.`
        : `All ${planned.total} planned runs finished.`,
    );
  }
  const px = records.find((r) => r.row === BASELINE_ROWS.pixels);
  if (px) {
    const f = (k: string) => (typeof px.metrics[k] === 'number' ? (100 * (px.metrics[k] as number)).toFixed(1) : 'n/a');
    out.push(
      `**What the clutter costs raw pixels**: kNN ${f('plainKnn')} → ${f('knn')}, converged LP ${f('plainLpConverged')} → ${f('lpConverged')} ` +
        `(plain 28×28 Fashion-MNIST → cluttered canvas, same images and protocol). Chance is 10.0.`,
    );
  }
  const trained = [...new Set(records.filter((r) => !r.config || !(r.config as { baseline?: unknown }).baseline).map((r) => r.row))];
  const mainRows = trained.filter((r) => !/lr ×/.test(r));
  if (mainRows.length) {
    out.push(
      '**Every row against standard and both baselines** (points, mean ± std over seeds; Δ [95 % CI] of the difference paired by seed, and lib/stats\' word; raw pixels involve no seed and pair with every seed):\n' +
        baselineGainLines(records, mainRows, STANDARD, [['knn', 'kNN'], ['lpConverged', 'LP (converged)']]).join('\n'),
    );
  } else {
    const u = gainOver(records, BASELINE_ROWS.untrained, BASELINE_ROWS.pixels, 'knn');
    out.push(`**No trained row has finished yet**: nothing can be said about decayed vs standard shortcuts. The untrained encoder against raw pixels: kNN ${describeGain(u)}.`);
  }
  for (const [metric, label] of [['knn', 'kNN'], ['lpConverged', 'LP (converged)']] as const) {
    const decayed = mainRows.filter((r) => /^α_min=0\.\d$/.test(r));
    const std = metricStats(records, STANDARD, metric);
    if (!std.n || !decayed.length) continue;
    const best = decayed.map((r) => ({ r, s: metricStats(records, r, metric) })).filter((x) => x.s.n).sort((a, b) => b.s.mean - a.s.mean)[0];
    if (!best) continue;
    const g = gainOver(records, best.r, STANDARD, metric);
    const gp = gainOver(records, best.r, BASELINE_ROWS.pixels, metric);
    const gu = gainOver(records, best.r, BASELINE_ROWS.untrained, metric);
    const claim = !g || g.judged === 'not enough seeds' ? `${g?.n === 1 ? 'one seed' : 'too few paired seeds'}, so no verdict on the difference` : g.judged === 'better' ? 'decayed shortcuts beat standard residuals here, as paper A reports' : g.judged === 'worse' ? 'decayed shortcuts are WORSE than standard here' : `no difference from standard that ${g.n} seeds can detect (${g.reason})`;
    const abs = gp && gu ? (gp.delta > 0 && gu.delta > 0 ? 'and it beats both baselines' : gp.delta <= 0 ? 'but it does not beat raw pixels' : 'but it does not beat the untrained encoder') : '(a baseline is missing)';
    out.push(`**${label}**: best decayed row ${best.r} vs standard ${describeGain(g)} — ${claim}; ${abs} (vs pixels ${describeGain(gp)}, vs untrained ${describeGain(gu)}).`);
  }
  // The lr sweep: is the standard-vs-0.6 order the same at every lr?
  const pairs: string[] = [];
  const signs: number[] = [];
  const oneSeed: string[] = [];
  for (const [suffix, scale] of [[', lr ×0.5', 0.5], ['', 1], [', lr ×2', 2], [', lr ×20', 20]] as const) {
    const s = suffix ? `standard${suffix}` : STANDARD;
    const d = suffix ? `α_min=0.6${suffix}` : 'α_min=0.6';
    const a = metricStats(records, s, 'knn');
    const b = metricStats(records, d, 'knn');
    if (!a.n || !b.n) continue;
    signs.push(Math.sign(b.mean - a.mean));
    if (Math.min(a.n, b.n) < 2) oneSeed.push(`×${scale}`);
    pairs.push(`lr ×${scale}: standard ${a.mean.toFixed(1)}, α_min=0.6 ${b.mean.toFixed(1)} (Δ ${b.mean - a.mean >= 0 ? '+' : ''}${(b.mean - a.mean).toFixed(1)}; ${Math.min(a.n, b.n)} seed${Math.min(a.n, b.n) > 1 ? 's' : ''})`);
  }
  if (pairs.length) {
    const same = signs.every((x) => x === signs[0]);
    out.push(
      `**lr sweep (kNN)**: ${pairs.join('; ')}. ` +
        (pairs.length < 2 ? 'Only one lr has both rows: the sweep cannot speak yet.' : same ? 'The order of the two rows is the same at every lr that finished.' : 'The order of the two rows CHANGES with the lr: a one-lr comparison would be an artefact of the lr.') +
        (oneSeed.length ? ` At lr ${oneSeed.join(', ')} each row has one seed: there the order is an observation, not a finding.` : ''),
    );
  }
  return out.join('\n\n');
}

/**
 * The plain study (mae-sweep) and the cluttered one side by side, one line per row present in either:
 * kNN and the Adam probe in both (the protocol the plain study's trained rows have), the converged probe
 * where it was computed. `mean ± std (n)` strings; '—' where a study has no such row.
 */
export function studiesSideBySide(plain: RunRecord[], cluttered: RunRecord[]): Record<string, string>[] {
  const rows: string[] = [];
  for (const r of [...cluttered, ...plain]) if (!rows.includes(r.row)) rows.push(r.row);
  const cell = (recs: RunRecord[], row: string, metric: string) => {
    const s = metricStats(recs, row, metric);
    return s.n ? `${s.mean.toFixed(1)}${s.std !== null ? ` ± ${s.std.toFixed(1)}` : ''} (${s.n})` : '—';
  };
  return rows.map((row) => ({
      row,
      'plain kNN': cell(plain, row, 'knn'),
      'cluttered kNN': cell(cluttered, row, 'knn'),
      'plain LP (Adam 300)': cell(plain, row, 'linearProbe'),
      'cluttered LP (Adam 300)': cell(cluttered, row, 'linearProbe'),
      'plain LP (converged)': cell(plain, row, 'lpConverged'),
      'cluttered LP (converged)': cell(cluttered, row, 'lpConverged'),
  }));
}

/** kNN / converged LP (%) against α_min over the cluttered study's decayed rows with skips at lr ×1, for errorBarFigure. */
export function clutterAlphaCurve(records: RunRecord[], metric: 'knn' | 'lpConverged'): { x: number[]; mean: number[]; std: number[] } {
  const rows = new Map<number, string>();
  for (const r of records) {
    const c = r.config as { baseline?: unknown; lrScale?: number; model?: { skips?: boolean; encoder?: { wiring?: { kind: string; alphaMin?: number } } } };
    const w = c.model?.encoder?.wiring;
    if (c.baseline || c.lrScale !== 1 || c.model?.skips === false || !w) continue;
    const a = w.kind === 'residual' ? 1 : w.kind === 'decayed' ? w.alphaMin : undefined;
    if (a !== undefined) rows.set(a, r.row);
  }
  const x = [...rows.keys()].sort((a, b) => b - a);
  const stats = x.map((a) => metricStats(records, rows.get(a)!, metric));
  return { x, mean: stats.map((s) => s.mean), std: stats.map((s) => s.std ?? 0) };
}
