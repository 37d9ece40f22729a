/**
 * The figures of `mae-long`: the rows' curves along training (kNN, converged probe, effective rank and the
 * held-out reconstruction loss against step, mean ± std over seeds, with raw pixels and the untrained
 * encoder as flat references), and frozen-feature accuracy against the held-out loss, one line per run.
 */
import { errorBarFigure, lineFigure, panelFigure, type FigureSpec, type RunRecord } from '../../report';
import { BASELINE_ROWS } from '../shared/frozen-features';
import { baselineValue, CURVE_METRICS, curveRows, meanCurve, runCurves, type CurveMetric } from './analysis';

const label = (m: CurveMetric) => CURVE_METRICS.find((x) => x.key === m)!.label;

/** kNN, converged LP, effective rank and held-out loss against step; null before any curve exists. */
export function longCurvesFigure(records: RunRecord[]): FigureSpec | null {
  const curves = runCurves(records);
  if (!curves.length) return null;
  const rows = curveRows(curves);
  const lastStep = Math.max(...curves.flatMap((c) => c.step));
  const panel = (metric: CurveMetric, baselines: string[]) => {
    const series = rows.map((row) => {
      const c = meanCurve(curves, row, metric);
      return { name: `${row} (${c.n} seed${c.n === 1 ? '' : 's'})`, x: c.step, mean: c.mean, std: c.std };
    });
    for (const b of baselines) {
      const v = baselineValue(records, b, metric);
      if (v !== null) series.push({ name: b, x: [0, lastStep], mean: [v, v], std: [0, 0] });
    }
    return { figure: errorBarFigure(series, { xTitle: 'training step', yTitle: label(metric) }), title: `${label(metric)} vs step` };
  };
  const both = [BASELINE_ROWS.pixels, BASELINE_ROWS.untrained];
  return panelFigure(
    [panel('knn', both), panel('lpConverged', both), panel('erank', []), panel('evalLoss', [BASELINE_ROWS.untrained])],
    { title: 'Cluttered MAE along training (baselines flat; the untrained encoder\'s held-out loss = predicting zero)' },
  );
}

/** kNN and converged LP against the held-out loss (falling to the right), one line per run; null before any curve. */
export function accuracyVsLossFigure(records: RunRecord[]): FigureSpec | null {
  const curves = runCurves(records);
  if (!curves.length) return null;
  const rows = curveRows(curves);
  const ordered = rows.flatMap((row) => curves.filter((c) => c.row === row));
  const panel = (metric: CurveMetric) => {
    const f = lineFigure(ordered.map((c) => ({ name: c.row, x: c.values.evalLoss, y: c.values[metric] })), { xTitle: 'held-out reconstruction loss', yTitle: label(metric) });
    const layout = f.layout as { xaxis: object };
    layout.xaxis = { ...layout.xaxis, autorange: 'reversed' };
    f.data = f.data.map((t) => ({ ...t, mode: 'lines+markers' }));
    return { figure: f, title: `${label(metric)} vs held-out loss (one line per seed)` };
  };
  return panelFigure([panel('knn'), panel('lpConverged')], { title: 'Accuracy at equal reconstruction loss' });
}

/** The final features' effective rank against step, mean ± std over seeds per row (notebook 02); null before any curve. */
export function longRankFigure(records: RunRecord[]): FigureSpec | null {
  const curves = runCurves(records);
  if (!curves.length) return null;
  return errorBarFigure(
    curveRows(curves).map((row) => {
      const c = meanCurve(curves, row, 'erank');
      return { name: `${row} (${c.n} seed${c.n === 1 ? '' : 's'})`, x: c.step, mean: c.mean, std: c.std };
    }),
    { title: 'Effective rank of the final features along the long runs (cluttered, mae-long)', xTitle: 'training step', yTitle: 'effective rank' },
  );
}
