/**
 * The depth-efficiency study's tables and figures, finished for notebook 04 (it only shows them).
 */
import * as aq from 'arquero';
import { errorBarFigure, heatmapFigure, lineFigure, tickLabel, type ColumnTable, type FigureSpec, type RunRecord } from '../../report';
import type { DepthPilotRow } from './search';
import { baselineDepthCheck, depthGapClosed, depthVerdict, type BaselineDepthCheck, type DepthRow } from './analysis';

/** A figure with the file name it is exported under. */
export interface NamedFigure {
  name: string;
  figure: FigureSpec;
}

const f4 = (x: number | null, s: number | null = null) => (x === null ? '–' : `${x.toFixed(4)}${s === null ? '' : ` ± ${s.toFixed(4)}`}`);

/** The depth search: residual test MSE at 16 and 64 layers per pilot teacher setting. */
export function pilotTable(pilots: DepthPilotRow[]): ColumnTable {
  return aq.from(pilots.map((p) => ({
    pilot: p.pilot, runs: `${p.finished}/${p.planned}`, seeds: p.seeds, samples: p.samples,
    'MSE, 16 layers': f4(p.mse16, p.std16), 'MSE, 64 layers': f4(p.mse64, p.std64),
    '64 vs 16': p.change === null ? '–' : `${p.change >= 0 ? '+' : ''}${(100 * p.change).toFixed(1)} %`,
  })));
}

/** The teacher study's table: test MSE mean ± std per (wiring, depth), loss, parameters, step times. */
export function teacherTable(rows: DepthRow[]): ColumnTable {
  return aq.from(rows.map((r) => ({
    wiring: r.wiring, layers: r.layers, blocks: r.blocks, seeds: r.seeds, 'test MSE': f4(r.mseMean, r.mseStd),
    'final train loss': r.lossMean.toFixed(4), params: r.params, 'ms/step': r.msPerStep.toFixed(1), 'cpu ms/step': r.cpuMsPerStep === null ? '' : r.cpuMsPerStep.toFixed(1),
  })));
}

/**
 * Test MSE against depth, one series per wiring, on a log axis whose ticks are exactly the depths run
 * (each labelled with its own value: 16, 32, 64).
 */
export function mseVsDepthFigure(rows: DepthRow[]): FigureSpec {
  const wirings = [...new Set(rows.map((r) => r.wiring))];
  const spec = errorBarFigure(
    wirings.map((w) => {
      const rs = rows.filter((r) => r.wiring === w);
      return { name: w, x: rs.map((r) => r.layers), mean: rs.map((r) => r.mseMean), std: rs.map((r) => r.mseStd ?? 0) };
    }),
    { title: 'Deep-teacher regression: test MSE against depth', xTitle: 'Dense layers (log scale)', yTitle: 'test MSE (standardised)', logX: true },
  );
  const depths = [...new Set(rows.map((r) => r.layers))].sort((a, b) => a - b);
  Object.assign((spec.layout as { xaxis: object }).xaxis, { tickvals: depths, ticktext: depths.map(tickLabel) });
  return spec;
}

/** Test MSE against step for every row at one seed. */
export function mseCurvesFigure(records: RunRecord[], seed: number): FigureSpec {
  return lineFigure(records.filter((r) => r.seed === seed && r.history?.testMse).map((r) => ({ name: r.row, x: r.history!.evalStep, y: r.history!.testMse })), {
    title: `Test MSE against step, seed ${seed}`, xTitle: 'step', yTitle: 'test MSE', logY: true,
  });
}

/** The learned routing matrix of each ANCRe row at one seed. */
export function routingFigures(records: RunRecord[], rows: DepthRow[], seed: number): NamedFigure[] {
  const out: NamedFigure[] = [];
  for (const label of new Set(rows.map((r) => r.wiring).filter((w) => w.startsWith('ancre')))) {
    const r = records.find((x) => x.metrics.wiring === label && x.seed === seed);
    if (!r) continue;
    const p = r.extra!.routing as number[][];
    out.push({
      name: `teacher-routing-${label.replace(/[^a-z0-9.]+/gi, '-')}`,
      figure: heatmapFigure(p, { title: `${r.row}, seed ${seed}: learned routing p[l][i]`, x: p.map((_, i) => `h${i}`), y: p.map((_, l) => `→h${l + 1}`),
        xTitle: 'source h_i', yTitle: 'target h_(l+1)', zmin: 0, zmax: 1, showValues: true }),
    });
  }
  return out;
}

/** The baseline check as a paragraph (or why there is none yet). */
export function baselineText(baseline: BaselineDepthCheck | null): string {
  return baseline ? `**Baseline check.** ${baseline.text}` : 'Fewer than two residual depths have finished runs: no baseline check yet.';
}

/** Each ANCRe row at 16 layers against residual at 64, headed by whether the baseline makes this a test. */
export function ancreDepthVerdicts(rows: DepthRow[], layersPerBlock: number, baseline: BaselineDepthCheck | null): string {
  const shallowBlocks = 16 / layersPerBlock;
  const labels = [...new Set(rows.map((r) => r.wiring).filter((w) => w.startsWith('ancre')))];
  const verdicts = labels.map((label) => {
    const v = depthVerdict(rows, shallowBlocks, 4 * shallowBlocks, label);
    const g = depthGapClosed(rows, label, 16, 64);
    return v ? `- **${label}, 16 vs residual 64 layers.** ${v.text}${g ? ` ${g.text}` : ''}` : `- **${label}**: no 16-layer ANCRe or 64-layer residual runs yet.`;
  });
  const head = baseline?.endGains
    ? '**The residual baseline gains from 16 to 64 layers here (the 95 % interval paired by seed is below 0), so this is a test of the claim:**'
    : '**The baseline does not (yet) gain from 16 to 64 layers by a difference these seeds detect at this setting, so the rows below cannot test the depth-efficiency claim; they are shown for what they are:**';
  return [head, '', ...verdicts].join('\n');
}

/** The first (Fashion-MNIST) study: its table and its verdict paragraph. */
export function fashionStudy(rows: DepthRow[]): { table: ColumnTable; text: string } {
  const pm = (m: number, s: number | null) => `${(100 * m).toFixed(2)}${s === null ? '' : ` ± ${(100 * s).toFixed(2)}`}`;
  const table = aq.from(rows.map((r) => ({ wiring: r.wiring, blocks: r.blocks, seeds: r.seeds, 'test acc. %': pm(r.accMean, r.accStd), 'final train loss': r.lossMean.toFixed(4), params: r.params })));
  const check = baselineDepthCheck(rows);
  const main = depthVerdict(rows, 16, 64, 'ancre τ=0.01');
  return { table, text: [check ? `**Baseline check.** ${check.text}` : '', main ? `**ANCRe τ=0.01, 16 vs residual 64 blocks.** ${main.text}` : ''].join('\n\n') };
}
