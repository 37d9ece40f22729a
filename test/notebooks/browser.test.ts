/**
 * The notebooks as a researcher uses them: Jupyter Notebook on 127.0.0.1 (a throwaway token, fresh
 * Jupyter config/data folders, so nothing is trusted), and headless Chromium through playwright-core.
 *
 * Notebook 05 is first executed on the smoke preset into a temporary copy (the committed notebook keeps
 * its reference outputs), then opened UNTRUSTED in the browser: its verdict text must be visible and each
 * table must appear once. Then, as a user would: the config cell is edited to an override typed in by
 * hand and run; a cell draws a figure and starts a training run, Kernel > Interrupt is clicked, and the
 * kernel must survive (a later cell runs) and the run's workers must stop. Screenshots go to a temporary
 * folder (printed).
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
import { chromiumPath } from '../../lib/report/figure';

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
      if (!cmd.includes('experiments/worker.js')) continue;
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
  try {
    let log = '';
    const run = await executeNotebook(path.join(REPO_ROOT, 'notebooks', NOTEBOOK), path.join(work, NOTEBOOK), env, (c) => (log += c));
    assert.equal(run.status, 0, `${NOTEBOOK} failed on smoke: ${notebookErrors(path.join(work, NOTEBOOK)).join('\n')}\n${log.slice(-3000)}`);

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
    await page.goto(`${base}/notebooks/${NOTEBOOK}?token=${token}`);
    await waitFor('the notebook and its kernel', () =>
      page.evaluate(() => {
        const J = (window as any).Jupyter;
        return J?.notebook?._fully_loaded && J.notebook.kernel?.is_connected() && document.querySelector('#kernel_indicator_icon.kernel_idle_icon');
      }), 90_000, 500);
    await page.screenshot({ path: path.join(shots, '1-opened-untrusted.png'), fullPage: true });

    // --- untrusted: the verdict is visible, each table once
    assert.equal(await page.evaluate(() => (window as any).Jupyter.notebook.trusted), false, 'the copy opens untrusted');
    const cells: { type: string; src: string }[] = await page.evaluate(() =>
      (window as any).Jupyter.notebook.get_cells().map((c: any) => ({ type: c.cell_type, src: c.get_text() })));
    const verdictCell = cells.findIndex((c) => c.type === 'code' && c.src.includes('showMarkdown(verdict)'));
    assert.ok(verdictCell >= 0, 'the notebook has its verdict cell');
    const verdictMd = fs.readFileSync(path.join(results, 'linear-theory', 'smoke', 'verdict.md'), 'utf8');
    const words = verdictMd.replace(/[#*`_]/g, '').split(/\s+/).filter(Boolean).slice(0, 6).join(' ');
    const shown = (await outputText(page, verdictCell)).replace(/\s+/g, ' ');
    assert.ok(shown.includes(words), `the verdict is not visible in the untrusted notebook: expected '${words}' in '${shown.slice(0, 300)}'`);
    assert.ok(!consoleLines.some((l) => /Ignoring untrusted text\/markdown/.test(l)) || shown.includes(words));
    for (const [i, c] of cells.entries()) {
      if (c.type !== 'code' || !c.src.includes('showTable(')) continue;
      const counts = await page.evaluate((k: number) => {
        const el = (window as any).Jupyter.notebook.get_cell(k).element[0] as HTMLElement;
        const texts = Array.from(el.querySelectorAll('.output_text')).map((t) => (t as HTMLElement).innerText);
        return { tables: el.querySelectorAll('.output_html table').length, markdownTables: texts.filter((t) => /\|\s*-{3,}/.test(t)).length };
      }, i);
      const calls = (c.src.match(/showTable\(/g) ?? []).length;
      assert.deepEqual(counts, { tables: calls, markdownTables: 0 }, `cell ${i}: each table once (${calls} showTable call(s))`);
    }

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
        "import { experiment as mae } from 'repro/experiments/mae-sweep';",
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
