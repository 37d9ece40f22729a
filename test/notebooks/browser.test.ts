/**
 * The notebooks as a researcher uses them: Jupyter Notebook on 127.0.0.1 (a throwaway token, fresh
 * Jupyter config/data folders, so nothing is trusted), and headless Chromium through playwright-core.
 *
 * First the COMMITTED notebook 05 as saved: a byte-for-byte copy under a temporary name inside the
 * checkout (so nothing autosaves over the reference), opened without running anything: it must be
 * untrusted, its saved verdict text visible and each table shown once.
 * Then notebook 05 executed on the smoke preset into a temporary copy, opened untrusted the same way, and,
 * as a user would: the config cell is edited to an override typed in by hand and run; a cell draws a
 * figure and starts a training run, Kernel > Interrupt is clicked, and the kernel must survive (a later
 * cell runs) and the run's workers must stop. Screenshots go to a temporary folder (printed).
 *
 * A second test opens exported figure HTML copied out of the results folder, offline, from file://.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, ChildProcess } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { checkoutKernelPath, executeNotebook, findJupyterPython, notebookErrors } from '../../lib/jupyter';
import { REPO_ROOT } from '../../lib/paths';
import { chromiumPath, lineFigure, writeFigure } from '../../lib/report/figure';

const NOTEBOOK = '05-linear-theory.ipynb';
const haveChromium = fs.existsSync(chromiumPath());

/* eslint-disable @typescript-eslint/no-explicit-any */
type Page = any;

async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, ms: number, every = 250): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn().catch((e) => ((e as { fatal?: boolean })?.fatal ? Promise.reject(e) : null));
    if (v) return v as T;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Worker processes of the experiment runner whose environment names `results` (this test's runs only). */
function workersUsing(results: string): number[] {
  const pids: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (!cmd.includes('runner/worker.js')) continue;
      if (fs.readFileSync(`/proc/${d}/environ`, 'utf8').split('\0').includes(`REPRO_RESULTS=${results}`)) pids.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Runs code cell `i` (index among all cells) and waits until its prompt shows a number again. */
async function runCell(page: Page, i: number, ms: number): Promise<void> {
  await page.evaluate((k: number) => {
    const nb = (window as any).Jupyter.notebook;
    nb.select(k);
    nb.execute_cells([k]);
  }, i);
  await waitFor(`cell ${i} to finish`, () =>
    page.evaluate((k: number) => {
      const c = (window as any).Jupyter.notebook.get_cell(k);
      return c.input_prompt_number !== '*' && c.input_prompt_number !== undefined && c.input_prompt_number !== null;
    }, i), ms);
}

/** The visible text of cell `i`'s outputs. */
function outputText(page: Page, i: number): Promise<string> {
  return page.evaluate((k: number) => {
    const c = (window as any).Jupyter.notebook.get_cell(k);
    return (c.element[0].querySelector('.output_wrapper') as HTMLElement | null)?.innerText ?? '';
  }, i);
}

/** Code cells' types and sources, as the page holds them. */
function pageCells(page: Page): Promise<{ type: string; src: string }[]> {
  return page.evaluate(() => (window as any).Jupyter.notebook.get_cells().map((c: any) => ({ type: c.cell_type, src: c.get_text() })));
}

/** Opens `file` (relative to the server's folder) and waits for the notebook and an idle kernel. */
async function openNotebook(page: Page, base: string, token: string, file: string): Promise<void> {
  await page.goto(`${base}/notebooks/${encodeURIComponent(file)}?token=${token}`);
  await waitFor(`${file} and its kernel`, () =>
    page.evaluate(() => {
      const J = (window as any).Jupyter;
      return J?.notebook?._fully_loaded && J.notebook.kernel?.is_connected() && document.querySelector('#kernel_indicator_icon.kernel_idle_icon');
    }), 90_000, 500);
}

/**
 * The untrusted view of an open notebook: not trusted, `verdictWords` visible in the verdict cell's
 * output, and each `showTable` call shown as one HTML table (no Markdown copy beside it).
 */
async function checkUntrustedView(page: Page, what: string, verdictWords: string, consoleLines: string[]): Promise<void> {
  assert.equal(await page.evaluate(() => (window as any).Jupyter.notebook.trusted), false, `${what} opens untrusted`);
  const cells = await pageCells(page);
  const verdictCell = cells.findIndex((c) => c.type === 'code' && c.src.includes('showMarkdown(verdict)'));
  assert.ok(verdictCell >= 0, `${what} has its verdict cell`);
  const shown = (await outputText(page, verdictCell)).replace(/\s+/g, ' ');
  const ignored = consoleLines.some((l) => /Ignoring untrusted text\/markdown/.test(l)) ? ' (the console says "Ignoring untrusted text/markdown output")' : '';
  assert.ok(shown.includes(verdictWords), `${what}: the verdict is not visible untrusted${ignored}: expected '${verdictWords}' in '${shown.slice(0, 300)}'`);
  let tablesChecked = 0;
  for (const [i, c] of cells.entries()) {
    if (c.type !== 'code' || !c.src.includes('showTable(')) continue;
    const counts = await page.evaluate((k: number) => {
      const el = (window as any).Jupyter.notebook.get_cell(k).element[0] as HTMLElement;
      const texts = Array.from(el.querySelectorAll('.output_text')).map((t) => (t as HTMLElement).innerText);
      return { tables: el.querySelectorAll('.output_html table').length, markdownTables: texts.filter((t) => /\|\s*-{3,}/.test(t)).length };
    }, i);
    const calls = (c.src.match(/showTable\(/g) ?? []).length;
    assert.deepEqual(counts, { tables: calls, markdownTables: 0 }, `${what} cell ${i}: each table once (${calls} showTable call(s))`);
    tablesChecked += 1;
  }
  assert.ok(tablesChecked > 0, `${what} has table cells`);
}

/** The first words of a verdict's Markdown, as the rendered page shows them (no Markdown marks). */
function firstWords(md: string, n = 6): string {
  return md.replace(/[#*`_]/g, '').split(/\s+/).filter(Boolean).slice(0, n).join(' ');
}

test(`browser: ${NOTEBOOK} untrusted in Jupyter Notebook, an override typed in, an interrupt after a figure`, { skip: !haveChromium && `no Chromium at ${chromiumPath()}`, timeout: 5 * 60 * 1000 }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-browser-'));
  const shots = path.join(tmp, 'screenshots');
  fs.mkdirSync(shots);
  const results = path.join(tmp, 'results');
  // The notebook copy must sit inside the checkout: tslab resolves `repro/...` from the notebook's folder.
  const work = fs.mkdtempSync(path.join(REPO_ROOT, 'build', 'browser-test-'));
  const env = { REPRO_PRESET: 'smoke', REPRO_RESULTS: results };
  let server: ChildProcess | null = null;
  let browser: any = null;
  const committed = path.join(REPO_ROOT, 'notebooks', NOTEBOOK);
  const committedBytes = fs.readFileSync(committed);
  // The committed notebook, as saved, under a name that says it is a copy (Jupyter may autosave it).
  const savedCopy = `committed-copy-${NOTEBOOK}`;
  fs.writeFileSync(path.join(work, savedCopy), committedBytes);
  try {
    // The smoke execution runs while the server starts and the committed copy is checked.
    let log = '';
    const smokeRun = executeNotebook(committed, path.join(work, NOTEBOOK), env, (c) => (log += c));
    smokeRun.catch(() => undefined); // awaited below; a failure before that must not go unhandled

    const token = crypto.randomBytes(24).toString('hex');
    const logFd = fs.openSync(path.join(tmp, 'jupyter.log'), 'w');
    const port = 20000 + crypto.randomInt(20000);
    const jdir = (n: string) => fs.mkdirSync(path.join(tmp, n), { recursive: true }) ?? path.join(tmp, n);
    server = spawn(findJupyterPython(), ['-m', 'notebook', '--no-browser', '--ip=127.0.0.1', `--port=${port}`, '--port-retries=0',
      `--NotebookApp.token=${token}`, `--notebook-dir=${work}`, ...(process.getuid?.() === 0 ? ['--allow-root'] : [])], {
      env: {
        ...process.env, ...env,
        JUPYTER_PATH: checkoutKernelPath(), JUPYTER_CONFIG_DIR: jdir('jupyter-config'),
        JUPYTER_DATA_DIR: jdir('jupyter-data'), JUPYTER_RUNTIME_DIR: jdir('jupyter-runtime'),
      },
      // A log file, not pipes (the kernels it starts would hold them open), and its own process group,
      // so that the server, its kernels and their workers all end with it.
      stdio: ['ignore', logFd, logFd],
      detached: true,
    });
    const serverLog = () => fs.readFileSync(path.join(tmp, 'jupyter.log'), 'utf8');
    const base = `http://127.0.0.1:${port}`;
    await waitFor('the Jupyter server', async () => {
      if (server!.exitCode !== null) throw Object.assign(new Error(`the Jupyter server exited (${server!.exitCode})`), { fatal: true });
      return (await fetch(`${base}/api/status?token=${token}`)).ok;
    }, 60_000, 500).catch((e) => {
      throw new Error(`${(e as Error).message}\n${serverLog().slice(-2000)}`);
    });

    const { chromium } = require('playwright-core');
    browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox', '--disable-gpu'], handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const consoleLines: string[] = [];
    page.on('console', (m: any) => consoleLines.push(m.text()));

    // --- the committed notebook as saved (nothing runs): untrusted, its saved verdict visible, each table once
    const savedNb = JSON.parse(committedBytes.toString('utf8')) as { cells: { cell_type: string; source: string | string[]; outputs?: { data?: { [m: string]: string | string[] } }[] }[] };
    const src = (c: { source: string | string[] }) => (Array.isArray(c.source) ? c.source.join('') : c.source);
    const savedVerdict = savedNb.cells.find((c) => c.cell_type === 'code' && src(c).includes('showMarkdown(verdict)'))
      ?.outputs?.map((o) => o.data?.['text/plain']).find((t) => t !== undefined);
    assert.ok(savedVerdict, `the committed ${NOTEBOOK} has no saved verdict output`);
    await openNotebook(page, base, token, savedCopy);
    await page.screenshot({ path: path.join(shots, '0-committed-as-saved.png'), fullPage: true });
    await checkUntrustedView(page, `the committed ${NOTEBOOK}`, firstWords(Array.isArray(savedVerdict) ? savedVerdict.join('') : savedVerdict), consoleLines);
    assert.ok(fs.readFileSync(committed).equals(committedBytes), `the committed ${NOTEBOOK} changed`);

    // --- the smoke copy, untrusted: its verdict is visible, each table once
    const run = await smokeRun;
    assert.equal(run.status, 0, `${NOTEBOOK} failed on smoke: ${notebookErrors(path.join(work, NOTEBOOK)).join('\n')}\n${log.slice(-3000)}`);
    consoleLines.length = 0;
    await openNotebook(page, base, token, NOTEBOOK);
    await page.screenshot({ path: path.join(shots, '1-opened-untrusted.png'), fullPage: true });
    const verdictMd = fs.readFileSync(path.join(results, 'linear-theory', 'smoke', 'verdict.md'), 'utf8');
    await checkUntrustedView(page, `the smoke copy of ${NOTEBOOK}`, firstWords(verdictMd), consoleLines);
    const cells = await pageCells(page);

    // --- an override typed into the config cell, as a user would
    const configCell = cells.findIndex((c) => c.type === 'code' && c.src.includes('const overrides = overridesFor(experiment, {})'));
    assert.ok(configCell >= 0, 'the config cell has its overrides line');
    await page.evaluate((k: number) => {
      const c = (window as any).Jupyter.notebook.get_cell(k);
      const cm = c.code_mirror;
      const line = cm.getValue().split('\n').findIndex((l: string) => l.startsWith('const overrides = overridesFor(experiment, {'));
      const at = cm.getLine(line).indexOf('{}') + 1;
      cm.setCursor({ line, ch: at });
      cm.focus();
    }, configCell);
    await page.keyboard.type(" tau: 0.1, normalisation: 'outgoing' ");
    await runCell(page, configCell, 120_000);
    const configOut = await outputText(page, configCell);
    assert.match(configOut, /Preset: smoke \(from REPRO_PRESET=smoke\)[\s\S]*not the reference cpu run/, 'the preset banner shows');
    assert.match(configOut, /preset: smoke/, `the tweaked config cell ran: ${configOut}`);
    assert.doesNotMatch(configOut, /error/i);
    const runCellIdx = cells.findIndex((c) => c.type === 'code' && c.src.includes('runExperiment(experiment'));
    await runCell(page, runCellIdx, 120_000);
    assert.match(await outputText(page, runCellIdx), /runs \(\d+ reused, \d+ executed\)/);
    await page.screenshot({ path: path.join(shots, '2-override-ran.png'), fullPage: true });

    // --- a figure, then a long run, then Kernel > Interrupt
    const probe = await page.evaluate(() => {
      const nb = (window as any).Jupyter.notebook;
      const c = nb.insert_cell_at_bottom('code');
      c.set_text([
        "import { showFigure, lineFigure } from 'repro/report';",
        "import { experiment as mae } from 'repro/studies/mae-sweep';",
        "await showFigure(lineFigure([{ name: 'a', x: [1, 2, 3], y: [3, 1, 2] }], { title: 'drawn before the interrupt' }));",
        "await runExperiment(mae, { preset: 'smoke', overrides: { seeds: [0, 1, 2, 3] } });",
      ].join('\n'));
      return nb.find_cell_index(c);
    });
    await page.evaluate((k: number) => (window as any).Jupyter.notebook.execute_cells([k]), probe);
    await waitFor('the figure and the first progress line', async () => {
      const t = await outputText(page, probe);
      const img = await page.evaluate((k: number) => (window as any).Jupyter.notebook.get_cell(k).element[0].querySelectorAll('.output_png img').length, probe);
      return img > 0 && /mae-sweep\/smoke \[/.test(t) && workersUsing(results).length > 0;
    }, 120_000, 500);
    await page.screenshot({ path: path.join(shots, '3-before-interrupt.png'), fullPage: true });
    await page.click('#kernellink');
    await page.click('#int_kernel');
    await waitFor('the workers to stop', async () => workersUsing(results).length === 0, 60_000, 500);
    await waitFor('the interrupted cell to end', () =>
      page.evaluate((k: number) => (window as any).Jupyter.notebook.get_cell(k).input_prompt_number !== '*', probe), 30_000);
    const interrupted = await outputText(page, probe);
    assert.match(interrupted, /Interrupted/, interrupted.slice(-500));
    const alive = await page.evaluate(() => {
      const nb = (window as any).Jupyter.notebook;
      const c = nb.insert_cell_at_bottom('code');
      c.set_text("console.log(`kernel alive: ${6 * 7}`)");
      return nb.find_cell_index(c);
    });
    await runCell(page, alive, 60_000);
    assert.match(await outputText(page, alive), /kernel alive: 42/);
    // No run restarted after the interrupt.
    await new Promise((r) => setTimeout(r, 3000));
    assert.deepEqual(workersUsing(results), []);
    await page.screenshot({ path: path.join(shots, '4-after-interrupt.png'), fullPage: true });
    console.log(`screenshots: ${shots}`);
  } finally {
    if (browser) await browser.close().catch(() => undefined);
    if (server?.pid) {
      const group = (sig: NodeJS.Signals) => {
        try {
          process.kill(-server!.pid!, sig);
        } catch {
          // already gone
        }
      };
      group('SIGTERM');
      await new Promise((r) => setTimeout(r, 2000));
      group('SIGKILL');
    }
    for (const pid of workersUsing(results)) process.kill(pid, 'SIGKILL');
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test('browser: an exported figure HTML copied out of the results folder renders offline from file:// (standalone), or says what it needs', { skip: !haveChromium && `no Chromium at ${chromiumPath()}`, timeout: 120_000 }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-figure-'));
  const saved = process.env.REPRO_RESULTS;
  process.env.REPRO_RESULTS = path.join(tmp, 'results'); // writeFigure shares plotly.js inside the results folder
  let browser: any = null;
  try {
    const figures = path.join(tmp, 'results', 'linear-theory', 'smoke', 'figures');
    const spec = lineFigure([{ name: '0:2', x: [1, 10, 100, 1000], y: [1, 0.1, 1e-4, 1e-9] }], { title: 'copied elsewhere', logX: true, logY: true });
    const standalone = await writeFigure(spec, figures, 'loss-standalone', { formats: ['html'], standalone: true });
    const shared = await writeFigure(spec, figures, 'loss-shared', { formats: ['html'] });
    assert.match(fs.readFileSync(shared.html!, 'utf8'), /src="\.\.\/\.\.\/\.\.\/assets\/plotly\.min\.js"/, 'inside results/ the page loads the shared plotly.js');
    // Copied elsewhere, as a user mails or moves one file: only that file, outside the checkout.
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-figure-copy-'));
    const copies = [standalone.html!, shared.html!].map((f) => {
      const to = path.join(elsewhere, path.basename(f));
      fs.copyFileSync(f, to);
      return to;
    });
    assert.ok(!copies.some((c) => c.startsWith(REPO_ROOT + path.sep)));

    const { chromium } = require('playwright-core');
    browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox', '--disable-gpu'], handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false });
    const context = await browser.newContext({ offline: true });
    const requests: string[] = [];
    await context.route(/^https?:/, (route: any) => {
      requests.push(route.request().url());
      return route.abort();
    });
    const open = async (file: string): Promise<{ plots: number; traces: number; text: string; errors: string[] }> => {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e: Error) => errors.push(e.message));
      page.on('console', (m: any) => m.type() === 'error' && errors.push(m.text()));
      await page.goto(`file://${file}`);
      await page.waitForLoadState('load');
      await page.waitForTimeout(500);
      const state = await page.evaluate(() => ({
        plots: document.querySelectorAll('#figure .main-svg').length,
        traces: document.querySelectorAll('#figure .scatterlayer .trace').length,
        text: document.body.innerText,
      }));
      await page.screenshot({ path: file.replace(/\.html$/, '.png') });
      return { ...state, errors };
    };

    const a = await open(copies[0]);
    assert.ok(a.plots > 0 && a.traces === 1, `the standalone copy did not render a plot: ${JSON.stringify(a).slice(0, 500)}`);
    assert.ok(!a.errors.some((e) => /Plotly is not defined/.test(e)), a.errors.join('\n'));
    assert.deepEqual(requests, [], 'the standalone copy needs no network');

    const b = await open(copies[1]);
    assert.equal(b.plots, 0);
    assert.match(b.text, /This figure needs plotly\.js: keep it inside the results folder .*standalone: true/, 'a copy of a shared-plotly page says what it needs, not a blank page');
    assert.ok(!b.errors.some((e) => /Plotly is not defined/.test(e)), b.errors.join('\n'));
  } finally {
    if (browser) await browser.close().catch(() => undefined);
    if (saved === undefined) delete process.env.REPRO_RESULTS;
    else process.env.REPRO_RESULTS = saved;
  }
});
