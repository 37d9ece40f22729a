/**
 * Tables from run records, with arquero (https://idl.uw.edu/arquero): one row per run, or one row per
 * table row of the paper with mean ± std over seeds, rendered as GitHub Markdown (pasteable into a
 * paper or README), CSV (full precision, for machines) and HTML (for the notebook).
 *
 * Column convention of a summary: the `by` columns, `n` (runs in the group), then for each metric m
 * `m_mean`, `m_std` (sample std, n-1) and `m_n` (runs where m was a number). The renderers fold each
 * `m_mean`/`m_std`/`m_n` triple into one column `m` shown as `63.9 ± 0.4`, with `(2/3)` appended when
 * some runs of the group had no value for m (a diverged run is not silently averaged away).
 */
import * as path from 'path';
import * as aq from 'arquero';
import type { ColumnTable } from 'arquero';
import type { RunRecord } from '../runner/store/runs';
import { writeFileAtomic } from '../io/atomic';

export type { ColumnTable };

/** Decimal places per column (or per metric, for `m_mean ± m_std` columns). */
export type Digits = { [column: string]: number };

/** Digits passed to `summarise`, remembered for the renderers (arquero tables carry no metadata). */
const tableDigits = new WeakMap<ColumnTable, Digits>();

/** One row per run: `row`, `seed`, every metric (union over records, in first-seen order), `runId`, `wallTimeSec`. */
export function runsTable(records: RunRecord[]): ColumnTable {
  const fixed = ['row', 'seed', 'runId', 'wallTimeSec'];
  const metricNames: string[] = [];
  for (const r of records) for (const k of Object.keys(r.metrics)) if (!metricNames.includes(k)) metricNames.push(k);
  // A metric called like a fixed column would overwrite it: give it a prefix instead.
  const colOf = (m: string) => (fixed.includes(m) ? `metric.${m}` : m);
  const cols: { [k: string]: unknown[] } = { row: [], seed: [] };
  for (const m of metricNames) cols[colOf(m)] = [];
  cols.runId = [];
  cols.wallTimeSec = [];
  for (const r of records) {
    cols.row.push(r.row);
    cols.seed.push(r.seed);
    for (const m of metricNames) cols[colOf(m)].push(m in r.metrics ? r.metrics[m] : null);
    cols.runId.push(r.runId);
    cols.wallTimeSec.push(r.wallTimeSec);
  }
  return aq.table(cols);
}

/** A field of a record by name: `row`, `seed`, `experiment`, `preset`, `runId`, `config.a.b`, or a metric. */
function field(r: RunRecord, key: string): unknown {
  if (key === 'row' || key === 'seed' || key === 'experiment' || key === 'preset' || key === 'runId') return r[key];
  if (key.startsWith('config.')) {
    let v: unknown = r.config;
    for (const part of key.slice('config.'.length).split('.')) {
      v = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as { [k: string]: unknown })[part] : undefined;
    }
    return v === undefined ? null : typeof v === 'object' && v !== null ? JSON.stringify(v) : v;
  }
  return key in r.metrics ? r.metrics[key] : null;
}

export interface SummariseOptions {
  /** Grouping columns (see `field`); default `['row']`. Groups keep the order of their first run. */
  by?: string[];
  /** Metrics to average; non-numbers (and null, i.e. NaN at write time) count as missing. */
  metrics: string[];
  /** Decimal places per metric for the renderers; default derived from the spread. */
  digits?: Digits;
}

/** The FID feature networks (`metrics.classifier`, a SHA-256 prefix) of the records that carry an FID. */
export function featureNetworks(records: RunRecord[]): string[] {
  const nets = new Set<string>();
  for (const r of records) {
    if (Object.keys(r.metrics).some((k) => k.startsWith('fid'))) nets.add(String(r.metrics.classifier ?? 'unknown'));
  }
  return [...nets];
}

/**
 * FIDs computed with different feature networks live in different spaces: when the records hold FIDs of
 * more than one network, the rows are grouped by `classifier` too (so no mean mixes them, and the column
 * says which network each row used), with a warning saying so.
 */
function byFeatureNetwork(records: RunRecord[], by: string[], metrics: string[]): string[] {
  if (by.includes('classifier') || !metrics.some((m) => m.startsWith('fid'))) return by;
  const nets = featureNetworks(records);
  if (nets.length <= 1) return by;
  console.warn(`warning: these records hold FIDs from ${nets.length} feature networks (classifier ${nets.join(', ')}); FIDs of different networks are not comparable, so the table has one row per network (column 'classifier')`);
  return [...by, 'classifier'];
}

/** Mean ± sample std and counts per group, in the order the groups first appear in `records`. */
export function summarise(records: RunRecord[], opts: SummariseOptions): ColumnTable {
  const by = byFeatureNetwork(records, opts.by ?? ['row'], opts.metrics);
  if (!opts.metrics.length) throw new TypeError('summarise: give at least one metric in opts.metrics');
  const order = new Map<string, number>();
  const cols: { [k: string]: unknown[] } = { _order: [] };
  for (const b of by) cols[b] = [];
  for (const m of opts.metrics) cols[`_v_${m}`] = [];
  for (const r of records) {
    const keyVals = by.map((b) => field(r, b));
    const key = JSON.stringify(keyVals);
    if (!order.has(key)) order.set(key, order.size);
    cols._order.push(order.get(key));
    by.forEach((b, i) => cols[b].push(keyVals[i]));
    for (const m of opts.metrics) {
      const v = field(r, m);
      cols[`_v_${m}`].push(typeof v === 'number' && Number.isFinite(v) ? v : null);
    }
  }
  const rollup: { [k: string]: unknown } = { _order: aq.op.min('_order'), n: aq.op.count() };
  for (const m of opts.metrics) {
    rollup[`${m}_mean`] = aq.op.mean(`_v_${m}`);
    rollup[`${m}_std`] = aq.op.stdev(`_v_${m}`);
    rollup[`${m}_n`] = aq.op.valid(`_v_${m}`);
  }
  const t = aq
    .table(cols)
    .groupby(by)
    .rollup(rollup as any)
    .orderby('_order')
    .select(aq.not('_order')) as ColumnTable;
  // arquero leaves undefined for empty groups and single-value std: make missing explicit.
  const fixed = aq.table(
    Object.fromEntries(t.columnNames().map((c) => [c, Array.from(t.array(c) as ArrayLike<unknown>, (v) => (v === undefined ? null : v))])),
  );
  if (opts.digits) tableDigits.set(fixed, { ...opts.digits });
  return fixed;
}

// ---------------------------------------------------------------------------------------------
// Rendering

interface Cell {
  text: string;
  numeric: boolean;
}
interface Rendered {
  headers: string[];
  numeric: boolean[];
  rows: string[][];
}

const MISSING = '—';

function isNum(v: unknown): v is number {
  return typeof v === 'number';
}

/** Decimals that show a spread to one significant digit: 0.4 -> 1, 0.04 -> 2, 3 -> 0. */
function decimalsForSpread(s: number): number {
  return Math.min(6, Math.max(0, -Math.floor(Math.log10(s))));
}

/** Decimals giving about four significant digits for the largest magnitude of a column. */
function decimalsForValues(vals: number[]): number {
  const big = Math.max(...vals.map((v) => Math.abs(v)).filter((v) => Number.isFinite(v) && v > 0), 0);
  if (big === 0) return 0;
  return Math.min(6, Math.max(0, 3 - Math.floor(Math.log10(big))));
}

function fmtNum(v: unknown, d: number): string {
  if (!isNum(v) || Number.isNaN(v)) return MISSING;
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  const s = v.toFixed(d);
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s; // no "-0.0"
}

function fmtOther(v: unknown): string {
  if (v === null || v === undefined) return MISSING;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Renders every cell to text, folding `m_mean`/`m_std`/`m_n` into one `m` column. */
function render(table: ColumnTable, digitsOpt?: Digits): Rendered {
  const digits = { ...(tableDigits.get(table) ?? {}), ...(digitsOpt ?? {}) };
  const names = table.columnNames();
  const nRows = table.numRows();
  const col = (c: string): unknown[] => Array.from(table.array(c) as ArrayLike<unknown>);
  const folded = new Set<string>();
  for (const c of names) {
    if (!c.endsWith('_mean')) continue;
    const base = c.slice(0, -'_mean'.length);
    if (names.includes(`${base}_std`)) {
      folded.add(`${base}_std`);
      if (names.includes(`${base}_n`)) folded.add(`${base}_n`);
    }
  }
  const columns: { header: string; cells: Cell[] }[] = [];
  for (const c of names) {
    if (folded.has(c)) continue;
    const vals = col(c);
    const base = c.endsWith('_mean') ? c.slice(0, -'_mean'.length) : null;
    if (base !== null && folded.has(`${base}_std`)) {
      const std = col(`${base}_std`);
      const valid = names.includes(`${base}_n`) ? col(`${base}_n`) : null;
      const total = names.includes('n') ? col('n') : null;
      const spreads = std.filter((s): s is number => isNum(s) && Number.isFinite(s) && s > 0);
      const d =
        digits[base] ??
        (spreads.length ? Math.max(...spreads.map(decimalsForSpread)) : decimalsForValues(vals.filter(isNum)));
      const cells = vals.map((m, i) => {
        let text = fmtNum(m, d);
        if (text !== MISSING && isNum(std[i]) && !Number.isNaN(std[i])) text += ` ± ${fmtNum(std[i], d)}`;
        const k = valid?.[i];
        const n = total?.[i];
        if (isNum(k) && isNum(n) && k < n && k > 0) text += ` (${k}/${n})`;
        return { text, numeric: true };
      });
      columns.push({ header: base, cells });
      continue;
    }
    const nums = vals.filter(isNum);
    const numeric = nums.length > 0 && vals.every((v) => v === null || v === undefined || isNum(v));
    if (numeric) {
      const allInt = nums.every((v) => Number.isInteger(v));
      const d = digits[c] ?? (allInt ? 0 : decimalsForValues(nums));
      columns.push({ header: c, cells: vals.map((v) => ({ text: fmtNum(v, d), numeric: true })) });
    } else {
      columns.push({ header: c, cells: vals.map((v) => ({ text: fmtOther(v), numeric: false })) });
    }
  }
  const rows: string[][] = [];
  for (let i = 0; i < nRows; i++) rows.push(columns.map((c) => c.cells[i].text));
  return {
    headers: columns.map((c) => c.header),
    numeric: columns.map((c) => c.cells.length > 0 && c.cells.every((x) => x.numeric)),
    rows,
  };
}

function width(s: string): number {
  return [...s].length;
}

function mdEscape(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

export interface MarkdownOptions {
  /** A line above the table (GitHub Markdown has no table captions). */
  caption?: string;
  /** Decimal places per column or metric; overrides those given to `summarise`. */
  digits?: Digits;
}

/** A GitHub-Markdown table, columns padded so the source reads as a table too; missing values as `—`. */
export function toMarkdown(table: ColumnTable, opts: MarkdownOptions = {}): string {
  const r = render(table, opts.digits);
  const headers = r.headers.map(mdEscape);
  const rows = r.rows.map((row) => row.map(mdEscape));
  const w = headers.map((h, j) => Math.max(3, width(h), ...rows.map((row) => width(row[j]))));
  const pad = (s: string, j: number) =>
    r.numeric[j] ? ' '.repeat(w[j] - width(s)) + s : s + ' '.repeat(w[j] - width(s));
  const line = (cells: string[]) => `| ${cells.map(pad).join(' | ')} |`;
  const rule = `| ${w.map((n, j) => (r.numeric[j] ? '-'.repeat(n - 1) + ':' : '-'.repeat(n))).join(' | ')} |`;
  const out = [line(headers), rule, ...rows.map(line)].join('\n') + '\n';
  return opts.caption ? `${opts.caption}\n\n${out}` : out;
}

/**
 * A text cell that a spreadsheet would read as a formula (=, +, -, @, tab or CR first: OWASP's "CSV injection")
 * gets a leading apostrophe, which spreadsheets show as text; numbers (a number value, or text that is one,
 * such as -0.5) are left as they are.
 */
function defuseFormula(s: string, wasNumber: boolean): string {
  if (wasNumber || !/^[=+\-@\t\r]/.test(s)) return s;
  return s.trim() !== '' && Number.isFinite(Number(s)) ? s : `'${s}`;
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) return '';
  const s = defuseFormula(typeof v === 'object' ? JSON.stringify(v) : String(v), typeof v === 'number');
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180 CSV of the raw values (full precision, every column; missing values empty). */
export function toCsv(table: ColumnTable): string {
  const names = table.columnNames();
  const cols = names.map((c) => Array.from(table.array(c) as ArrayLike<unknown>));
  const lines = [names.map(csvCell).join(',')];
  for (let i = 0; i < table.numRows(); i++) lines.push(cols.map((c) => csvCell(c[i])).join(','));
  return lines.join('\n') + '\n';
}

function htmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** An HTML table with the same cells as the Markdown (for notebooks). */
export function toHtml(table: ColumnTable, opts: MarkdownOptions = {}): string {
  const r = render(table, opts.digits);
  const align = (j: number) => (r.numeric[j] ? ' style="text-align:right"' : ' style="text-align:left"');
  const head = r.headers.map((h, j) => `<th${align(j)}>${htmlEscape(h)}</th>`).join('');
  const body = r.rows
    .map((row) => `<tr>${row.map((c, j) => `<td${align(j)}>${htmlEscape(c)}</td>`).join('')}</tr>`)
    .join('\n');
  const caption = opts.caption ? `<caption>${htmlEscape(opts.caption)}</caption>\n` : '';
  return `<table>\n${caption}<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>\n`;
}

/** Writes `<dir>/<name>.md` and `<dir>/<name>.csv` atomically; returns their paths. */
export function writeTable(
  table: ColumnTable,
  dir: string,
  name: string,
  opts: MarkdownOptions = {},
): { md: string; csv: string } {
  const md = writeFileAtomic(path.join(dir, `${name}.md`), toMarkdown(table, opts));
  const csv = writeFileAtomic(path.join(dir, `${name}.csv`), toCsv(table));
  return { md, csv };
}
