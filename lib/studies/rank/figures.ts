/**
 * The rank analysis' tables and figures, finished for notebook 02 (it only shows them): effective rank
 * per encoder block, rank against kNN / linear probe (Spearman), and rank during training.
 */
import * as aq from 'arquero';
import { heatmapFigure, lineFigure, summarise, type ColumnTable, type FigureSpec, type RunRecord } from '../../report';
import { meanCurves } from '../mae-sweep/analysis';
import { blockErankByRow, blockErankRecords, rankCorrelations, rankPoints } from './analysis';

/** A figure with the file name it is exported under. */
export interface NamedFigure {
  name: string;
  figure: FigureSpec;
}

/** Effective rank of each encoder block's output, mean ± std over seeds; null when no record holds it. */
export function blockErankTable(records: RunRecord[], depth: number): ColumnTable | null {
  const rs = blockErankRecords(records);
  if (!rs.length) return null;
  const metrics = Array.from({ length: depth }, (_, l) => `block${l + 1}`);
  return summarise(rs, { metrics, digits: Object.fromEntries(metrics.map((m) => [m, 2])) });
}

/** The same as a heatmap: rows × blocks. */
export function blockErankFigure(records: RunRecord[], depth: number, title = 'Effective rank per encoder block'): FigureSpec {
  const byRow = blockErankByRow(records);
  return heatmapFigure(byRow.erank, { x: Array.from({ length: depth }, (_, l) => `block ${l + 1}`), y: byRow.rows, title, showValues: true, valueDigits: 1 });
}

/**
 * Spearman ρ of the final features' effective rank with kNN and LP over the trained runs, and over the
 * α_min sweep with skips only (`sweepOnly`, for the plain study): the table and the all-runs numbers.
 */
export function rankCorrelationTable(records: RunRecord[], opts: { label?: string; sweepOnly?: boolean; lpColumn?: string } = {}): { table: ColumnTable; all: { n: number; knn: number | null; linearProbe: number | null } } {
  const points = rankPoints(records);
  const all = rankCorrelations(points);
  const lp = opts.lpColumn ?? 'ρ(erank, LP)';
  const rows = [{ runs: opts.label ?? 'all rows', n: all.n, 'ρ(erank, kNN)': all.knn, [lp]: all.linearProbe }];
  if (opts.sweepOnly) {
    const s = rankCorrelations(points.filter((p) => p.alphaMin !== null && p.skips));
    rows.push({ runs: 'α_min sweep with skips', n: s.n, 'ρ(erank, kNN)': s.knn, [lp]: s.linearProbe });
  }
  return { table: aq.from(rows), all };
}

/** ρ with 2 decimals, 'undefined' where lib/stats' spearman is null (as the rank verdict writes it). */
const rho = (r: number | null) => (r === null ? 'undefined' : r.toFixed(2));

/** kNN and linear probe against the final features' effective rank, one point per run, one colour per row. */
export function rankScatterFigures(records: RunRecord[]): NamedFigure[] {
  const points = rankPoints(records);
  const all = rankCorrelations(points);
  const rows = [...new Set(points.map((p) => p.row))];
  const scatter = (metric: 'knn' | 'linearProbe', title: string): FigureSpec => {
    const series = rows.map((row) => {
      const ps = points.filter((p) => p.row === row);
      return { name: row, x: ps.map((p) => p.erank), y: ps.map((p) => p[metric]) };
    });
    // lineFigure gives the palette (colour per row, dashes past it) and the axes; the traces become markers
    const fig = lineFigure(series, { title, xTitle: 'effective rank of the final features', yTitle: `${metric === 'knn' ? 'kNN' : 'linear probe'} %` });
    for (const d of fig.data as { mode?: string; marker?: object }[]) {
      d.mode = 'markers';
      d.marker = { size: 9 };
    }
    return fig;
  };
  return [
    { name: 'erank-vs-knn', figure: scatter('knn', `kNN vs effective rank (Spearman ρ = ${rho(all.knn)})`) },
    { name: 'erank-vs-lp', figure: scatter('linearProbe', `Linear probe vs effective rank (Spearman ρ = ${rho(all.linearProbe)})`) },
  ];
}

/** The final features' effective rank during training (mean over seeds) for `rows` (all when omitted), and one line per row. */
export function rankOverTrainingFigure(records: RunRecord[], title: string, rows?: string[]): { figure: FigureSpec; lines: string[] } | null {
  const curves = meanCurves(records, 'rankStep', 'erank').filter((s) => !rows || rows.includes(s.name));
  if (!curves.length) return null;
  return {
    figure: lineFigure(curves, { title, xTitle: 'step', yTitle: 'effective rank' }),
    lines: curves.map((s) => `${s.name}: ${s.x.map((x, i) => `step ${x}: ${s.y[i].toFixed(2)}`).join(', ')}`),
  };
}
