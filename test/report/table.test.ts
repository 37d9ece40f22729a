import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as aq from 'arquero';
import { runsTable, summarise, toMarkdown, toCsv, toHtml, writeTable } from '../../lib/report/table';
import { ResultsWriteError } from '../../lib/runner/store/runs';
import { makeRecord, tmpDir } from './helpers';

// Three rows; seeds chosen so means and sample stds are exact in binary floating point.
const records = [
  makeRecord({ row: 'decayed α_min=0.6', seed: 0, metrics: { knn: 63.5, lp: 70 }, config: { depth: 4 } }),
  makeRecord({ row: 'residual', seed: 0, metrics: { knn: 60, lp: 1 }, config: { depth: 8 } }),
  makeRecord({ row: 'decayed α_min=0.6', seed: 1, metrics: { knn: 64.5, lp: 72 }, config: { depth: 4 } }),
  makeRecord({ row: 'residual', seed: 1, metrics: { knn: 62, lp: null }, config: { depth: 8 } }),
  makeRecord({ row: 'plain', seed: 0, metrics: { knn: null, lp: 'n/a' }, config: { depth: 8 } }),
  makeRecord({ row: 'residual', seed: 2, metrics: { knn: 64, lp: 3 }, config: { depth: 8 } }),
];

describe('tables', () => {
  test('runsTable: one row per run, metrics flattened in first-seen order', () => {
    const t = runsTable(records);
    assert.deepEqual(t.columnNames(), ['row', 'seed', 'knn', 'lp', 'runId', 'wallTimeSec']);
    assert.equal(t.numRows(), 6);
    assert.deepEqual(Array.from(t.array('knn')), [63.5, 60, 64.5, 62, null, 64]);
    const odd = runsTable([makeRecord({ metrics: { seed: 3, acc: 1 } })]);
    assert.deepEqual(odd.columnNames(), ['row', 'seed', 'metric.seed', 'acc', 'runId', 'wallTimeSec']);
    assert.deepEqual(odd.objects()[0], { row: 'residual', seed: 0, 'metric.seed': 3, acc: 1, runId: 'abc123', wallTimeSec: 1.25 });
  });

  test('summarise: exact mean, sample std and counts, rows in order of first appearance', () => {
    const s = summarise(records, { metrics: ['knn', 'lp'] });
    assert.deepEqual(s.columnNames(), ['row', 'n', 'knn_mean', 'knn_std', 'knn_n', 'lp_mean', 'lp_std', 'lp_n']);
    assert.deepEqual(s.objects(), [
      { row: 'decayed α_min=0.6', n: 2, knn_mean: 64, knn_std: Math.SQRT1_2, knn_n: 2, lp_mean: 71, lp_std: Math.SQRT2, lp_n: 2 },
      { row: 'residual', n: 3, knn_mean: 62, knn_std: 2, knn_n: 3, lp_mean: 2, lp_std: Math.SQRT2, lp_n: 2 },
      { row: 'plain', n: 1, knn_mean: null, knn_std: null, knn_n: 0, lp_mean: null, lp_std: null, lp_n: 0 },
    ]);
  });

  test('summarise by a config field and several keys', () => {
    const s = summarise(records, { by: ['config.depth'], metrics: ['knn'] });
    assert.deepEqual(s.objects(), [
      { 'config.depth': 4, n: 2, knn_mean: 64, knn_std: Math.SQRT1_2, knn_n: 2 },
      { 'config.depth': 8, n: 4, knn_mean: 62, knn_std: 2, knn_n: 3 },
    ]);
    const s2 = summarise(records, { by: ['row', 'seed'], metrics: ['knn'] });
    assert.equal(s2.numRows(), 6);
  });

  test('toMarkdown: paper-ready mean ± std, missing as —, partial counts shown, exact text', () => {
    const s = summarise(records, { metrics: ['knn', 'lp'], digits: { knn: 1 } });
    // knn: 1 decimal as asked; lp: std sqrt(2) -> one significant digit -> 0 decimals.
    assert.equal(
      toMarkdown(s, { caption: 'Table 1: kNN accuracy (%)' }),
      'Table 1: kNN accuracy (%)\n' +
        '\n' +
        '| row               |   n |        knn |          lp |\n' +
        '| ----------------- | --: | ---------: | ----------: |\n' +
        '| decayed α_min=0.6 |   2 | 64.0 ± 0.7 |      71 ± 1 |\n' +
        '| residual          |   3 | 62.0 ± 2.0 | 2 ± 1 (2/3) |\n' +
        '| plain             |   1 |          — |           — |\n',
    );
    // digits given to toMarkdown override those given to summarise.
    assert.match(toMarkdown(s, { digits: { knn: 2, lp: 1 } }), /\| residual {10}\| {3}3 \| 62\.00 ± 2\.00 \| 2\.0 ± 1\.4 \(2\/3\) \|/);
  });

  test('toMarkdown of a tiny table: exact output; digits override; pipes escaped', () => {
    const t = aq.table({ name: ['a|b', 'c'], acc: [63.94, NaN], steps: [100, null], ok: [true, false] });
    assert.equal(
      toMarkdown(t, { digits: { acc: 1 } }),
      '| name |  acc | steps | ok    |\n' +
        '| ---- | ---: | ----: | ----- |\n' +
        '| a\\|b | 63.9 |   100 | true  |\n' +
        '| c    |    — |     — | false |\n',
    );
  });

  test('toCsv: raw values, RFC 4180 quoting, missing empty', () => {
    const t = aq.table({ name: ['a,b', 'say "hi"', 'c'], acc: [0.1 + 0.2, NaN, 3], n: [1, null, 2] });
    assert.equal(toCsv(t), 'name,acc,n\n"a,b",0.30000000000000004,1\n"say ""hi""",,\nc,3,2\n');
  });

  test('toHtml: same cells as Markdown, escaped, caption', () => {
    const t = aq.table({ name: ['<b>'], acc: [63.94] });
    assert.equal(
      toHtml(t, { caption: 'T & U', digits: { acc: 1 } }),
      '<table>\n<caption>T &amp; U</caption>\n' +
        '<thead><tr><th style="text-align:left">name</th><th style="text-align:right">acc</th></tr></thead>\n' +
        '<tbody>\n<tr><td style="text-align:left">&lt;b&gt;</td><td style="text-align:right">63.9</td></tr>\n</tbody>\n</table>\n',
    );
  });

  test('auto digits: one significant digit of the spread', () => {
    const recs = [63.5, 64.3, 63.9].map((k, seed) => makeRecord({ seed, metrics: { knn: k } }));
    const md = toMarkdown(summarise(recs, { metrics: ['knn'] }));
    assert.match(md, /\| residual \| {3}3 \| 63\.9 ± 0\.4 \|/);
  });

  test('toCsv defuses spreadsheet formulas in text cells (issue 31, 17), and leaves numbers alone', () => {
    const t = aq.from([{ row: '=HYPERLINK("http://x","y")', v: -1.5 }, { row: '+1+1', v: 2 }, { row: '@SUM(A1)', v: 0 }, { row: '-0.25', v: 1 }, { row: '−4.4 [−6.0, −2.8]', v: 1 }]);
    const lines = toCsv(t).trim().split('\n');
    assert.equal(lines[1], `"'=HYPERLINK(""http://x"",""y"")",-1.5`);
    assert.equal(lines[2], `'+1+1,2`);
    assert.equal(lines[3], `'@SUM(A1),0`);
    assert.equal(lines[4], '-0.25,1', 'text that is a number stays a number');
    assert.equal(lines[5], '"−4.4 [−6.0, −2.8]",1', 'the unicode minus of our intervals is no formula');
  });

  test('writeTable writes .md and .csv atomically (no temp files left); unwritable dir is a clear error', () => {
    const dir = tmpDir('table');
    const t = summarise(records, { metrics: ['knn'] });
    const out = writeTable(t, path.join(dir, 'mae'), 'table', { caption: 'cap' });
    assert.deepEqual(out, { md: path.join(dir, 'mae', 'table.md'), csv: path.join(dir, 'mae', 'table.csv') });
    assert.equal(fs.readFileSync(out.md, 'utf8'), toMarkdown(t, { caption: 'cap' }));
    assert.equal(fs.readFileSync(out.csv, 'utf8'), toCsv(t));
    writeTable(t, path.join(dir, 'mae'), 'table'); // overwrite in place
    assert.deepEqual(fs.readdirSync(path.join(dir, 'mae')).sort(), ['table.csv', 'table.md']);
    fs.writeFileSync(path.join(dir, 'file'), '');
    assert.throws(
      () => writeTable(t, path.join(dir, 'file', 'sub'), 'table'),
      (e: unknown) => e instanceof ResultsWriteError && /cannot create the results folder .*ENOTDIR/.test((e as Error).message),
    );
    fs.rmSync(dir, { recursive: true });
  });
});
