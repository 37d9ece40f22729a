/**
 * Analysis helpers for the ancre-lm notebook: perplexity, convergence and overhead tables built from
 * the run records, mean curves, back-to-back step timing, and the paper's reference numbers.
 * (Split from ancre-lm.ts, which holds the experiment itself.)
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../../errors';
import { Llama } from '../../models/llama';
import { AdamW } from '../../train/adamw';
import { modelConfig, type AncreLmConfig } from './spec';
import { meanStd, num, type LmRecord } from './stats';
import { median } from '../../stats';

/**
 * The first step at which `curve` reaches `target` (≤), linearly interpolated between evaluations;
 * null when it never does.
 */
export function stepsToReach(steps: number[], curve: number[], target: number): number | null {
  for (let i = 0; i < curve.length; i++) {
    if (curve[i] <= target) {
      if (i === 0) return steps[0];
      const [s0, s1, y0, y1] = [steps[i - 1], steps[i], curve[i - 1], curve[i]];
      return y0 === y1 ? s1 : s0 + ((y0 - target) / (y0 - y1)) * (s1 - s0);
    }
  }
  return null;
}


export type { LmRecord } from './stats';

const fmt = (m: { mean: number; std: number }, d = 1) => (Number.isFinite(m.mean) ? `${m.mean.toFixed(d)}${Number.isFinite(m.std) ? ` ± ${m.std.toFixed(d)}` : ''}` : '–');

function depthsAndLabels(records: LmRecord[]): { depths: number[]; labels: string[] } {
  const depths = [...new Set(records.map((r) => num(r.metrics.depth)))].sort((a, b) => a - b);
  const labels = [...new Set(records.map((r) => String(r.metrics.wiring)))];
  return { depths, labels };
}
const pick = (records: LmRecord[], depth: number, label: string) => records.filter((r) => r.metrics.depth === depth && r.metrics.wiring === label);

/** Final validation perplexity, one row per depth, one column per wiring: mean ± std over seeds. */
export function perplexityTable(records: LmRecord[]): { [k: string]: string | number }[] {
  const { depths, labels } = depthsAndLabels(records);
  return depths.map((depth) => {
    const row: { [k: string]: string | number } = { depth };
    for (const l of labels) row[l] = fmt(meanStd(pick(records, depth, l).map((r) => num(r.metrics.valPerplexity))));
    const sd = pick(records, depth, labels[0]).length;
    row.seeds = sd;
    return row;
  });
}

/** Mean final perplexity per depth and wiring (numbers, for the verdict). */
export function meanPerplexity(records: LmRecord[]): Map<string, number> {
  const out = new Map<string, number>();
  const { depths, labels } = depthsAndLabels(records);
  for (const d of depths) for (const l of labels) out.set(`${d}/${l}`, meanStd(pick(records, d, l).map((r) => num(r.metrics.valPerplexity))).mean);
  return out;
}

export interface ConvergenceRow {
  depth: number;
  wiring: string;
  /** Steps to reach the same-seed baseline's final curve perplexity, mean over seeds that reached it. */
  steps: number | null;
  /** 1 − steps / total steps, mean over seeds (a seed that never reaches it counts as 0% fewer... and is counted in `reached`). */
  fewer: number | null;
  /** Seeds that reached the target / seeds. */
  reached: string;
}

/**
 * Steps each wiring needs to reach the baseline's final validation perplexity (same depth, same seed,
 * both read off the evaluation curve, which scores the same windows at every evaluation).
 */
export function convergenceTable(records: LmRecord[], baseline = 'residual'): ConvergenceRow[] {
  const { depths, labels } = depthsAndLabels(records);
  const rows: ConvergenceRow[] = [];
  for (const depth of depths) {
    for (const l of labels) {
      if (l === baseline) continue;
      const steps: number[] = [];
      const fewer: number[] = [];
      let n = 0;
      for (const r of pick(records, depth, l)) {
        const base = pick(records, depth, baseline).find((b) => b.seed === r.seed);
        if (!base?.history || !r.history) continue;
        n++;
        const bc = base.history.valPerplexity;
        const target = bc[bc.length - 1];
        const total = r.history.evalStep[r.history.evalStep.length - 1];
        const s = stepsToReach(r.history.evalStep, r.history.valPerplexity, target);
        if (s !== null) {
          steps.push(s);
          fewer.push(1 - s / total);
        }
      }
      rows.push({
        depth,
        wiring: l,
        steps: steps.length ? meanStd(steps).mean : null,
        fewer: fewer.length ? meanStd(fewer).mean : null,
        reached: `${steps.length}/${n}`,
      });
    }
  }
  return rows;
}

export interface OverheadRow {
  depth: number;
  wiring: string;
  params: number;
  /** Extra trainable parameters vs the baseline at this depth, as a fraction. */
  extraParams: number;
  msPerStep: string;
  /** Mean ms/step relative to the baseline's at this depth, minus 1. */
  extraTime: number;
}

/** Parameter and measured step-time overhead of each wiring vs the baseline at the same depth. */
export function overheadTable(records: LmRecord[], baseline = 'residual'): OverheadRow[] {
  const { depths, labels } = depthsAndLabels(records);
  const rows: OverheadRow[] = [];
  for (const depth of depths) {
    const b = pick(records, depth, baseline);
    const bp = num(b[0]?.metrics.params);
    const bt = meanStd(b.map((r) => num(r.metrics.msPerStep)));
    for (const l of labels) {
      const rs = pick(records, depth, l);
      const t = meanStd(rs.map((r) => num(r.metrics.msPerStep)));
      const p = num(rs[0]?.metrics.params);
      rows.push({ depth, wiring: l, params: p, extraParams: p / bp - 1, msPerStep: fmt(t, 0), extraTime: t.mean / bt.mean - 1 });
    }
  }
  return rows;
}

/** Mean validation-perplexity curve over seeds, per wiring, at one depth. */
export function meanCurves(records: LmRecord[], depth: number): { name: string; x: number[]; y: number[] }[] {
  const { labels } = depthsAndLabels(records);
  return labels.map((l) => {
    const rs = pick(records, depth, l).filter((r) => r.history?.valPerplexity?.length);
    const x = rs[0]?.history?.evalStep ?? [];
    const y = x.map((_, i) => meanStd(rs.map((r) => r.history!.valPerplexity[i])).mean);
    return { name: l, x, y };
  });
}

/**
 * Median ms of a full training step (forward, backward, AdamW update) for each wiring at each depth of
 * `c`, the models timed in alternation on the same batch so that machine load affects them alike.
 */
export function timeStepsBackToBack(c: AncreLmConfig, labels: string[], steps: number): { depth: number; ms: Record<string, number> }[] {
  const out: { depth: number; ms: Record<string, number> }[] = [];
  const rows = labels.map((l) => {
    const w = c.wirings.find((x) => x.label === l);
    if (!w) throw new ConfigError(`unknown wiring label '${l}'; expected one of ${c.wirings.map((x) => x.label).join(', ')}`);
    return w;
  });
  for (const depth of c.depths) {
    const models = rows.map((w) => new Llama(modelConfig(c, depth, w.wiring, 0), `timing-${w.label}`));
    const opts = models.map((m) => new AdamW(m.params(), c.train.optimizer));
    const x = tf.tidy(() => tf.randomUniform([c.batch, c.seqLen], 0, c.vocabSize, 'int32', 1) as tf.Tensor2D);
    const y = tf.tidy(() => tf.randomUniform([c.batch, c.seqLen], 0, c.vocabSize, 'int32', 2) as tf.Tensor2D);
    const times: number[][] = rows.map(() => []);
    try {
      for (let s = -1; s < steps; s++) {
        models.forEach((m, i) => {
          const t0 = performance.now();
          const { value, grads } = tf.variableGrads(() => m.loss(x, y), m.params().map((p) => p.variable));
          value.dataSync();
          opts[i].step(grads, 1e-4);
          tf.dispose([value, ...Object.values(grads)]);
          if (s >= 0) times[i].push(performance.now() - t0); // s = −1 warms up (kernels, caches)
        });
      }
    } finally {
      tf.dispose([x, y]);
      opts.forEach((o) => o.dispose());
      models.forEach((m) => m.dispose());
    }
    out.push({ depth, ms: Object.fromEntries(rows.map((w, i) => [w.label, median(times[i])])) });
  }
  return out;
}
