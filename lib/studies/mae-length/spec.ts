/**
 * `mae-length`: does longer training close the gap between decayed and standard shortcuts?
 *
 * Paper A's MAE trains 800 epochs; the `mae-sweep` cpu preset affords 2 epochs, and there decayed shortcuts
 * lose. This experiment reruns a few of the sweep's rows (by default standard residuals and α_min = 0.6)
 * at other training lengths, everything else equal to the sweep's config of `base` preset, so the notebook
 * can put kNN / LP / effective rank against the number of steps, next to the sweep's own length.
 * Each run is a full run at its length (warm-up and cosine decay scale with the steps), not a prefix
 * of a longer one.
 */
import { DeepPartial, PresetName, PRESET_NAMES } from '../../config';
import { checkNumber, checkOneOf, ConfigError, checkSeeds } from '../../errors';
import { errorBarFigure, summarise, type ColumnTable, type FigureSpec, type RunRecord } from '../../report';
import { experiment as maeSweep, inPercent, rowStats, sweepRunSpec, type MaeSweepConfig } from '../mae-sweep';
import { resolveConfig } from '../../runner/run';
import type { Experiment, RunSpec } from '../../runner/types';
import { baselineOf, BASELINE_ROWS, describeGain, gainOver } from '../shared/frozen-features';
import { compareRows } from '../shared/paired';
import type { Comparison } from '../../stats';

export interface MaeLengthConfig {
  /** The `mae-sweep` preset whose config every run copies (model, data, recipe, evaluation). */
  base: PresetName;
  /** Names of `mae-sweep` rows to rerun; the first is the baseline of the gap. */
  rows: string[];
  /** Training lengths in steps (the base preset's own length comes from the sweep's records). */
  steps: number[];
  /** Seeds: one run per row, length and seed. */
  seeds: number[];
}

const defaults: MaeLengthConfig = {
  base: 'cpu',
  rows: ['α_min=1.0 (standard)', 'α_min=0.6'],
  // With the sweep's 1000: 0.85, 2.1 and 8.5 epochs of Fashion-MNIST at batch 128.
  steps: [400, 4000],
  seeds: [0, 1, 2],
};

const presets: Record<PresetName, DeepPartial<MaeLengthConfig>> = {
  smoke: { base: 'smoke', steps: [10, 40], seeds: [0] },
  cpu: {},
  // Paper A's model cannot train here (see mae-sweep's paper preset); the runs would stop with its DataError.
  paper: { base: 'paper', steps: [Math.round((100 * 1281167) / 4096)], seeds: [0] },
};

function baseConfig(c: MaeLengthConfig): MaeSweepConfig {
  return resolveConfig(maeSweep, c.base);
}

function validate(c: MaeLengthConfig): void {
  checkOneOf('base', c.base, PRESET_NAMES);
  const names = baseConfig(c).rows.map((r) => r.name);
  if (!Array.isArray(c.rows) || c.rows.length === 0) throw new ConfigError(`rows must be a non-empty list of mae-sweep row names; got ${JSON.stringify(c.rows)}`);
  c.rows.forEach((r, i) => {
    if (!names.includes(r)) throw new ConfigError(`rows[${i}] '${r}' is not a row of mae-sweep preset '${c.base}'; its rows: ${names.join(', ')}`);
  });
  if (new Set(c.rows).size !== c.rows.length) throw new ConfigError(`rows name a row twice: ${JSON.stringify(c.rows)}`);
  if (!Array.isArray(c.steps) || c.steps.length === 0) throw new ConfigError(`steps must be a non-empty list of step counts; got ${JSON.stringify(c.steps)}`);
  c.steps.forEach((s, i) => checkNumber(`steps[${i}]`, s, { lo: 1, integer: true }));
  if (new Set(c.steps).size !== c.steps.length) throw new ConfigError(`steps list a length twice: ${JSON.stringify(c.steps)}`);
  if (!Array.isArray(c.seeds) || c.seeds.length === 0) throw new ConfigError(`seeds must be a non-empty list of integers; got ${JSON.stringify(c.seeds)}`);
  checkSeeds(c.seeds);
}

function runs(c: MaeLengthConfig): RunSpec[] {
  const base = baseConfig(c);
  const out: RunSpec[] = [];
  // Shortest first and seed-major: an interrupted study still has every row at the short lengths.
  for (const steps of [...c.steps].sort((a, b) => a - b)) {
    const withSteps: MaeSweepConfig = { ...base, train: { ...base.train, steps } };
    for (const seed of c.seeds) {
      for (const name of c.rows) out.push(sweepRunSpec(withSteps, base.rows.find((r) => r.name === name)!, seed, false));
    }
  }
  return out;
}

export const experiment: Experiment<MaeLengthConfig> = {
  name: 'mae-length',
  title: 'Paper A: the MAE gap between decayed and standard shortcuts against training length',
  defaults,
  presets,
  data: ['fashion-mnist'],
  validate,
  runs,
  runOne: (spec, ctx) => maeSweep.runOne(spec, ctx),
};

// ---------------------------------------------------------------------------------------------
// Tables and the reading, from the study's records plus the sweep's records of the same rows.

/** Training steps of a run: 0 for the untrained encoder, NaN for raw pixels (no network). */
function stepsOf(r: RunRecord): number {
  const b = baselineOf(r.config);
  if (b) return b === 'untrained' ? 0 : NaN;
  return ((r.config as unknown as MaeSweepConfig).train?.steps ?? NaN) as number;
}

/** The study's records and the sweep's records of the same rows and of the two baselines, by length then row order. */
export function lengthRecords(study: RunRecord[], sweep: RunRecord[], rows: string[]): RunRecord[] {
  const all = [...study, ...sweep.filter((r) => rows.includes(r.row) || baselineOf(r.config))];
  const key = (r: RunRecord) => (Number.isNaN(stepsOf(r)) ? -1 : stepsOf(r));
  return all.sort((a, b) => key(a) - key(b) || rows.indexOf(a.row) - rows.indexOf(b.row) || a.seed - b.seed);
}

/** kNN %, LP %, effective rank and final loss per row and length, mean ± std over seeds. */
export function lengthTable(records: RunRecord[]): ColumnTable {
  const withSteps = records.map((r) => inPercent({ ...r, metrics: { ...r.metrics, steps: Number.isNaN(stepsOf(r)) ? null : stepsOf(r) } }));
  return summarise(withSteps, {
    by: ['row', 'steps'],
    metrics: ['knn', 'linearProbe', 'erank', 'finalLoss', 'trainSeconds'],
    digits: { knn: 1, linearProbe: 1, erank: 2, finalLoss: 4, trainSeconds: 0 },
  });
}

export interface LengthGap {
  steps: number;
  metric: 'knn' | 'linearProbe';
  /** Mean of the variant minus mean of the baseline, in points. */
  gap: number;
  /** The variant − baseline difference paired by seed: the interval, the word and the reason (lib/stats). */
  paired: Comparison;
  baseline: number;
  variant: number;
}

/** For each length: the variant row's kNN and LP minus the baseline row's (rows[0]), in points. */
export function lengthGaps(records: RunRecord[], baseline: string, variant: string): LengthGap[] {
  const lengths = [...new Set(records.filter((r) => !baselineOf(r.config)).map(stepsOf))].sort((a, b) => a - b);
  const out: LengthGap[] = [];
  for (const steps of lengths) {
    const at = records.filter((r) => stepsOf(r) === steps).map(inPercent);
    for (const metric of ['knn', 'linearProbe'] as const) {
      const stats = rowStats(at, metric);
      const b = stats.find((s) => s.row === baseline);
      const v = stats.find((s) => s.row === variant);
      if (!b || !v || !b.n || !v.n) continue;
      const paired = compareRows(at, variant, baseline, metric, { lowerIsBetter: false });
      out.push({ steps, metric, gap: v.mean - b.mean, paired, baseline: b.mean, variant: v.mean });
    }
  }
  return out;
}

/** One paragraph: the gap at every length and whether it narrowed, closed or reversed with training. */
export function lengthVerdict(records: RunRecord[], baseline: string, variant: string, batch: number, examples: number): string {
  const gaps = lengthGaps(records, baseline, variant);
  if (!gaps.length) return `No length has runs of both '${baseline}' and '${variant}'.`;
  const lines: string[] = [];
  for (const [metric, label] of [['knn', 'kNN'], ['linearProbe', 'linear probe']] as const) {
    const g = gaps.filter((x) => x.metric === metric);
    const parts = g.map((x) => {
      const epochs = (x.steps * batch) / examples;
      const d = x.paired.diff;
      const f = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(1)}`;
      const ci = d ? ` [${f(d.lo)}, ${f(d.hi)}], ${x.paired.word}` : `, ${x.paired.n === 1 ? 'one seed' : 'not enough seeds'}`;
      return `${x.steps} steps (${epochs.toFixed(1)} epochs): ${f(x.gap)}${ci}`;
    });
    let trend = '';
    if (g.length >= 2) {
      const first = g[0].gap;
      const last = g[g.length - 1].gap;
      const monotone = g.every((x, i) => i === 0 || x.gap >= g[i - 1].gap);
      if (first < 0 && last >= 0) trend = 'the deficit closed with training';
      else if (first >= 0 && last < 0) trend = 'an early advantage turned into a deficit';
      else if (first < 0) trend = last > first ? `the deficit narrowed${monotone ? ' at every length' : ' (not monotonically)'} but did not close` : 'the deficit did not narrow';
      else trend = last >= first ? 'the advantage held or grew' : 'the advantage shrank';
    }
    lines.push(`**${label}**, ${variant} − ${baseline} (points; 95 % CI of the difference paired by seed): ${parts.join('; ')}${trend ? ` — ${trend}.` : '.'}`);
  }
  const base = records.filter((r) => baselineOf(r.config));
  if (base.length) {
    const parts: string[] = [];
    for (const steps of [...new Set(gaps.map((g) => g.steps))]) {
      const at = [...records.filter((r) => stepsOf(r) === steps && !baselineOf(r.config)), ...base];
      for (const row of [baseline, variant]) {
        const gp = gainOver(at, row, BASELINE_ROWS.pixels, 'knn');
        const gu = gainOver(at, row, BASELINE_ROWS.untrained, 'knn');
        parts.push(`${steps} steps, ${row}: vs raw pixels ${describeGain(gp)}, vs untrained ${describeGain(gu)}`);
      }
    }
    lines.push(`**kNN against the baselines** (the sweep's pixel and untrained-encoder rows, same protocol): ${parts.join('; ')}.`);
  }
  return lines.join('\n\n');
}

/** kNN or LP (%) or erank against training steps, one series per row: mean ± std over seeds (for errorBarFigure). */
export function lengthCurves(
  records: RunRecord[],
  metric: 'knn' | 'linearProbe' | 'erank',
  rows: string[],
): { name: string; x: number[]; mean: number[]; std: number[] }[] {
  const scaled = metric === 'erank' ? records : records.map(inPercent);
  return rows.map((row) => {
    // (a baseline row in `rows` gives its one point: the untrained encoder at 0 steps)
    const lengths = [...new Set(scaled.filter((r) => r.row === row).map(stepsOf))].sort((a, b) => a - b);
    const stats = lengths.map((steps) => rowStats(scaled.filter((r) => r.row === row && stepsOf(r) === steps), metric)[0]);
    return { name: row, x: lengths, mean: stats.map((s) => s.mean), std: stats.map((s) => s.std ?? 0) };
  });
}

/** kNN and linear probe against training steps (log axis), one series per row and metric. */
export function lengthFigure(records: RunRecord[], rows: string[]): FigureSpec {
  return errorBarFigure(
    [
      ...lengthCurves(records, 'knn', rows).map((s) => ({ ...s, name: `kNN · ${s.name}` })),
      ...lengthCurves(records, 'linearProbe', rows).map((s) => ({ ...s, name: `LP · ${s.name}` })),
    ],
    { title: 'Frozen-feature accuracy against training length', xTitle: 'training steps (log scale)', yTitle: 'accuracy %', logX: true },
  );
}
