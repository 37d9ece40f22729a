/**
 * The shared headless Chromium that renders figures to PNG / SVG (`Plotly.toImage` in one page with
 * plotly.js loaded), driven by playwright-core. One browser serves every figure of a process; it closes
 * itself after a short idle time so scripts and tests can exit (an open browser keeps node's event loop
 * alive), and playwright kills it at process exit in any case. Without Chromium, images are unavailable,
 * and the reason is kept (lib/report/figure.ts then writes HTML only).
 */
import * as fs from 'fs';
import { ConfigError } from '../errors';
import { insideTslab } from './kernel';

/** Chromium's path: `$REPRO_CHROMIUM`, else Debian's `/usr/bin/chromium`. */
export function chromiumPath(): string {
  return process.env.REPRO_CHROMIUM || '/usr/bin/chromium';
}

/** The plotly.js bundle (inlined in HTML figures, loaded into the browser's page). */
export function plotlyPath(): string {
  return require.resolve('plotly.js-dist-min/plotly.min.js');
}

/* eslint-disable @typescript-eslint/no-explicit-any */
type Page = any;
type Browser = any;

let browser: Browser | null = null;
let page: Promise<Page> | null = null;
let unavailable: string | null = null; // why images cannot be rendered, once known
let idleTimer: NodeJS.Timeout | null = null;
let queue: Promise<unknown> = Promise.resolve();

/** Idle time before the browser closes: short in scripts (so they exit), long in a notebook kernel. */
function idleMs(): number {
  return insideTslab() ? 300_000 : 1_500;
}

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-quic',
  '--no-first-run',
  '--disable-sync',
];

async function openPage(): Promise<Page> {
  const exe = chromiumPath();
  if (!fs.existsSync(exe)) {
    throw new Error(`Chromium not found at ${exe} (install Debian's 'chromium' or set REPRO_CHROMIUM)`);
  }
  const { chromium } = require('playwright-core');
  // playwright gives the browser a fresh temporary profile (user-data-dir) and deletes it on close.
  // Its default signal handlers close the browser and then EXIT the process: in a Jupyter kernel,
  // Kernel > Interrupt (SIGINT) would kill the kernel. The runner's own handlers stop training
  // instead, and the browser dies with the process anyway (playwright kills it at exit).
  browser = await chromium.launch({
    executablePath: exe,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 60_000,
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  const p = await browser.newPage();
  await p.setContent('<!DOCTYPE html><html><head><meta charset="utf-8"></head><body></body></html>');
  await p.addScriptTag({ path: plotlyPath() });
  return p;
}

async function doClose(): Promise<void> {
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = null;
  const p = page;
  page = null;
  if (p) await p.catch(() => undefined); // a launch in progress sets `browser` when it finishes
  const b = browser;
  browser = null;
  if (b) await b.close().catch(() => undefined);
}

/** Closes the shared browser after any pending renders (it reopens on the next image). */
export function closeFigureBrowser(): Promise<void> {
  const job = queue.then(doClose);
  queue = job.catch(() => undefined);
  return job;
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}

/**
 * Renders the plotly figure `json` (figureJson's text) to PNG bytes or SVG text with `Plotly.toImage`, or
 * null when Chromium is unavailable (the reason is then in `imageUnavailable()`). Calls are serialised
 * through the one page.
 */
export function plotlyToImage(json: string, format: 'png' | 'svg', size: { width: number; height: number; scale: number }): Promise<Buffer | string | null> {
  const job = queue.then(async () => {
    if (unavailable) return null;
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = null;
    try {
      let p: Page;
      try {
        page ??= openPage();
        p = await page;
      } catch (e) {
        unavailable = firstLine(e);
        await doClose();
        return null;
      }
      let url: string;
      try {
        url = await p.evaluate(
          async (a: { json: string; format: string; width: number; height: number; scale: number }) => {
            const fig = JSON.parse(a.json);
            return (window as any).Plotly.toImage(
              { data: fig.data, layout: fig.layout || {} },
              { format: a.format, width: a.width, height: a.height, scale: a.scale },
            );
          },
          { json, format, ...size },
        );
      } catch (e) {
        if (browser?.isConnected()) throw new ConfigError(`plotly could not render the figure: ${firstLine(e)}`);
        unavailable = `Chromium stopped: ${firstLine(e)}`;
        await doClose();
        return null;
      }
      const comma = url.indexOf(',');
      const body = url.slice(comma + 1);
      if (url.slice(0, comma).endsWith(';base64')) {
        const bytes = Buffer.from(body, 'base64');
        return format === 'png' ? bytes : bytes.toString('utf8');
      }
      return decodeURIComponent(body);
    } finally {
      if (browser) idleTimer = setTimeout(() => void closeFigureBrowser(), idleMs());
    }
  });
  queue = job.catch(() => undefined);
  return job;
}

/** Why PNG/SVG cannot be rendered in this process, or null if they can (as far as known). */
export function imageUnavailable(): string | null {
  if (!unavailable && !fs.existsSync(chromiumPath())) {
    unavailable = `Chromium not found at ${chromiumPath()} (install Debian's 'chromium' or set REPRO_CHROMIUM)`;
  }
  return unavailable;
}
