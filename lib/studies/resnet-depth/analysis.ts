/** resnet-depth's tables and verdicts, from runs.jsonl records (never from notebook state). */
import type { RunRecord } from '../../runner/store/runs';
import { compare, meanStd as statsMeanStd, type Comparison } from '../../stats';

/** lib/stats' mean and sample std (null with one value); an empty list gives mean NaN for the caller to skip. */
function meanStd(xs: number[]): { mean: number; std: number | null } {
  if (!xs.length) return { mean: NaN, std: null };
  const m = statsMeanStd(xs);
  return { mean: m.mean, std: m.std };
}

/** One row per wiring × depth: accuracy (mean ± std over seeds) and the cost columns. */
export interface DepthRow {
  wiring: string;
  blocks: number;
  layers: number;
  seeds: number;
  /** Test accuracy (Fashion-MNIST; NaN for the teacher task). */
  accMean: number;
  accStd: number | null;
  /** Test MSE on standardised targets (teacher task; null for Fashion-MNIST). Lower is better. */
  mseMean: number | null;
  mseStd: number | null;
  lossMean: number;
  params: number;
  msPerStep: number;
  cpuMsPerStep: number | null;
  /** The row's primary metric (test MSE for the teacher task, test accuracy for Fashion-MNIST) at each seed: the pairs of the verdicts. */
  bySeed: { [seed: number]: number };
}

/** `a − b` on the rows' primary metric, paired by seed (the seeds both finished), judged by lib/stats. */
export function pairedRows(a: DepthRow, b: DepthRow, label?: string): Comparison {
  const seeds = Object.keys(a.bySeed).map(Number).filter((s) => s in b.bySeed).sort((x, y) => x - y);
  const lowerIsBetter = a.mseMean !== null;
  return compare(seeds.map((s) => a.bySeed[s]), seeds.map((s) => b.bySeed[s]), { lowerIsBetter, label: label ?? `${a.wiring}@${a.layers} − ${b.wiring}@${b.layers}` });
}

export function depthRows(records: RunRecord[]): DepthRow[] {
  const groups = new Map<string, RunRecord[]>();
  for (const r of records) {
    const key = `${r.metrics.wiring}|${r.metrics.blocks}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const rows: DepthRow[] = [];
  for (const rs of groups.values()) {
    const m = rs[0].metrics;
    const num = (k: string) => rs.map((r) => r.metrics[k]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    const acc = meanStd(num('testAccuracy'));
    const mseVals = num('testMse');
    const mse = mseVals.length ? meanStd(mseVals) : null;
    const cpu = num('cpuMsPerStep');
    rows.push({
      wiring: String(m.wiring),
      blocks: Number(m.blocks),
      layers: Number(m.layers),
      seeds: rs.length,
      accMean: acc.mean,
      accStd: acc.std,
      mseMean: mse ? mse.mean : null,
      mseStd: mse ? mse.std : null,
      lossMean: meanStd(num('finalLoss')).mean,
      params: Number(m.params),
      msPerStep: meanStd(num('msPerStep')).mean,
      cpuMsPerStep: cpu.length ? meanStd(cpu).mean : null,
      bySeed: Object.fromEntries(
        rs.map((r) => [r.seed, mseVals.length ? r.metrics.testMse : r.metrics.testAccuracy] as const).filter((e): e is readonly [number, number] => typeof e[1] === 'number' && Number.isFinite(e[1])),
      ),
    });
  }
  return rows.sort((a, b) => (a.wiring === b.wiring ? a.blocks - b.blocks : a.wiring < b.wiring ? -1 : 1));
}

export interface Verdict {
  /** True when shallow ANCRe's mean is at least as good as the deep baseline's. */
  matches: boolean;
  /** lib/stats' word for shallow − deep, paired by seed. */
  word: Comparison['word'];
  /** True when the paired interval contains 0 (no detectable difference at these seeds). */
  withinNoise: boolean;
  shallow: DepthRow;
  deep: DepthRow;
  comparison: Comparison;
  text: string;
}

/** A metric value as text: MSE to 3 significant digits, accuracy in %. */
const fmtValue = (row: DepthRow, x: number) => (row.mseMean !== null ? x.toPrecision(3) : `${(100 * x).toFixed(2)}%`);
const fmtStd = (row: DepthRow, x: number | null) => (x === null ? '' : row.mseMean !== null ? ` ± ${x.toPrecision(3)}` : ` ± ${(100 * x).toFixed(2)}`);
const valueOf = (r: DepthRow) => (r.mseMean !== null ? r.mseMean : r.accMean);
const stdOf = (r: DepthRow) => (r.mseMean !== null ? r.mseStd : r.accStd);

/** The interval of a comparison in the row's units, or why there is none. */
function intervalText(row: DepthRow, c: Comparison): string {
  const scale = row.mseMean !== null ? 1 : 100;
  const f = (x: number) => `${x >= 0 ? '+' : '−'}${row.mseMean !== null ? Math.abs(x).toPrecision(3) : Math.abs(scale * x).toFixed(2)}`;
  if (!c.diff) return c.n === 1 ? 'one seed: no interval' : `${c.n} paired seeds: no interval`;
  const mdd = c.mdd === null ? '' : `; ${c.n} seeds detect ${row.mseMean !== null ? c.mdd.toPrecision(2) : `${(100 * c.mdd).toFixed(2)} points`} or more`;
  return `paired by seed ${f(c.diff.mean)}, 95 % CI [${f(c.diff.lo)}, ${f(c.diff.hi)}], ${c.word}${mdd}`;
}

/**
 * The paper's claim on this table: does the `ancre` row (a wiring label) at `shallowBlocks` match or beat the
 * `baseline` row at `deepBlocks` (4× deeper)? Judged on the difference paired by seed. Null when a row is missing.
 */
export function depthVerdict(
  rows: DepthRow[],
  shallowBlocks: number,
  deepBlocks: number,
  ancre = 'ancre τ=0.01',
  baseline = 'residual',
): Verdict | null {
  const shallow = rows.find((r) => r.wiring === ancre && r.blocks === shallowBlocks);
  const deep = rows.find((r) => r.wiring === baseline && r.blocks === deepBlocks);
  if (!shallow || !deep) return null;
  const mse = shallow.mseMean !== null && deep.mseMean !== null;
  const c = pairedRows(shallow, deep);
  const diff = valueOf(shallow) - valueOf(deep);
  const matches = mse ? diff <= 0 : diff >= 0;
  const what = mse ? 'test MSE' : 'test accuracy';
  const size = mse ? `${shallow.layers} layers` : `${shallow.blocks} blocks`;
  const deepSize = mse ? `${deep.layers} layers` : `${deep.blocks} blocks`;
  const answer = c.word === 'better' ? 'Yes, it beats it' : c.word === 'worse' ? 'No, it stays behind' : c.word === 'no detectable difference' ? 'No detectable difference' : matches ? 'Not decided (one seed), ahead on the mean' : 'Not decided (one seed), behind on the mean';
  const text =
    `${answer}: ${shallow.wiring} with ${size} reaches ${what} ${fmtValue(shallow, valueOf(shallow))}${fmtStd(shallow, stdOf(shallow))}, ` +
    `${baseline} with ${deepSize} ${fmtValue(deep, valueOf(deep))}${fmtStd(deep, stdOf(deep))} (${intervalText(shallow, c)}), ` +
    `with ${(deep.params / shallow.params).toFixed(1)}× fewer parameters and ${(deep.msPerStep / shallow.msPerStep).toFixed(1)}× less time per step.`;
  return { matches, word: c.word, withinNoise: c.word === 'no detectable difference', shallow, deep, comparison: c, text };
}

/** Does the residual baseline gain from depth? Each deeper row against the next shallower one, paired by seed. */
export interface BaselineDepthCheck {
  /** True when every step deeper is 'better' by the paired comparison. */
  gains: boolean;
  /**
   * True when the deepest row is 'better' than the shallowest by the paired comparison: the pair a depth-efficiency
   * claim compares (shallow ANCRe against the deep residual net is a test only where this depth gain exists).
   */
  endGains: boolean;
  text: string;
}

export function baselineDepthCheck(rows: DepthRow[], baseline = 'residual'): BaselineDepthCheck | null {
  const rs = rows.filter((r) => r.wiring === baseline).sort((a, b) => a.layers - b.layers);
  if (rs.length < 2) return null;
  const mse = rs[0].mseMean !== null;
  const steps: string[] = [];
  let gains = true;
  let gainSteps = 0;
  for (let i = 1; i < rs.length; i++) {
    const [a, b] = [rs[i - 1], rs[i]];
    const c = pairedRows(b, a);
    if (c.word !== 'better') gains = false;
    else gainSteps += 1;
    steps.push(`${a.layers} → ${b.layers} layers: ${fmtValue(a, valueOf(a))} → ${fmtValue(b, valueOf(b))} (${intervalText(b, c)})`);
  }
  const what = mse ? 'test MSE' : 'test accuracy';
  const [lo, hi] = [rs[0], rs[rs.length - 1]];
  const endC = pairedRows(hi, lo);
  const endGains = endC.word === 'better';
  const end = rs.length > 2 ? ` From the shallowest to the deepest (${lo.layers} → ${hi.layers} layers): ${fmtValue(lo, valueOf(lo))} → ${fmtValue(hi, valueOf(hi))} (${intervalText(hi, endC)}).` : '';
  const head = gains
    ? `Yes, the ${baseline} baseline gains from depth in ${what} at every step`
    : endGains
      ? `The ${baseline} baseline gains from depth in ${what} from the shallowest to the deepest, though not at every step`
      : gainSteps > 0
        ? `The ${baseline} baseline gains from depth in ${what} at ${gainSteps} of ${rs.length - 1} steps, but not from the shallowest to the deepest by a difference these seeds can detect`
        : `No, the ${baseline} baseline does not gain from depth in ${what} by a difference these seeds can detect`;
  return { gains, endGains, text: `${head}: ${steps.join('; ')}.${end}` };
}

/**
 * How much of the residual network's depth gain a shallow wiring recovers: (residual@shallow − wiring@shallow) /
 * (residual@shallow − residual@deep), on test MSE (or accuracy, sign-adjusted), from the means over seeds, with
 * the paired interval of wiring@shallow − residual@shallow beside it (the ratio itself has a wide interval at
 * few seeds). 1 = matches the deep residual net, 0 = no better than the residual net of its own depth. Null when
 * a row is missing or residual gained nothing.
 */
export function depthGapClosed(rows: DepthRow[], wiring: string, shallowLayers: number, deepLayers: number, baseline = 'residual'): { fraction: number; text: string } | null {
  const find = (w: string, layers: number) => rows.find((r) => r.wiring === w && r.layers === layers);
  const [s, rs, rd] = [find(wiring, shallowLayers), find(baseline, shallowLayers), find(baseline, deepLayers)];
  if (!s || !rs || !rd) return null;
  const mse = s.mseMean !== null && rs.mseMean !== null && rd.mseMean !== null;
  const v = (r: DepthRow) => (mse ? -r.mseMean! : r.accMean);
  const gain = v(rd) - v(rs);
  if (!(gain > 0)) return null;
  const fraction = (v(s) - v(rs)) / gain;
  const c = pairedRows(s, rs);
  return {
    fraction,
    text:
      `${wiring} at ${shallowLayers} layers recovers ${(100 * fraction).toFixed(0)} % of the gain the ${baseline} network makes from ${shallowLayers} to ${deepLayers} layers (means over seeds); ` +
      `against the ${baseline} network of its own depth: ${intervalText(s, c)}.`,
  };
}
