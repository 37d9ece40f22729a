/** Small statistics the ancre-lm analyses share, on top of lib/stats (not part of the study's exports). */
import { compare, meanStd as statsMeanStd, type Comparison } from '../../stats';
import type { Json } from '../../runner/types';

/** The fields of a run record the analysis reads. */
export interface LmRecord {
  seed: number;
  config: Json;
  metrics: { [k: string]: number | string | boolean | null };
  history?: { [k: string]: number[] };
  extra?: { [k: string]: Json };
}

/** A metric value as a number; NaN for anything else (a missing or null metric). */
export const num = (x: unknown): number => (typeof x === 'number' ? x : NaN);

/**
 * Mean, sample std and count of the finite values (lib/stats `meanStd`). For the tables' formatting the
 * std is NaN below two values (lib/stats says null) and the mean NaN with none.
 */
export function meanStd(xs: number[]): { mean: number; std: number; n: number } {
  const v = xs.filter((x) => Number.isFinite(x));
  if (!v.length) return { mean: NaN, std: NaN, n: 0 };
  const m = statsMeanStd(v);
  return { mean: m.mean, std: m.std ?? NaN, n: m.n };
}

/** Selects one cell of the study: a depth, a wiring label and (optionally) a peak lr. */
export interface LmCell {
  depth: number;
  wiring: string;
  lr?: number;
}

/** A record's peak lr (the metric, else the config's schedule): the same rule as ./sweep `lrOf`. */
export const lrOfRecord = (r: LmRecord): number => (typeof r.metrics.lr === 'number' ? r.metrics.lr : num((r.config as { train?: { schedule?: { lr?: number } } } | null)?.train?.schedule?.lr));

/** Final validation perplexity of a cell at each seed. */
export function perplexityBySeed(records: LmRecord[], c: LmCell): Map<number, number> {
  const out = new Map<number, number>();
  for (const r of records) {
    if (r.metrics.depth !== c.depth || r.metrics.wiring !== c.wiring || (c.lr !== undefined && lrOfRecord(r) !== c.lr)) continue;
    const v = num(r.metrics.valPerplexity);
    if (Number.isFinite(v) && !out.has(r.seed)) out.set(r.seed, v);
  }
  return out;
}

/** Perplexity of cell `a` − cell `b`, paired by seed (the seeds both finished; lower is better), by lib/stats `compare`. */
export function comparePerplexity(records: LmRecord[], a: LmCell, b: LmCell, label?: string): Comparison {
  const pa = perplexityBySeed(records, a);
  const pb = perplexityBySeed(records, b);
  const seeds = [...pa.keys()].filter((s) => pb.has(s)).sort((x, y) => x - y);
  return compare(seeds.map((s) => pa.get(s)!), seeds.map((s) => pb.get(s)!), { lowerIsBetter: true, label: label ?? `${a.wiring}@${a.depth} − ${b.wiring}@${b.depth}` });
}

/** `−1.2 [−2.0, −0.4], better` (perplexity points), or `one seed` / `not enough seeds`. */
export function pairedPhrase(c: Comparison, digits = 2): string {
  if (!c.diff) return c.n === 1 ? 'one seed: no interval' : c.n === 0 ? 'no common seeds' : 'not enough seeds';
  const f = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(digits)}`;
  return `paired Δ ${f(c.diff.mean)} [${f(c.diff.lo)}, ${f(c.diff.hi)}], ${c.word}${c.word === 'no detectable difference' && c.mdd !== null ? ` (${c.n} seeds detect ${c.mdd.toFixed(digits)})` : ''}`;
}
