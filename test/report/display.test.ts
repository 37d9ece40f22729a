import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as aq from 'arquero';
import { closeFigureBrowser, chromiumPath } from '../../lib/report/figure';
import { tmpDir } from './helpers';

const REPORT_JS = path.resolve(__dirname, '../../lib/report/index.js');
const haveChromium = fs.existsSync(chromiumPath());

after(() => closeFigureBrowser());

/** Runs `body` in a fresh node process (display state is per process); returns stdout. */
function runNode(body: string, env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(process.execPath, ['-e', `const R = require(${JSON.stringify(REPORT_JS)});\n${body}`], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
    maxBuffer: 64 << 20, // a figure as HTML carries plotly.js (~5 MB)
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/**
 * Pretends to be a live tslab kernel: tslab's own jupyter module with `lastWriteDisplayData` set,
 * which is what the kernel does before each cell. Prints the display messages as JSON lines.
 */
const FAKE_KERNEL = `
  const jupyter = require('tslab/dist/jupyter.js');
  const shown = [];
  jupyter.lastWriteDisplayData = (msg) =>
    shown.push(Object.keys(msg.metadata).length ? { ...msg.data, _metadata: msg.metadata } : msg.data);
  process.on('exit', () => { for (const d of shown) require('fs').writeSync(1, JSON.stringify(d) + '\\n'); });
`;

describe('display', () => {
  test('plain node: tables print their Markdown, figures one line, Markdown as is', () => {
    const out = runNode(`
      const t = require('arquero').table({ row: ['a'], knn: [63.94] });
      R.showTable(t, { digits: { knn: 1 } });
      R.showMarkdown('**bold**');
      R.showFigure(R.lineFigure([{ name: 'a', x: [1], y: [2] }], { title: 'loss' })).then(() => console.log('done'));
    `);
    assert.equal(out, "| row |  knn |\n| --- | ---: |\n| a   | 63.9 |\n**bold**\n[figure 'loss': 1 trace; shown in notebooks only]\ndone\n");
    assert.equal(require(REPORT_JS).insideTslab(), false);
  });

  test('inside a tslab kernel: a table is ONE display (HTML + Markdown as text/plain); Markdown also as HTML; figure as PNG', { timeout: 120_000 }, () => {
    const dir = tmpDir('display');
    const out = runNode(`${FAKE_KERNEL}
      if (!R.insideTslab()) throw new Error('kernel not detected');
      const t = require('arquero').table({ row: ['a'], knn: [63.94] });
      R.showTable(t, { digits: { knn: 1 }, caption: 'T' });
      R.showMarkdown('**bold** <b>x</b>');
      R.showFigure(R.lineFigure([{ name: 'a', x: [1, 2], y: [2, 3] }]), { dir: ${JSON.stringify(dir)}, name: 'f', formats: ['html'] })
        .then((paths) => { shown.push({ paths }); return R.closeFigureBrowser(); });
    `);
    const lines = out.trim().split('\n');
    // The kernel prints where the figure's files went, relative to its working folder.
    assert.ok(lines.includes(`figure files: ${path.relative(process.cwd(), path.join(dir, 'f.html'))}`), out.slice(0, 300));
    const msgs = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    assert.equal(msgs.length, 4);
    assert.deepEqual(Object.keys(msgs[0]), ['text/html', 'text/plain']);
    assert.match(msgs[0]['text/html'], /^<table>\n<caption>T<\/caption>/);
    assert.ok(msgs[0]['text/html'].includes('<td style="text-align:right">63.9</td>'));
    assert.equal(msgs[0]['text/plain'], 'T\n\n| row |  knn |\n| --- | ---: |\n| a   | 63.9 |\n');
    // Untrusted notebooks skip text/markdown: the HTML form (escaped input) is what they show.
    assert.deepEqual(msgs[1], {
      'text/markdown': '**bold** <b>x</b>',
      'text/html': '<div class="repro-md"><p><strong>bold</strong> &lt;b&gt;x&lt;/b&gt;</p></div>',
      'text/plain': '**bold** <b>x</b>',
    });
    msgs.splice(1, 0, null); // keep the figure checks' indices
    if (haveChromium) {
      assert.deepEqual(Object.keys(msgs[3]), ['image/png', '_metadata']);
      assert.deepEqual(msgs[3]._metadata, { 'image/png': { width: 800 } }); // shown at CSS size, not 2x
      assert.deepEqual(Buffer.from(msgs[3]['image/png'], 'base64').subarray(0, 4), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
      // Only the HTML file was asked for: the PNG rendered for the notebook is not left behind.
      assert.deepEqual(msgs[4], { paths: { html: path.join(dir, 'f.html') } });
    } else {
      assert.deepEqual(Object.keys(msgs[3]), ['text/html']);
    }
    assert.deepEqual(fs.readdirSync(dir), ['f.html']);
    fs.rmSync(dir, { recursive: true });
  });

  test('inside a kernel without Chromium: the figure is interactive HTML with plotly inlined', () => {
    const out = runNode(
      `${FAKE_KERNEL}
      R.showFigure(R.lineFigure([{ name: 'a', x: [1, 2], y: [2, 3] }]));`,
      { REPRO_CHROMIUM: '/nonexistent/chromium' },
    );
    const msgs = out.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(msgs.length, 1);
    const html: string = msgs[0]['text/html'];
    assert.match(html, /^<div id="fig-[a-z0-9]+" style="width:800px;height:500px"><\/div>/);
    assert.ok(html.length > 1_000_000 && html.includes('window.define = undefined'));
  });

  test('showTable prints exactly toMarkdown outside a notebook and returns nothing', () => {
    const { showTable } = require(REPORT_JS);
    const orig = process.stdout.write.bind(process.stdout);
    let printed = '';
    (process.stdout as any).write = (s: string) => ((printed += s), true);
    let ret: unknown;
    try {
      ret = showTable(aq.table({ a: [1] }));
    } finally {
      (process.stdout as any).write = orig;
    }
    assert.equal(ret, undefined);
    assert.equal(printed, '|   a |\n| --: |\n|   1 |\n');
  });
});
