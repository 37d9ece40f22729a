/**
 * The language-model study's tables and figures, finished for notebook 03 (it only shows them): each
 * function turns the analyses of ./analysis and ./sweep into table rows or figure specs.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as aq from 'arquero';
import { BpeTokenizer } from '../../data/tokenizer';
import { llamaParamCount, LLAMA_PRESETS, LLAMA_PRESET_NAMES } from '../../models/llama';
import { REPO_ROOT } from '../../paths';
import { errorBarFigure, heatmapFigure, lineFigure, panelFigure, readRuns, type ColumnTable, type FigureSpec, type RunRecord } from '../../report';
import { convergenceTable, meanCurves, overheadTable, perplexityTable, timeStepsBackToBack, type LmRecord } from './analysis';
import { PAPER_C4_PERPLEXITY } from './paper';
import type { AncreLmConfig } from './spec';
import { lrSweepSeries, recipeOf, routingEvolutionSeries, type DepthEfficiencyRow, type OwnBestRow } from './sweep';
import { corpusTokenizer } from './tokens';
import { comparePerplexity } from './stats';
import { diffCell, mddCell, pCell } from '../shared/paired';

/** A figure with the file name it is exported under. */
export interface NamedFigure {
  name: string;
  figure: FigureSpec;
}

const slug = (s: string) => s.replace(/[^A-Za-z0-9]+/g, '-');

/** The residual model's final perplexity against peak lr, one series per depth. */
export function lrSweepFigure(records: LmRecord[]): FigureSpec {
  return errorBarFigure(lrSweepSeries(records), { title: 'Residual baseline: final validation perplexity against peak lr', xTitle: 'peak lr', yTitle: 'perplexity', logX: true });
}

/** One row per run of a pilot: batch, final validation perplexity, epochs, final train loss. */
export function pilotRunsTable(records: RunRecord[]): ColumnTable {
  return aq.from(records.map((r) => ({
    run: r.row,
    seed: r.seed,
    batch: (r.config as { batch: number }).batch,
    'val perplexity': (r.metrics.valPerplexity as number).toFixed(1),
    epochs: (r.metrics.epochs as number).toFixed(2),
    'final train loss': (r.metrics.finalTrainLoss as number).toFixed(3),
  })));
}

/** The paper preset's LLaMA sizes with their parameter counts and ANCRe's overhead. */
export function llamaPresetTable(): ColumnTable {
  return aq.from(LLAMA_PRESET_NAMES.map((name) => {
    const c = LLAMA_PRESETS[name];
    const n = llamaParamCount(c);
    const a = llamaParamCount({ ...c, wiring: { kind: 'ancre' } });
    return { model: name, layers: c.depth, width: c.width, ffn: c.mlpHidden, heads: c.heads, params: `${(n.total / 1e6).toFixed(2)}M`,
      'non-embedding': `${(n.layers / 1e6).toFixed(2)}M`, 'ANCRe scalars': a.wiring, 'ANCRe overhead': `${(100 * a.wiring / n.total).toExponential(1)}%` };
  }));
}

/** How the corpus tokenizer cuts a sample sentence (two lines). */
export async function tokenizerSample(config: AncreLmConfig, sample = 'The Fulton County Grand Jury said Friday an investigation of recent primary elections produced no evidence.'): Promise<string[]> {
  const tok = corpusTokenizer(config);
  if (tok instanceof BpeTokenizer) {
    const [ids] = await tok.encodeEach([sample]);
    return [`tokenizer: ${tok.file ? path.relative(REPO_ROOT, tok.file) : '(not saved)'} (${tok.vocabSize} tokens)`, `${sample.length} characters -> ${ids.length} tokens: ${Array.from(ids, (i) => tok.vocab.tokens[i]).join(' | ')}`];
  }
  const ids = await tok.encodeDocs([{ text: sample }]); // a pretrained tokenizer.json (the paper preset's T5)
  return [`tokenizer: ${config.tokenizerFile}; ${sample.length} characters -> ${ids.length} tokens (with </s>)`];
}

/** Paper B, Table 1 (C4 validation perplexity; the paper's numbers) with the differences. */
export function paperPerplexityTable(): ColumnTable {
  return aq.from(PAPER_C4_PERPLEXITY.map((r) => ({ model: r.model, 'full-rank': r.fullRank, '+ ANCRe': r.ancre, 'Δ': (r.ancre - r.fullRank).toFixed(2), 'Δ %': `${(100 * (r.ancre / r.fullRank - 1)).toFixed(1)}%` })));
}

/** Steps each wiring needs to reach the residual model's final perplexity; null when no wiring but residual has runs. */
export function convergenceRows(records: LmRecord[]): ColumnTable | null {
  const conv = convergenceTable(records);
  if (!conv.length) return null;
  return aq.from(conv.map((r) => ({ depth: r.depth, wiring: r.wiring, 'steps to baseline final': r.steps === null ? 'never' : r.steps.toFixed(0),
    'fewer steps': r.fewer === null ? '–' : `${(100 * r.fewer).toFixed(1)}%`, 'seeds reaching it': r.reached })));
}

/** Parameters and run-average step time of every wiring against residual. */
export function overheadRows(records: LmRecord[]): ColumnTable {
  return aq.from(overheadTable(records).map((r) => ({ depth: r.depth, wiring: r.wiring, params: r.params, 'extra params': `${(100 * r.extraParams).toFixed(3)}%`,
    'ms/step': r.msPerStep, 'extra time': `${(100 * r.extraTime).toFixed(0)}%` })));
}

/** Residual and ANCRe-incoming timed back to back in this process: a table and a one-line summary. */
export function backToBackTiming(config: AncreLmConfig, steps: number): { table: ColumnTable; line: string } {
  const timing = timeStepsBackToBack(config, ['residual', 'ancre-in'], steps);
  const extra = (t: (typeof timing)[number]) => 100 * (t.ms['ancre-in'] / t.ms['residual'] - 1);
  return {
    table: aq.from(timing.map((t) => ({ depth: t.depth, 'residual ms/step': t.ms['residual'].toFixed(1), 'ancre-in ms/step': t.ms['ancre-in'].toFixed(1), 'extra time': `${extra(t).toFixed(1)}%` }))),
    line: timing.map((t) => `${extra(t).toFixed(0)}% at ${t.depth} layers`).join(', '),
  };
}

/** The depths present in the records, ascending. */
export function depthsOf(records: LmRecord[]): number[] {
  return [...new Set(records.map((r) => r.metrics.depth as number))].sort((a, b) => a - b);
}

/**
 * Validation perplexity against step, one figure per depth (mean over seeds): the whole run on a log axis beside
 * its second half on a linear one, where the 1–3 point gaps between the wirings are visible (a log axis over the
 * whole run flattens them).
 */
export function perplexityCurveFigures(records: LmRecord[]): NamedFigure[] {
  return depthsOf(records).map((d) => {
    const series = meanCurves(records, d);
    const last = Math.max(0, ...series.flatMap((c) => Array.from(c.x)));
    const half = series.map((c) => {
      const keep = Array.from(c.x, (x, i) => (x >= last / 2 ? i : -1)).filter((i) => i >= 0);
      return { name: c.name, x: keep.map((i) => c.x[i]), y: keep.map((i) => c.y[i]) };
    });
    return {
      name: `val-perplexity-d${d}`,
      figure: panelFigure(
        [
          { figure: lineFigure(series, { xTitle: 'step', yTitle: 'perplexity (log)', logY: true }), title: 'whole run (log axis)' },
          { figure: lineFigure(half, { xTitle: 'step', yTitle: 'perplexity' }), title: 'second half (linear axis)' },
        ],
        { title: `Validation perplexity, ${d} layers (mean over seeds)` },
      ),
    };
  });
}

/** The final routing matrix p[l][i] of every ANCRe row at every depth (the first seed's run). */
export function routingFigures(records: LmRecord[], config: AncreLmConfig): NamedFigure[] {
  const out: NamedFigure[] = [];
  for (const label of config.wirings.map((w) => w.label).filter((l) => l.startsWith('ancre'))) {
    for (const d of depthsOf(records)) {
      const r = records.find((x) => x.metrics.depth === d && x.metrics.wiring === label && x.seed === config.seeds[0]);
      if (!r) continue;
      const p = r.extra!.coefficients as number[][];
      out.push({
        name: `routing-${slug(label)}-d${d}`,
        figure: heatmapFigure(p, { title: `${label}, ${d} layers: p[l][i]`, xTitle: 'source i (0 = embeddings)', yTitle: 'target l + 1',
          x: p.map((_, i) => i), y: p.map((_, l) => l + 1), zmin: 0, zmax: 1, showValues: d <= 8, valueDigits: 2 }),
      });
    }
  }
  return out;
}

/**
 * Every routing matrix of `routingFigures` in one figure, a row per ANCRe wiring and a column per depth (one
 * colour bar): what notebook 03 shows instead of nine separate heatmaps; null when there is none.
 */
export function routingPanelFigure(records: LmRecord[], config: AncreLmConfig): { figure: FigureSpec; rows: number; columns: number } | null {
  const figs = routingFigures(records, config);
  if (!figs.length) return null;
  const columns = Math.min(depthsOf(records).length, figs.length);
  return { figure: panelFigure(figs.map((f) => ({ figure: f.figure })), { columns, title: 'ANCRe routing weights p[l][i] at the end of training (first seed)' }), rows: Math.ceil(figs.length / columns), columns };
}

/** The routing weights against step for each ANCRe-incoming row at the deepest depth (first seed); and what has no log yet. */
export function routingEvolutionFigures(records: LmRecord[], config: AncreLmConfig): { figures: NamedFigure[]; missing: string[] } {
  const depths = depthsOf(records);
  const dMax = depths[depths.length - 1];
  const figures: NamedFigure[] = [];
  const missing: string[] = [];
  for (const label of config.wirings.map((w) => w.label).filter((l) => l.startsWith('ancre-in'))) {
    const r = records.find((x) => x.metrics.depth === dMax && x.metrics.wiring === label && x.seed === config.seeds[0]);
    const series = r ? routingEvolutionSeries(r) : [];
    if (!series.length) missing.push(`${label}, ${dMax} layers: no routing log yet`);
    else figures.push({ name: `routing-evolution-${slug(label)}-d${dMax}`, figure: lineFigure(series, { title: `${label}, ${dMax} layers: routing weights against step`, xTitle: 'step', yTitle: 'p[l][i]' }) });
  }
  return { figures, missing };
}

/** Each wiring at its own best peak lr. */
export function ownBestRows(ownBest: OwnBestRow[]): ColumnTable {
  return aq.from(ownBest.map((r) => ({ depth: r.depth, wiring: r.wiring, 'best lr': r.lr, perplexity: `${r.mean.toFixed(1)}${Number.isFinite(r.std) ? ` ± ${r.std.toFixed(1)}` : ''}`, seeds: r.seeds, 'lrs tried': r.tried.join(', ') })));
}

/** Each wiring at L layers against residual at 2L; null when no such pair has finished runs. */
export function depthEfficiencyRows(efficiency: DepthEfficiencyRow[]): ColumnTable | null {
  if (!efficiency.length) return null;
  return aq.from(efficiency.map((r) => ({ layers: r.depth, wiring: r.wiring, perplexity: r.ppl, 'residual at 2L': r.residualDeeper, 'L − 2L residual (paired by seed)': r.paired, 'verdict': r.word ?? '–' })));
}

/** The first study's records (project recipe, trained over one epoch) from a results folder's runs.jsonl. */
export function firstStudyRecords(runsDir: string): LmRecord[] {
  const file = path.join(runsDir, 'runs.jsonl');
  return fs.existsSync(file) ? readRuns(file).records.filter((r) => recipeOf(r) === 'project' && (r.metrics.epochs as number) > 1) : [];
}

/** The perplexity table as a ColumnTable. */
export function perplexityRows(records: LmRecord[]): ColumnTable {
  return aq.from(perplexityTable(records));
}

/** Any list of table rows (the lr-sweep table, …) as a ColumnTable for showTable / writeTable. */
export function tableOf(rows: object[]): ColumnTable {
  return aq.from(rows);
}

/**
 * Every wiring against `reference` (residual, or constant-average for learned-vs-uniform) at each depth:
 * final validation perplexity, the difference paired by seed with its 95 % interval, p, seeds, the smallest
 * difference those seeds detect, and lib/stats' word.
 */
export function pairedPerplexityTable(records: LmRecord[], reference = 'residual', wirings?: string[]): ColumnTable {
  const rows: { [k: string]: string | number }[] = [];
  for (const depth of depthsOf(records)) {
    const labels = wirings ?? [...new Set(records.filter((r) => r.metrics.depth === depth).map((r) => String(r.metrics.wiring)))];
    for (const wiring of labels) {
      if (wiring === reference) continue;
      const c = comparePerplexity(records, { depth, wiring }, { depth, wiring: reference });
      rows.push({ depth, wiring, [`Δ vs ${reference} [95 % CI]`]: diffCell(c, 2), p: pCell(c), seeds: c.n, 'smallest detectable': mddCell(c, 2), word: c.word });
    }
  }
  return aq.from(rows);
}
