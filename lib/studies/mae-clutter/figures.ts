/**
 * The cluttered study's figures, finished for the notebook: sample canvases beside the plain items, and
 * frozen-feature accuracy against α_min with the two baselines as reference lines.
 */
import type { ImageSet } from '../../data';
import { clutteredImages } from '../../data/cluttered';
import { errorBarFigure, imageGridFigure, type FigureSpec, type RunRecord } from '../../report';
import { BASELINE_ROWS } from '../shared/frozen-features';
import { clutterAlphaCurve } from './verdict';
import type { MaeClutterConfig } from './spec';

/** `k` plain test items centred on the canvas, then `2k` cluttered canvases, and a line describing the data. */
export function clutterSampleFigure(config: MaeClutterConfig, test: ImageSet, k = 8): { figure: FigureSpec; line: string; columns: number } {
  const S = config.data.canvas;
  const idx = Int32Array.from({ length: 2 * k }, (_, i) => i);
  const cluttered = clutteredImages(test, 'test', idx, config.data); // [2k, S, S]
  const plain = new Float32Array(k * S * S); // the plain items centred on the same canvas, for scale
  const off = Math.floor((S - 28) / 2);
  for (let i = 0; i < k; i++) for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) plain[i * S * S + (off + y) * S + off + x] = test.images[i * 784 + y * 28 + x];
  const grid = new Float32Array(3 * k * S * S);
  grid.set(plain, 0);
  grid.set(cluttered, k * S * S);
  const titles = ['plain (centred)', 'cluttered', 'cluttered'].flatMap((t) => Array.from({ length: k }, (_, i) => (i === 0 ? t : '')));
  const d = config.data;
  return {
    figure: imageGridFigure(grid, 3 * k, S, S, k, titles),
    line: `canvas ${S}×${S}, ${d.clutter} fragments of ${d.fragment}×${d.fragment}, seed ${d.seed}; patch ${config.model.encoder.patch} → ${(S / config.model.encoder.patch) ** 2} tokens`,
    columns: k,
  };
}

/**
 * kNN and converged-probe accuracy against α_min (the trained rows with skips), with raw pixels and the
 * untrained encoder drawn flat across the α_min axis; null when no trained row of the sweep has finished.
 */
export function clutterAccuracyFigure(records: RunRecord[]): FigureSpec | null {
  if (!clutterAlphaCurve(records, 'knn').x.length) return null;
  const series = (metric: 'knn' | 'lpConverged', label: string) => {
    const cur = clutterAlphaCurve(records, metric);
    const flat = (row: string) => {
      const rs = records.filter((r) => r.row === row && typeof r.metrics[metric] === 'number').map((r) => 100 * (r.metrics[metric] as number));
      const m = rs.reduce((a, b) => a + b, 0) / Math.max(1, rs.length);
      return rs.length && cur.x.length ? [{ name: `${label} · ${row}`, x: cur.x, mean: cur.x.map(() => m), std: cur.x.map(() => 0) }] : [];
    };
    return [{ name: `${label} · MAE (α_min sweep)`, ...cur }, ...flat(BASELINE_ROWS.pixels), ...flat(BASELINE_ROWS.untrained)];
  };
  return errorBarFigure([...series('knn', 'kNN'), ...series('lpConverged', 'LP conv.')], {
    title: 'Cluttered Fashion-MNIST: frozen-feature accuracy vs α_min, with the baselines',
    xTitle: 'α_min (1 = standard residual)',
    yTitle: 'accuracy %',
  });
}
