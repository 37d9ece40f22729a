/** resnet-depth's tables and verdicts, from runs.jsonl records (never from notebook state). */
import type { RunRecord } from '../../runner/store/runs';

/** Mean and sample std (null for fewer than 2 values). */
function meanStd(xs: number[]): { mean: number; std: number | null } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : null;
  return { mean, std };
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
    });
  }
  return rows.sort((a, b) => (a.wiring === b.wiring ? a.blocks - b.blocks : a.wiring < b.wiring ? -1 : 1));
}

export interface Verdict {
  /** True when shallow ANCRe's mean accuracy ≥ the deep baseline's mean accuracy. */
  matches: boolean;
  /** Within one pooled std of the seeds (a tie at this number of seeds). */
  withinNoise: boolean;
  shallow: DepthRow;
  deep: DepthRow;
  text: string;
}

/**
 * The paper's claim on this table: does the `ancre` row (a wiring label) at `shallowBlocks` match or beat the
 * `baseline` row at `deepBlocks` (4× deeper)? Null when either row is missing.
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
  if (shallow.mseMean !== null && deep.mseMean !== null) return mseVerdict(shallow, deep, baseline);
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  const sd = (x: number | null) => (x === null ? '' : ` ± ${(100 * x).toFixed(2)}`);
  const diff = shallow.accMean - deep.accMean;
  const pooled = Math.sqrt(((shallow.accStd ?? 0) ** 2 + (deep.accStd ?? 0) ** 2) / 2);
  const matches = diff >= 0;
  const withinNoise = Math.abs(diff) <= pooled;
  const speed = deep.msPerStep / shallow.msPerStep;
  const text =
    `${matches ? 'Yes' : 'No'}: ${shallow.wiring} with ${shallow.blocks} blocks reaches ${pct(shallow.accMean)}${sd(shallow.accStd)} test accuracy, ` +
    `${baseline} with ${deep.blocks} blocks ${pct(deep.accMean)}${sd(deep.accStd)} (difference ${diff >= 0 ? '+' : ''}${(100 * diff).toFixed(2)} points, ` +
    `${withinNoise ? 'within' : 'outside'} one seed std of ${(100 * pooled).toFixed(2)}), ` +
    `with ${(deep.params / shallow.params).toFixed(1)}× fewer parameters and ${speed.toFixed(1)}× less time per step.`;
  return { matches, withinNoise, shallow, deep, text };
}

function mseVerdict(shallow: DepthRow, deep: DepthRow, baseline: string): Verdict {
  const sd = (x: number | null) => (x === null ? '' : ` ± ${x.toPrecision(3)}`);
  const diff = shallow.mseMean! - deep.mseMean!;
  const pooled = Math.sqrt(((shallow.mseStd ?? 0) ** 2 + (deep.mseStd ?? 0) ** 2) / 2);
  const matches = diff <= 0;
  const withinNoise = Math.abs(diff) <= pooled;
  const text =
    `${matches ? 'Yes' : 'No'}: ${shallow.wiring} with ${shallow.layers} layers reaches test MSE ${shallow.mseMean!.toPrecision(3)}${sd(shallow.mseStd)}, ` +
    `${baseline} with ${deep.layers} layers ${deep.mseMean!.toPrecision(3)}${sd(deep.mseStd)} (difference ${diff >= 0 ? '+' : ''}${diff.toPrecision(3)}, ` +
    `${withinNoise ? 'within' : 'outside'} one seed std of ${pooled.toPrecision(3)}), ` +
    `with ${(deep.params / shallow.params).toFixed(1)}× fewer parameters and ${(deep.msPerStep / shallow.msPerStep).toFixed(1)}× less time per step.`;
  return { matches, withinNoise, shallow, deep, text };
}

/** Does the residual baseline gain from depth? Each deeper row against the next shallower one, beyond seed spread. */
export interface BaselineDepthCheck {
  /** True when every step deeper lowers the test MSE (or raises accuracy) by more than the larger seed std. */
  gains: boolean;
  /**
   * True when the deepest row beats the shallowest by more than the larger seed std: the pair a depth-efficiency
   * claim compares (shallow ANCRe against the deep residual net is a test only where this depth gain exists).
   */
  endGains: boolean;
  text: string;
}

export function baselineDepthCheck(rows: DepthRow[], baseline = 'residual'): BaselineDepthCheck | null {
  const rs = rows.filter((r) => r.wiring === baseline).sort((a, b) => a.layers - b.layers);
  if (rs.length < 2) return null;
  const mse = rs[0].mseMean !== null;
  const val = (r: DepthRow) => (mse ? r.mseMean! : r.accMean);
  const sd = (r: DepthRow) => (mse ? r.mseStd : r.accStd);
  const f = (x: number) => (mse ? x.toPrecision(3) : `${(100 * x).toFixed(2)}%`);
  const steps: string[] = [];
  let gains = true;
  for (let i = 1; i < rs.length; i++) {
    const [a, b] = [rs[i - 1], rs[i]];
    const better = mse ? val(b) < val(a) : val(b) > val(a);
    const noise = Math.max(sd(a) ?? NaN, sd(b) ?? NaN);
    const beyond = Number.isFinite(noise) && Math.abs(val(b) - val(a)) > noise;
    if (!(better && beyond)) gains = false;
    steps.push(`${a.layers} → ${b.layers} layers: ${f(val(a))} → ${f(val(b))} (${better ? 'better' : 'worse'}, ${Number.isFinite(noise) ? `${beyond ? 'beyond' : 'within'} the seed std ${mse ? noise.toPrecision(3) : (100 * noise).toFixed(2)}` : 'one seed: no spread'})`);
  }
  const what = mse ? 'test MSE' : 'test accuracy';
  const [lo, hi] = [rs[0], rs[rs.length - 1]];
  const endBetter = mse ? val(hi) < val(lo) : val(hi) > val(lo);
  const endNoise = Math.max(sd(lo) ?? NaN, sd(hi) ?? NaN);
  const endBeyond = Number.isFinite(endNoise) && Math.abs(val(hi) - val(lo)) > endNoise;
  const endGains = endBetter && endBeyond;
  const end =
    rs.length > 2
      ? ` From the shallowest to the deepest (${lo.layers} → ${hi.layers} layers): ${f(val(lo))} → ${f(val(hi))} (${endBetter ? 'better' : 'worse'}, ` +
        `${Number.isFinite(endNoise) ? `${endBeyond ? 'beyond' : 'within'} the seed std ${mse ? endNoise.toPrecision(3) : (100 * endNoise).toFixed(2)}` : 'one seed: no spread'}).`
      : '';
  return { gains, endGains, text: `${gains ? 'Yes' : 'No'}, the ${baseline} baseline ${gains ? 'gains' : 'does not gain'} from depth in ${what} at every step: ${steps.join('; ')}.${end}` };
}

/**
 * How much of the residual network's depth gain a shallow wiring recovers: (residual@shallow − wiring@shallow) /
 * (residual@shallow − residual@deep), on test MSE (or accuracy, sign-adjusted). 1 = matches the deep residual net,
 * 0 = no better than the residual net of its own depth. Null when a row is missing or residual gained nothing.
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
  return {
    fraction,
    text: `${wiring} at ${shallowLayers} layers recovers ${(100 * fraction).toFixed(0)} % of the gain the ${baseline} network makes from ${shallowLayers} to ${deepLayers} layers (means over seeds).`,
  };
}
