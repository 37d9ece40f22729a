/**
 * The official-recipe study of notebook 03 (paper B, "ANCRe", arXiv 2602.09009, Table 1 and its convergence
 * claim), computed from run records: the residual baseline's peak-lr × depth sweep and whether it gains from
 * depth (the comparison is valid only where it does), the per-depth setting the comparison runs at, each
 * wiring at its own best lr, depth efficiency inside the LM (ANCRe at L layers against residual at 2L), and
 * the routing matrix's evolution. Nothing here trains; the notebook only shows what these return.
 */
import type { AncreLmRecipe } from './spec';
import type { LmRecord } from './analysis';
import { meanStd, num } from './stats';


/** The recipe of a record ('project' for the first study's records, which predate the field). */
export function recipeOf(r: LmRecord): AncreLmRecipe {
  return r.metrics.recipe === 'official' ? 'official' : 'project';
}

/** The peak lr of a record (its metrics, or its config for the first study's records). */
export function lrOf(r: LmRecord): number {
  if (typeof r.metrics.lr === 'number') return r.metrics.lr;
  const c = r.config as { train?: { schedule?: { lr?: number } } } | null;
  return c?.train?.schedule?.lr ?? NaN;
}

const sorted = (xs: number[]) => [...new Set(xs)].sort((a, b) => a - b);

/** Mean ± std (n) of final validation perplexity at one depth, wiring and lr. */
export function cell(records: LmRecord[], depth: number, wiring: string, lr: number): { mean: number; std: number; n: number } {
  return meanStd(records.filter((r) => r.metrics.depth === depth && r.metrics.wiring === wiring && lrOf(r) === lr).map((r) => num(r.metrics.valPerplexity)));
}

const fmtCell = (m: { mean: number; std: number; n: number }) =>
  m.n === 0 ? '–' : `${m.mean.toFixed(1)}${Number.isFinite(m.std) ? ` ± ${m.std.toFixed(1)}` : ''} (${m.n})`;

/** The lr sweep of one wiring: one row per depth, one column per lr, `mean ± std (seeds)`. */
export function lrSweepTable(records: LmRecord[], wiring = 'residual'): { [k: string]: string | number }[] {
  const rs = records.filter((r) => r.metrics.wiring === wiring);
  const lrs = sorted(rs.map(lrOf));
  return sorted(rs.map((r) => num(r.metrics.depth))).map((depth) => {
    const row: { [k: string]: string | number } = { depth };
    for (const lr of lrs) row[`lr ${lr}`] = fmtCell(cell(rs, depth, wiring, lr));
    return row;
  });
}

/** Series for a figure of the sweep: perplexity (mean, std) against lr, one series per depth. */
export function lrSweepSeries(records: LmRecord[], wiring = 'residual'): { name: string; x: number[]; mean: (number | null)[]; std: (number | null)[] }[] {
  const rs = records.filter((r) => r.metrics.wiring === wiring);
  const lrs = sorted(rs.map(lrOf));
  return sorted(rs.map((r) => num(r.metrics.depth))).map((depth) => {
    const cells = lrs.map((lr) => cell(rs, depth, wiring, lr));
    return { name: `${depth} layers`, x: lrs, mean: cells.map((c) => (c.n ? c.mean : null)), std: cells.map((c) => (Number.isFinite(c.std) ? c.std : null)) };
  });
}

/** The lr with the lowest mean perplexity of `wiring` at each depth (among lrs with at least one finished run). */
export function bestLrs(records: LmRecord[], wiring = 'residual'): Map<number, number> {
  const rs = records.filter((r) => r.metrics.wiring === wiring);
  const out = new Map<number, number>();
  for (const depth of sorted(rs.map((r) => num(r.metrics.depth)))) {
    let best = NaN;
    let bestPpl = Infinity;
    for (const lr of sorted(rs.filter((r) => r.metrics.depth === depth).map(lrOf))) {
      const m = cell(rs, depth, wiring, lr).mean;
      if (m < bestPpl) [best, bestPpl] = [lr, m];
    }
    if (Number.isFinite(best)) out.set(depth, best);
  }
  return out;
}

export interface DepthPaysCheck {
  /** True when at each depth's best lr the perplexity falls at every step deeper, beyond the seed spread. */
  pays: boolean;
  /** The best lr per depth (the setting the comparison runs at). */
  setting: Map<number, number>;
  text: string;
}

/**
 * Is the residual baseline healthy (perplexity improves 2 > 4 > 8 layers beyond the seed spread at the best lr
 * of each depth)? A step counts only with ≥ 2 seeds on both sides and a gap larger than the larger std.
 */
export function baselineDepthCheck(records: LmRecord[], wiring = 'residual'): DepthPaysCheck {
  const setting = bestLrs(records, wiring);
  const depths = [...setting.keys()];
  if (depths.length < 2) return { pays: false, setting, text: `Only ${depths.length} depth has finished runs: nothing to say about depth yet.` };
  const parts: string[] = [];
  let pays = true;
  for (let i = 1; i < depths.length; i++) {
    const [a, b] = [depths[i - 1], depths[i]];
    const ca = cell(records, a, wiring, setting.get(a)!);
    const cb = cell(records, b, wiring, setting.get(b)!);
    const noise = Math.max(ca.std, cb.std);
    const better = cb.mean < ca.mean;
    const beyond = Number.isFinite(noise) && ca.mean - cb.mean > noise;
    if (!beyond) pays = false;
    parts.push(
      `${a} → ${b} layers: ${ca.mean.toFixed(1)} → ${cb.mean.toFixed(1)} (${better ? 'better' : 'worse'}; ` +
        (Number.isFinite(noise) ? `seed std ${noise.toFixed(1)}: ${beyond ? 'beyond it' : 'not beyond it'})` : `${Math.min(ca.n, cb.n)} seed: no spread yet)`),
    );
  }
  const lrs = depths.map((d) => `${setting.get(d)} at ${d} layers`).join(', ');
  const text =
    `**${pays ? 'Depth pays' : 'Depth does not (yet) pay'}** for the ${wiring} baseline at each depth's best peak lr (${lrs}): ${parts.join('; ')}. ` +
    (pays
      ? 'The comparison below runs at this setting.'
      : 'The comparison below is therefore not a fair test of a depth-scaling method at this setting; it is shown for what it is.');
  return { pays, setting, text };
}

/** The records of each depth at its given lr (the comparison at the baseline's setting). */
export function atSetting<R extends LmRecord>(records: R[], setting: Map<number, number>): R[] {
  return records.filter((r) => setting.get(num(r.metrics.depth)) === lrOf(r));
}

export interface OwnBestRow {
  depth: number;
  wiring: string;
  /** The wiring's own best lr at this depth (lowest mean perplexity over its lr sweep). */
  lr: number;
  mean: number;
  std: number;
  seeds: number;
  /** The lrs it was tried at. */
  tried: number[];
}

/** Each wiring at its own best lr, per depth: a gain cannot come from one lr suiting one wiring. */
export function ownBestTable(records: LmRecord[]): OwnBestRow[] {
  const out: OwnBestRow[] = [];
  const labels = [...new Set(records.map((r) => String(r.metrics.wiring)))];
  for (const depth of sorted(records.map((r) => num(r.metrics.depth)))) {
    for (const wiring of labels) {
      const rs = records.filter((r) => r.metrics.depth === depth && r.metrics.wiring === wiring);
      if (!rs.length) continue;
      const lr = bestLrs(rs, wiring).get(depth)!;
      const c = cell(rs, depth, wiring, lr);
      out.push({ depth, wiring, lr, mean: c.mean, std: c.std, seeds: c.n, tried: sorted(rs.map(lrOf)) });
    }
  }
  return out;
}

export interface DepthEfficiencyRow {
  /** Depth L of the routed model. */
  depth: number;
  wiring: string;
  ppl: string;
  /** The residual model at 2L. */
  residualDeeper: string;
  /** True when the L-layer wiring's mean is at or below the 2L residual's mean. */
  matches: boolean | null;
  /** Within the larger seed std. */
  withinNoise: boolean | null;
}

/** Depth efficiency inside the LM (the paper's depth claim, here): each wiring at L against residual at 2L. */
export function depthEfficiency(records: LmRecord[], setting: Map<number, number>, wirings: string[]): DepthEfficiencyRow[] {
  const out: DepthEfficiencyRow[] = [];
  for (const [depth, lr] of setting) {
    const deeper = setting.get(2 * depth);
    if (deeper === undefined) continue;
    const base = cell(records, 2 * depth, 'residual', deeper);
    for (const wiring of wirings) {
      const c = cell(records, depth, wiring, lr);
      const known = c.n > 0 && base.n > 0;
      const noise = Math.max(c.std, base.std);
      out.push({
        depth,
        wiring,
        ppl: fmtCell(c),
        residualDeeper: fmtCell(base),
        matches: known ? c.mean <= base.mean : null,
        withinNoise: known && Number.isFinite(noise) ? Math.abs(c.mean - base.mean) <= noise : null,
      });
    }
  }
  return out;
}

/** The routing log of a record: steps and p[l][i] at each. Null when the run logged none. */
export function routingLog(r: LmRecord): { step: number[]; p: number[][][] } | null {
  const log = r.extra?.routing as { step?: number[]; p?: number[][][] } | undefined;
  return log?.step && log.p ? { step: log.step, p: log.p } : null;
}

/**
 * Lines for the routing's evolution: for each target l + 1 (rows after the first), the weight on the
 * layer's own input h_l and on the embeddings h_0, against step. Uniform would be 1/(l+1).
 */
export function routingEvolutionSeries(r: LmRecord): { name: string; x: number[]; y: number[] }[] {
  const log = routingLog(r);
  if (!log || !log.p.length) return [];
  const K = log.p[0].length;
  const out: { name: string; x: number[]; y: number[] }[] = [];
  for (let l = 1; l < K; l++) {
    out.push({ name: `p[${l}][${l}] (own input h_${l})`, x: log.step, y: log.p.map((p) => p[l][l]) });
    out.push({ name: `p[${l}][0] (embeddings)`, x: log.step, y: log.p.map((p) => p[l][0]) });
  }
  return out;
}
