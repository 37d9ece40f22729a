/**
 * Comparisons of two rows of a study, paired by seed. Every row of one seed shares its data order and
 * (where the architectures allow) its initial weights, so the seed is the unit of pairing: the
 * difference row − reference is taken seed by seed, over the seeds both rows finished, and judged by
 * lib/stats `compare` (a Student-t interval on the mean paired difference, the smallest difference those
 * seeds could detect, and one word: better / worse / no detectable difference / not enough seeds).
 *
 * A deterministic reference (a baseline that involves no seed, e.g. raw pixels) pairs its one value with
 * every seed of the other row.
 */
import * as aq from 'arquero';
import { compare, meanStd, type Comparison } from '../../stats';
import type { ColumnTable } from '../../report';

/** What a comparison needs of a run record. */
export interface SeedRecord {
  row: string;
  seed: number;
  metrics: { [k: string]: number | string | boolean | null };
}

/** A row's value of `metric` (× `scale`) at each seed that has it as a finite number. */
export function valuesBySeed(records: readonly SeedRecord[], row: string | ((r: SeedRecord) => boolean), metric: string, scale = 1): Map<number, number> {
  const pick = typeof row === 'string' ? (r: SeedRecord) => r.row === row : row;
  const out = new Map<number, number>();
  for (const r of records) {
    const v = r.metrics[metric];
    if (pick(r) && typeof v === 'number' && Number.isFinite(v) && !out.has(r.seed)) out.set(r.seed, v * scale);
  }
  return out;
}

/** Two rows' values aligned by seed (the seeds both have, ascending); a deterministic `b` is repeated. */
export function alignBySeed(a: Map<number, number>, b: Map<number, number>, opts: { deterministicB?: boolean } = {}): { seeds: number[]; a: number[]; b: number[] } {
  if (opts.deterministicB && b.size === 1) {
    const v = [...b.values()][0];
    const seeds = [...a.keys()].sort((x, y) => x - y);
    return { seeds, a: seeds.map((s) => a.get(s)!), b: seeds.map(() => v) };
  }
  const seeds = [...a.keys()].filter((s) => b.has(s)).sort((x, y) => x - y);
  return { seeds, a: seeds.map((s) => a.get(s)!), b: seeds.map((s) => b.get(s)!) };
}

/** A paired comparison of a row against a reference row, with the seeds it used. */
export interface RowComparison extends Comparison {
  row: string;
  vs: string;
  metric: string;
  /** The seeds both rows finished (the pairs). */
  seeds: number[];
}

export interface CompareRowsOptions {
  /** Is a lower value better (perplexity, FID, MSE)? */
  lowerIsBetter: boolean;
  /** Multiplies the metric (100 for accuracies stored as fractions, reported in points). */
  scale?: number;
  /** The reference has one value that involves no seed (raw pixels): it pairs with every seed. */
  deterministicRef?: boolean;
  /** Confidence of the interval (default 0.95). */
  confidence?: number;
}

/** `row − vs` of `metric`, paired by seed, judged by lib/stats `compare`; selectors may be row labels or predicates. */
export function compareRows(
  records: readonly SeedRecord[],
  row: string | ((r: SeedRecord) => boolean),
  vs: string | ((r: SeedRecord) => boolean),
  metric: string,
  opts: CompareRowsOptions,
  names: { row?: string; vs?: string } = {},
): RowComparison {
  const rowName = names.row ?? (typeof row === 'string' ? row : 'row');
  const vsName = names.vs ?? (typeof vs === 'string' ? vs : 'reference');
  const p = alignBySeed(valuesBySeed(records, row, metric, opts.scale), valuesBySeed(records, vs, metric, opts.scale), { deterministicB: opts.deterministicRef });
  const c = compare(p.a, p.b, { lowerIsBetter: opts.lowerIsBetter, confidence: opts.confidence, label: `${rowName} − ${vsName}` });
  return { ...c, row: rowName, vs: vsName, metric, seeds: p.seeds };
}

/** `mean ± std (n)` of a row's metric with lib/stats' convention (one seed: the value alone); '–' with none. */
export function meanCell(values: readonly number[], digits = 1): string {
  if (!values.length) return '–';
  const s = meanStd(values);
  return `${s.mean.toFixed(digits)}${s.std === null ? '' : ` ± ${s.std.toFixed(digits)}`}`;
}

/** The difference and its interval as a table cell: `−4.4 [−6.0, −2.8]`, or why there is none. */
export function diffCell(c: Comparison, digits = 1): string {
  if (!c.diff) return c.n === 1 ? 'one seed: no interval' : c.n === 0 ? '–' : 'not enough seeds';
  const f = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(digits)}`;
  return `${f(c.diff.mean)} [${f(c.diff.lo)}, ${f(c.diff.hi)}]`;
}

/** The p value as a table cell. */
export function pCell(c: Comparison): string {
  if (!c.diff) return '–';
  const p = c.diff.p;
  return p < 0.001 ? '< 0.001' : p.toFixed(3);
}

/** The smallest difference these seeds could detect, as a cell. */
export function mddCell(c: Comparison, digits = 1): string {
  return c.mdd === null ? '–' : c.mdd.toFixed(digits);
}

/**
 * Table rows: every row against `reference` on each metric, paired by seed: `<label>` (mean ± std),
 * `Δ <label> [95% CI]`, `p`, `word` and the smallest detectable difference. The rows a notebook shows
 * under its mean ± std table, so that every comparison carries its interval.
 */
export function pairedTableRows(
  records: readonly SeedRecord[],
  rows: readonly string[],
  reference: string,
  metrics: readonly { key: string; label: string; lowerIsBetter: boolean; scale?: number; digits?: number; deterministicRef?: boolean }[],
): { [k: string]: string | number }[] {
  const out: { [k: string]: string | number }[] = [];
  for (const row of rows) {
    if (row === reference) continue;
    for (const m of metrics) {
      const c = compareRows(records, row, reference, m.key, m);
      const d = m.digits ?? 1;
      out.push({
        row,
        metric: m.label,
        [`vs ${reference}`]: diffCell(c, d),
        p: pCell(c),
        seeds: c.n,
        'smallest detectable': mddCell(c, d),
        word: c.word,
      });
    }
  }
  return out;
}

/** `pairedTableRows` as a table for showTable / writeTable; rows default to every row of the records but the reference. */
export function pairedTable(
  records: readonly SeedRecord[],
  reference: string,
  metrics: readonly { key: string; label: string; lowerIsBetter: boolean; scale?: number; digits?: number; deterministicRef?: boolean }[],
  rows?: readonly string[],
): ColumnTable {
  const all = rows ?? [...new Set(records.map((r) => r.row))];
  return aq.from(pairedTableRows(records, all, reference, metrics));
}
