/**
 * The official-recipe study of notebook 03 (paper B, "ANCRe", arXiv 2602.09009, Table 1 and its convergence
 * claim), computed from run records: the residual baseline's peak-lr × depth sweep and whether it gains from
 * depth (the comparison is valid only where it does), the per-depth setting the comparison runs at, each
 * wiring at its own best lr, depth efficiency inside the LM (ANCRe at L layers against residual at 2L), and
 * the routing matrix's evolution. Nothing here trains; the notebook only shows what these return.
 */
import type { AncreLmRecipe } from './spec';
import type { LmRecord } from './analysis';
import { comparePerplexity, lrOfRecord, meanStd, num, pairedPhrase } from './stats';
import type { Comparison } from '../../stats';


/** The recipe of a record ('project' for the first study's records, which predate the field). */
export function recipeOf(r: LmRecord): AncreLmRecipe {
  return r.metrics.recipe === 'official' ? 'official' : 'project';
}

/** The peak lr of a record (its metrics, or its config for the first study's records). */
export function lrOf(r: LmRecord): number {
  return lrOfRecord(r);
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
  /** True when at each depth's best lr the perplexity falls at every step deeper: 'better' paired by seed (lib/stats). */
  pays: boolean;
  /** True when the deepest model beats the shallowest ('better' paired by seed): the pair a depth-scaling test needs. */
  endPays: boolean;
  /** The best lr per depth (the setting the comparison runs at). */
  setting: Map<number, number>;
  text: string;
}

/**
 * Is the residual baseline healthy (perplexity improves 2 > 4 > 8 layers at the best lr of each depth)? Each step
 * deeper is the paired comparison by seed (lib/stats `compare`): it counts only when the whole 95 % interval of
 * deeper − shallower is below 0.
 */
export function baselineDepthCheck(records: LmRecord[], wiring = 'residual'): DepthPaysCheck {
  const setting = bestLrs(records, wiring);
  const depths = [...setting.keys()];
  if (depths.length < 2) return { pays: false, endPays: false, setting, text: `Only ${depths.length} depth has finished runs: nothing to say about depth yet.` };
  const parts: string[] = [];
  let pays = true;
  const tested: number[] = [];
  const untested: number[] = [];
  for (let i = 1; i < depths.length; i++) {
    const [a, b] = [depths[i - 1], depths[i]];
    const ca = cell(records, a, wiring, setting.get(a)!);
    const cb = cell(records, b, wiring, setting.get(b)!);
    const c = comparePerplexity(records, { depth: b, wiring, lr: setting.get(b) }, { depth: a, wiring, lr: setting.get(a) });
    if (c.word !== 'better') pays = false;
    (c.word === 'better' ? tested : untested).push(b);
    parts.push(`${a} → ${b} layers: ${ca.mean.toFixed(1)} → ${cb.mean.toFixed(1)} (${pairedPhrase(c)})`);
  }
  const lrs = depths.map((d) => `${setting.get(d)} at ${d} layers`).join(', ');
  const [lo, hi] = [depths[0], depths[depths.length - 1]];
  const end = comparePerplexity(records, { depth: hi, wiring, lr: setting.get(hi) }, { depth: lo, wiring, lr: setting.get(lo) });
  const endPays = end.word === 'better';
  const head = pays ? 'Depth pays' : endPays ? `Depth pays from ${lo} to ${hi} layers` : tested.length ? `Depth pays at ${tested.join(', ')} layers` : 'Depth does not (yet) pay';
  const endText = depths.length > 2 ? ` From ${lo} to ${hi} layers: ${pairedPhrase(end)}.` : '';
  const layers = (ds: number[]) => `${ds.join(' and ')} layers`;
  const text =
    `**${head}** for the ${wiring} baseline at each depth's best peak lr (${lrs}; deeper − shallower perplexity, 95 % interval paired by seed): ${parts.join('; ')}.${endText} ` +
    (pays
      ? 'The comparison below runs at this setting.'
      : tested.length
        ? `At ${layers(tested)} the ${wiring} model beats the next shallower one, so the comparison there tests a depth-scaling method; at ${layers(untested)} no gain over the next shallower depth is detected, so the comparison there is shown for what it is.`
        : 'The comparison below is therefore not a fair test of a depth-scaling method at this setting; it is shown for what it is.');
  return { pays, endPays, setting, text };
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
  /** True when the paired interval of wiring@L − residual@2L contains 0 (no detectable difference). */
  withinNoise: boolean | null;
  /** lib/stats' word for wiring@L − residual@2L, paired by seed, and the phrase with its interval. */
  word: Comparison['word'] | null;
  paired: string;
}

/** Depth efficiency inside the LM (the paper's depth claim, here): each wiring at L against residual at 2L, paired by seed. */
export function depthEfficiency(records: LmRecord[], setting: Map<number, number>, wirings: string[]): DepthEfficiencyRow[] {
  const out: DepthEfficiencyRow[] = [];
  for (const [depth, lr] of setting) {
    const deeper = setting.get(2 * depth);
    if (deeper === undefined) continue;
    const base = cell(records, 2 * depth, 'residual', deeper);
    for (const wiring of wirings) {
      const c = cell(records, depth, wiring, lr);
      const known = c.n > 0 && base.n > 0;
      const cmp = known ? comparePerplexity(records, { depth, wiring, lr }, { depth: 2 * depth, wiring: 'residual', lr: deeper }) : null;
      out.push({
        depth,
        wiring,
        ppl: fmtCell(c),
        residualDeeper: fmtCell(base),
        matches: known ? c.mean <= base.mean : null,
        withinNoise: cmp && cmp.diff ? cmp.word === 'no detectable difference' : null,
        word: cmp ? cmp.word : null,
        paired: cmp ? pairedPhrase(cmp) : '–',
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
