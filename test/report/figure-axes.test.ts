import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorBarFigure, heatmapFigure, lineFigure, logTicks, PALETTE, tickLabel } from '../../lib/report/figure';

test('log axes: full-number tick labels, decades over wide ranges, never SI prefixes', () => {
  // Perplexity 150..190: inside one decade, round values with full labels (plotly alone wrote "2, 1000, 9, 8").
  const p = logTicks(150, 190)!;
  assert.ok(p.tickvals.length >= 3 && p.ticktext.every((t) => /^\d+$/.test(t)), JSON.stringify(p));
  // Steps 400..4000: 1-2-5 steps.
  assert.deepEqual(logTicks(400, 4000)!.ticktext, ['200', '500', '1000', '2000', '5000']);
  // A loss ratio 1 .. 1e-18: decades, as powers of ten (plotly alone wrote 1µ 1n 1p 1f).
  const r = logTicks(1e-18, 1)!;
  assert.ok(r.ticktext.every((t) => /^(1|0\.\d+|10⁻[⁰¹²³⁴⁵⁶⁷⁸⁹]+)$/.test(t)), r.ticktext.join(' '));
  assert.ok(r.tickvals.length <= 10);
  assert.equal(tickLabel(0.002), '0.002');
  assert.equal(tickLabel(1e-18), '10⁻¹⁸');
  assert.equal(tickLabel(2.5e9), '2.5×10⁹');
  assert.equal(logTicks(-1, 5), null);
  const f = lineFigure([{ name: 'a', x: [1, 2], y: [1, 1e-12] }], { logY: true });
  const y = (f.layout as any).yaxis;
  assert.equal(y.type, 'log');
  assert.equal(y.tickmode, 'array');
  assert.equal((f.layout as any).xaxis.exponentformat, 'power');
});

test('more than ten traces: no colour repeats within 20, then dashes', () => {
  const series = Array.from({ length: 22 }, (_, i) => ({ name: `s${i}`, x: [1], y: [i] }));
  const f = lineFigure(series);
  assert.deepEqual((f.layout as any).colorway, PALETTE);
  assert.equal(new Set(PALETTE).size, 20);
  assert.equal((f.data[19] as any).line, undefined);
  assert.deepEqual((f.data[20] as any).line, { dash: 'dash' });
  const e = errorBarFigure(series.map((s) => ({ name: s.name, x: [1], mean: [1], std: [0] })), { logX: true });
  assert.deepEqual((e.data[21] as any).line, { dash: 'dash' });
});

test('heatmaps with labels: categorical axes with room for the labels', () => {
  const h = heatmapFigure([[1, 0], [0.5, 0.5]], { x: ['h0', 'h1'], y: [1, 2] });
  assert.deepEqual((h.data[0] as any).y, ['1', '2']);
  assert.equal((h.layout as any).yaxis.type, 'category');
  assert.equal((h.layout as any).yaxis.automargin, true);
  assert.equal((h.layout as any).yaxis.autorange, 'reversed');
});
