import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import {
  writeFigure,
  closeFigureBrowser,
  chromiumPath,
  figureHtml,
  lineFigure,
  errorBarFigure,
  heatmapFigure,
  imageGridFigure,
  panelFigure,
} from '../../lib/report/figure';
import { ConfigError } from '../../lib/errors';
import { tmpDir } from './helpers';

const FIGURE_JS = path.resolve(__dirname, '../../lib/report/figure.js');
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const haveChromium = fs.existsSync(chromiumPath());

after(() => closeFigureBrowser());

describe('figure specs', () => {
  test('lineFigure / errorBarFigure / heatmapFigure build plain-array plotly traces', () => {
    const l = lineFigure([{ name: 'residual', x: new Float32Array([0, 10]), y: [1.5, null] }], { title: 'loss', logY: true });
    assert.deepEqual(l.data, [{ type: 'scatter', mode: 'lines', name: 'residual', x: [0, 10], y: [1.5, null] }]);
    assert.equal((l.layout as any).yaxis.type, 'log');
    const e = errorBarFigure([{ name: 'd4', x: [0.2, 0.6], mean: [60, 64], std: [0.5, null] }]);
    assert.deepEqual((e.data[0] as any).error_y, { type: 'data', array: [0.5, 0], visible: true });
    assert.throws(
      () => errorBarFigure([{ name: 'd4', x: [1, 2], mean: [1], std: [1, 2] }]),
      (err: unknown) => err instanceof ConfigError && /equal lengths; got 2, 1, 2/.test((err as Error).message),
    );
    const h = heatmapFigure([[1, 0], [0.5, 0.5]], { showValues: true, x: ['a', 'b'] });
    assert.deepEqual((h.data[0] as any).z, [[1, 0], [0.5, 0.5]]);
    assert.equal((h.data[0] as any).texttemplate, '%{z:.2f}');
  });

  test('imageGridFigure: one heatmap per image, laid out in a grid, bad sizes named', () => {
    const imgs = new Float32Array(5 * 2 * 3).map((_, i) => i);
    const f = imageGridFigure(imgs, 5, 2, 3, 3, ['a', 'b', 'c', 'd', 'e']);
    assert.equal(f.data.length, 5);
    assert.deepEqual((f.data[1] as any).z, [[6, 7, 8], [9, 10, 11]]);
    assert.equal((f.data[4] as any).xaxis, 'x5');
    assert.equal((f.layout as any).annotations.length, 5);
    assert.throws(() => imageGridFigure(imgs, 6, 2, 3, 3), /6 images of 2x3 need 36 values; got 30/);
    assert.throws(() => imageGridFigure(imgs, 5, 2, 3, 0), /cols must be an integer >= 1; got 0/);
  });

  test('panelFigure: panels keep their axes and titles; one colour and one legend entry per series name across panels', () => {
    const a = lineFigure([{ name: 'standard', x: [1, 2], y: [3, 4] }, { name: 'α_min=0.6', x: [1, 2], y: [2, 3] }], { xTitle: 'step', yTitle: 'kNN %' });
    const b = lineFigure([{ name: 'α_min=0.6', x: [1, 2], y: [5, 6] }, { name: 'standard', x: [1, 2], y: [7, 8] }], { xTitle: 'step', yTitle: 'loss', logY: true });
    const f = panelFigure([{ figure: a, title: 'kNN' }, { figure: b }, { figure: heatmapFigure([[1]]) }], { title: 'all' });
    const L = f.layout as any;
    assert.deepEqual(L.grid, { rows: 2, columns: 2, pattern: 'independent', ygap: 0.35, xgap: 0.15 });
    assert.equal(L.yaxis2.type, 'log');
    assert.equal(L.yaxis2.anchor, 'x2');
    assert.equal(L.xaxis.title.text, 'step');
    assert.deepEqual(L.annotations.map((x: any) => x.text), ['kNN']);
    const d = f.data as any[];
    assert.deepEqual(d.map((t) => t.xaxis), ['x', 'x', 'x2', 'x2', 'x3']);
    const colourOf = (name: string) => new Set(d.filter((t) => t.name === name).map((t) => t.line.color));
    assert.equal(colourOf('standard').size, 1);
    assert.equal(colourOf('α_min=0.6').size, 1);
    assert.notDeepEqual([...colourOf('standard')], [...colourOf('α_min=0.6')]);
    assert.deepEqual(d.slice(0, 4).map((t) => t.showlegend), [true, true, false, false]);
    assert.equal(d[4].type, 'heatmap');
    assert.equal(d[4].line, undefined, 'a heatmap gets no line colour');
    const two = panelFigure([{ figure: heatmapFigure([[1]]) }, { figure: heatmapFigure([[2]]) }]).data as any[];
    assert.deepEqual(two.map((t) => t.showscale), [true, false], 'heatmaps share the first colour bar');
    assert.throws(() => panelFigure([]), (e: unknown) => e instanceof ConfigError && /at least one panel; got none/.test((e as Error).message));
    assert.throws(() => panelFigure([{ figure: a }], { columns: 0 }), /columns must be a positive integer; got 0/);
  });

  test('figureHtml is self-contained (plotly inlined, no network) and embeds the spec safely', () => {
    const html = figureHtml(lineFigure([{ name: '</script><b>', x: [1], y: [2] }]), 'f');
    assert.ok(html.length > 1_000_000, 'plotly.js inlined');
    assert.doesNotMatch(html, /<script[^>]+src=/);
    assert.ok(html.includes('"name":"\\u003c/script>\\u003cb>"'));
    assert.equal(html.split('</script>').length - 1, 2); // only our two script tags end
  });
});

describe('writeFigure', () => {
  test('writes HTML, PNG and SVG (PNG signature, SVG root) through headless Chromium', { timeout: 120_000 }, async (t) => {
    if (!haveChromium) {
      t.skip(`Chromium not found at ${chromiumPath()} (apt-get install chromium, or set REPRO_CHROMIUM)`);
      return;
    }
    const dir = tmpDir('fig');
    const spec = errorBarFigure([{ name: 'decayed', x: [0.2, 0.4, 0.6], mean: [60, 62, 64], std: [1, 0.5, 0.2] }], {
      title: 'kNN vs α_min',
    });
    const out = await writeFigure(spec, dir, 'knn', { width: 400, height: 300 });
    assert.equal(out.note, undefined);
    assert.deepEqual(Object.keys(out).sort(), ['html', 'png', 'svg']);
    const png = fs.readFileSync(out.png!);
    assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE);
    // scale 2: an 800 x 600 pixel image (IHDR width/height at bytes 16..24)
    assert.equal(png.readUInt32BE(16), 800);
    assert.equal(png.readUInt32BE(20), 600);
    const svg = fs.readFileSync(out.svg!, 'utf8');
    assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.ok(svg.includes('α_min'));
    // issue 30, 5: the same figure exported again gives the same SVG bytes (plotly's random uid is replaced)
    const again = await writeFigure(spec, tmpDir('fig2'), 'knn', { width: 400, height: 300, formats: ['svg'] });
    assert.equal(fs.readFileSync(again.svg!, 'utf8'), svg);
    const other = await writeFigure(errorBarFigure([{ name: 'other', x: [1], mean: [2], std: [0] }]), tmpDir('fig3'), 'o', { formats: ['svg'] });
    assert.notEqual(/id="defs-([0-9a-f]{6})"/.exec(fs.readFileSync(other.svg!, 'utf8'))![1], /id="defs-([0-9a-f]{6})"/.exec(svg)![1], 'another figure, another uid');
    // The same browser serves a second figure (fast), and html-only skips the browser.
    const t0 = Date.now();
    const out2 = await writeFigure(imageGridFigure(new Float32Array(4 * 4 * 4).fill(0.5), 4, 4, 4, 2), dir, 'grid', {
      formats: ['png'],
    });
    assert.deepEqual(Object.keys(out2), ['png']);
    assert.ok(Date.now() - t0 < 5000, `second figure took ${Date.now() - t0} ms`);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['grid.png', 'knn.html', 'knn.png', 'knn.svg']);
    await assert.rejects(
      writeFigure(spec, dir, 'x', { formats: ['pdf' as any] }),
      /unknown figure format 'pdf'; expected one of html, png, svg/,
    );
    fs.rmSync(dir, { recursive: true });
  });

  test('without Chromium: HTML only, one line saying so, no crash; a process that rendered exits by itself', { timeout: 120_000 }, () => {
    const dir = tmpDir('nochrome');
    const script = `
      const f = require(${JSON.stringify(FIGURE_JS)});
      (async () => {
        const spec = f.lineFigure([{ name: 'a', x: [1, 2], y: [3, 4] }]);
        const a = await f.writeFigure(spec, process.argv[1], 'a');
        const b = await f.writeFigure(spec, process.argv[1], 'b', { formats: ['png'] });
        console.log(JSON.stringify([a, b]));
      })();`;
    const r = spawnSync(process.execPath, ['-e', script, dir], {
      env: { ...process.env, REPRO_CHROMIUM: '/nonexistent/chromium' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.equal(
      lines[0],
      `figures: Chromium not found at /nonexistent/chromium (install Debian's 'chromium' or set REPRO_CHROMIUM); writing interactive HTML only`,
    );
    const [a, b] = JSON.parse(lines[1]);
    assert.deepEqual(Object.keys(a).sort(), ['html', 'note']);
    assert.match(a.note, /^no png\/svg for a: Chromium not found/);
    assert.deepEqual(Object.keys(b).sort(), ['html', 'note']);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['a.html', 'b.html']);

    if (haveChromium) {
      // With Chromium, the shared browser closes itself when idle, so a script ends without help.
      const t0 = Date.now();
      const r2 = spawnSync(process.execPath, ['-e', script, dir], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r2.status, 0, `exit ${r2.status} signal ${r2.signal}: ${r2.stderr}`);
      assert.ok(Date.now() - t0 < 30_000);
      assert.ok(fs.existsSync(path.join(dir, 'b.png')));
    }
    fs.rmSync(dir, { recursive: true });
  });
});
