/**
 * The MAE sweep's figures and reference tables, finished for the notebook (it only shows them).
 */
import * as aq from 'arquero';
import { errorBarFigure, imageGridFigure, lineFigure, type ColumnTable, type FigureSpec, type RunRecord } from '../../report';
import { alphaSweep, maskedInputs, meanCurves, storedReconstructions } from './analysis';
import { PAPER_A_RESULTS } from './paper';

/** The paper's ImageNet-1K table and its ImageNet-100 linear probes (its numbers, not ours). */
export function paperTables(): ColumnTable[] {
  return [
    aq.from(PAPER_A_RESULTS.imagenet1k.map((r) => ({ 'paper, ImageNet-1K': r.method, 'FT %': r.ft, 'LP %': r.lp, 'kNN %': r.knn }))),
    aq.from(PAPER_A_RESULTS.imagenet100Lp.map((r) => ({ 'paper, ImageNet-100 (as reported)': r.variant, 'LP %': r.lp }))),
  ];
}

/** kNN and linear probe against α_min (rows with skips; error bars: std over seeds). */
export function accuracyVsAlphaFigure(records: RunRecord[]): FigureSpec {
  const knn = alphaSweep(records, 'knn');
  const lp = alphaSweep(records, 'linearProbe');
  return errorBarFigure(
    [
      { name: 'kNN (k=20, T=0.07)', x: knn.alphaMin, mean: knn.mean, std: knn.std },
      { name: 'linear probe', x: lp.alphaMin, mean: lp.mean, std: lp.std },
    ],
    { title: 'Frozen-feature accuracy vs α_min (Fashion-MNIST test)', xTitle: 'α_min (1 = standard residual)', yTitle: 'accuracy %' },
  );
}

/** The masked-patch training loss of every row, mean over seeds. */
export function lossFigure(records: RunRecord[]): FigureSpec {
  return lineFigure(meanCurves(records, 'step', 'loss'), { title: 'MAE training loss (masked patches)', xTitle: 'step', yTitle: 'normalised-pixel MSE' });
}

/**
 * Originals, masked inputs and the stored reconstructions of two rows (the first seed's run of each), as one
 * image grid, with a line giving their masked loss; null when the records hold no reconstructions.
 */
export function reconstructionFigure(
  records: RunRecord[],
  testImages: Float32Array,
  rows: [string, string] = ['α_min=1.0 (standard)', 'α_min=0.6'],
  labels: [string, string] = ['standard', 'α_min=0.6'],
): { figure: FigureSpec; line: string; columns: number } | null {
  const a = storedReconstructions(records, rows[0]);
  const b = storedReconstructions(records, rows[1]);
  if (!a || !b) return null;
  const k = a.n;
  const hw = a.height * a.width;
  const grid = new Float32Array(4 * k * hw);
  grid.set(testImages.subarray(0, k * hw), 0);
  grid.set(maskedInputs(testImages, a), k * hw);
  const clip = (v: number) => Math.min(1, Math.max(0, v)); // predictions may overshoot [0, 1]; one grey scale for all rows
  grid.set(Float32Array.from(a.images, clip), 2 * k * hw);
  grid.set(Float32Array.from(b.images, clip), 3 * k * hw);
  const titles = ['original', 'masked', ...labels].flatMap((t) => Array.from({ length: k }, (_, i) => (i === 0 ? t : '')));
  return {
    figure: imageGridFigure(grid, 4 * k, a.height, a.width, k, titles),
    line: `masked loss on these images: ${labels[0]} ${a.loss.toFixed(4)}, ${labels[1]} ${b.loss.toFixed(4)}`,
    columns: k,
  };
}
