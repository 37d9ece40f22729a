/**
 * Every committed figure (results/**\/figures/*.html): where an axis spells out its tick labels, each label
 * is its tick's own value. Notebook 04 once exported `tickvals [16, 32, 64]` with the library's labels
 * `["20", "40", "60", "80"]`: a figure that gives wrong numbers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { REPO_ROOT } from '../../lib/paths';
import { lineFigure, tickLabel } from '../../lib/report';

const SUP: Record<string, string> = { '⁻': '-', '⁰': '0', '¹': '1', '²': '2', '³': '3', '⁴': '4', '⁵': '5', '⁶': '6', '⁷': '7', '⁸': '8', '⁹': '9' };

/** The number a tick label names: `0.002`, `2000`, `10⁻¹⁸`, `2.5×10⁻⁹`. */
function labelValue(s: string): number {
  const m = /^(?:([\d.]+)×)?10([⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)$/.exec(s);
  if (m) return (m[1] ? Number(m[1]) : 1) * 10 ** Number([...m[2]].map((c) => SUP[c]).join(''));
  return Number(s.replace('−', '-'));
}

function figureFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory() && !['checkpoints', 'records', 'claims'].includes(e.name)) out.push(...figureFiles(p));
    else if (e.isFile() && e.name.endsWith('.html') && dir.endsWith(`${path.sep}figures`)) out.push(p);
  }
  return out;
}

test('tickLabel round-trips through the parser this test uses', () => {
  for (const v of [0.001, 16, 2000, 1e-18, 2.5e-9, 0.05]) assert.ok(Math.abs(labelValue(tickLabel(v)) / v - 1) < 1e-9, `${v} → ${tickLabel(v)}`);
  const f = lineFigure([{ name: 's', x: [16, 32, 64], y: [1e-3, 1e-2, 1e-1] }], { logX: true, logY: true });
  const axes = f.layout as { xaxis: { tickvals?: number[]; ticktext?: string[] }; yaxis: { tickvals?: number[]; ticktext?: string[] } };
  for (const a of [axes.xaxis, axes.yaxis]) if (a.ticktext) assert.deepEqual(a.ticktext.map(labelValue).map((x, i) => Math.abs(x / a.tickvals![i] - 1) < 1e-6), a.ticktext.map(() => true));
});

test('every committed figure labels each tick with its own value', () => {
  const files = figureFiles(path.join(REPO_ROOT, 'results'));
  assert.ok(files.length >= 20, `expected the committed figures; found ${files.length}`);
  let axes = 0;
  const wrong: string[] = [];
  for (const f of files) {
    const html = fs.readFileSync(f, 'utf8');
    for (const m of html.matchAll(/"tickvals":(\[[^\]]*\]),"ticktext":(\[[^\]]*\])/g)) {
      axes++;
      const vals = JSON.parse(m[1]) as number[];
      const text = JSON.parse(m[2]) as string[];
      if (vals.length !== text.length) wrong.push(`${path.relative(REPO_ROOT, f)}: ${vals.length} ticks, ${text.length} labels`);
      else vals.forEach((v, i) => {
        const x = labelValue(text[i]);
        if (!(Math.abs(x - v) <= 1e-6 * Math.max(Math.abs(v), 1e-300))) wrong.push(`${path.relative(REPO_ROOT, f)}: tick ${v} labelled '${text[i]}'`);
      });
    }
  }
  assert.ok(axes >= 5, `expected axes with explicit labels; found ${axes}`);
  assert.deepEqual(wrong, []);
});
