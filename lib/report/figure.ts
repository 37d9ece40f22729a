/**
 * Figures as plotly specs (https://plotly.com/javascript/reference/), written as
 * - interactive HTML with plotly.js inlined (works offline, from a results/ folder or an e-mail), and
 * - PNG / SVG for papers, rendered by `Plotly.toImage` inside headless Chromium (./browser.ts: one browser
 *   per process, closed when idle). Without Chromium, figures are HTML only, said once.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { resultsRoot } from '../paths';
import { ConfigError } from '../errors';
import { writeFileAtomic } from '../io/atomic';
import { imageUnavailable, plotlyPath, plotlyToImage } from './browser';

export { chromiumPath, closeFigureBrowser, imageUnavailable } from './browser';

/** Whether this process has said that figures are HTML only (it says so once). */
let noted = false;

/** A plotly figure: traces and layout, as plain JSON (typed arrays are converted when written). */
export interface FigureSpec {
  data: object[];
  layout?: object;
}

export type ImageFormat = 'png' | 'svg';
export type FigureFormat = 'html' | ImageFormat;

export interface ImageOptions {
  /** CSS pixels; default 800 x 500. */
  width?: number;
  height?: number;
  /** Device pixel ratio of PNGs (2 = sharp in papers and on high-DPI screens); default 2. */
  scale?: number;
}

const DEFAULT_W = 800;
const DEFAULT_H = 500;

/** JSON for embedding in a <script>: typed arrays as arrays, non-finite numbers as null (plotly gaps). */
export function figureJson(spec: FigureSpec): string {
  return JSON.stringify(spec, (_k, v) => {
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
    return v;
  }).replace(/</g, '\\u003c'); // no "</script>" can end the script early
}

function htmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

let plotlySource: string | null = null;

/**
 * An interactive page that needs no network. By default plotly.js (4.8 MB) is inlined; with
 * `plotlySrc` the page loads it from that relative path instead (as plotly.py's
 * include_plotlyjs='directory' does), so a results folder holds one copy, not one per figure.
 */
export function figureHtml(spec: FigureSpec, title = 'figure', plotlySrc?: string): string {
  let script: string;
  if (plotlySrc) {
    // A copy moved out of results/ loses the relative plotly.js: then fetch the same version from its
    // CDN, and if that fails too (offline), say on the page what is missing instead of a blank page.
    const version = (require('plotly.js-dist-min/package.json') as { version: string }).version;
    const missing = `This figure needs plotly.js: keep it inside the results folder (it loads ${plotlySrc}), ` +
      `or open it online, or rewrite it with writeFigure(..., { standalone: true }).`;
    script =
      `<script src="${htmlEscape(plotlySrc)}"></script>\n` +
      `<script>if (!window.Plotly) document.write('<script src="https://cdn.plot.ly/plotly-${version}.min.js"><\\/script>');</script>\n` +
      `<script>window.__plotlyMissing = ${JSON.stringify(missing).replace(/</g, '\\u003c')};</script>`;
  } else {
    plotlySource ??= fs.readFileSync(plotlyPath(), 'utf8').replace(/<\/script/gi, '<\\/script');
    script = `<script>${plotlySource}</script>`;
  }
  return (
    `<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n<title>${htmlEscape(title)}</title>\n` +
    `${script}\n</head>\n<body style="margin:0">\n` +
    `<div id="figure" style="width:100%;height:100vh"></div>\n` +
    `<script>\nconst fig = ${figureJson(spec)};\n` +
    `if (window.Plotly) Plotly.newPlot('figure', fig.data, fig.layout || {}, { responsive: true });\n` +
    `else document.getElementById('figure').textContent = window.__plotlyMissing || 'plotly.js did not load';\n</script>\n</body>\n</html>\n`
  );
}

/**
 * An HTML fragment for a notebook output: a div, plotly.js inlined (so a saved notebook does not need
 * the network), and the plot call. Used when no PNG can be rendered.
 */
export function figureFragment(spec: FigureSpec, opts: ImageOptions = {}): string {
  plotlySource ??= fs.readFileSync(plotlyPath(), 'utf8').replace(/<\/script/gi, '<\\/script');
  const id = `fig-${Math.random().toString(36).slice(2, 12)}`;
  return (
    `<div id="${id}" style="width:${opts.width ?? DEFAULT_W}px;height:${opts.height ?? DEFAULT_H}px"></div>\n` +
    // Classic Jupyter has require.js: hide `define` so plotly's UMD wrapper sets window.Plotly.
    `<script>if (!window.Plotly) { const __define = window.define; window.define = undefined;\n` +
    `${plotlySource}\nwindow.define = __define; }</script>\n` +
    `<script>(function () { const fig = ${figureJson(spec)}; ` +
    `window.Plotly.newPlot('${id}', fig.data, fig.layout || {}); })();</script>\n`
  );
}

// ---------------------------------------------------------------------------------------------
// Images, through the shared headless browser (./browser.ts)

/**
 * Renders `spec` to PNG bytes or SVG text, or null when Chromium is unavailable (the reason is then
 * in `imageUnavailable()`). Calls are serialised through the one page.
 */
export async function renderFigure(
  spec: FigureSpec,
  format: ImageFormat,
  opts: ImageOptions = {},
): Promise<Buffer | string | null> {
  // Plotly gives each trace a random uid too (the class `trace<uid>`): fixed ones, by position.
  const json = figureJson({ ...spec, data: spec.data.map((t, i) => ({ uid: `t${i}`, ...(t as object) })) });
  const size = { width: opts.width ?? DEFAULT_W, height: opts.height ?? DEFAULT_H, scale: format === 'png' ? opts.scale ?? 2 : 1 };
  const img = await plotlyToImage(json, format, size);
  return typeof img === 'string' && format === 'svg' ? deterministicSvg(img, `${json}|${size.width}x${size.height}`) : img;
}

/**
 * Plotly names every graph with a random 6-hex-digit uid (`clip59fc71xy`, `defs-59fc71`, `legend59fc71`), so the
 * same figure exported twice differs byte-wise and every rerun dirtied the committed SVGs. The uid is replaced by
 * one derived from the figure (its spec and size): the same figure gives the same bytes.
 */
export function deterministicSvg(svg: string, key: string): string {
  const m = /id="defs-([0-9a-f]{6})"/.exec(svg);
  if (!m) return svg;
  const uid = createHash('sha256').update(key).digest('hex').slice(0, 6);
  return svg.split(m[1]).join(uid);
}

/**
 * For a figure folder inside the results folder: makes sure `<results>/assets/plotly.min.js` exists
 * and returns its path relative to `dir`. Elsewhere returns undefined (the page inlines plotly.js).
 */
function sharedPlotly(dir: string): string | undefined {
  const root = path.resolve(resultsRoot());
  const abs = path.resolve(dir);
  if (!abs.startsWith(root + path.sep)) return undefined;
  const asset = path.join(root, 'assets', 'plotly.min.js');
  const src = plotlyPath();
  if (!fs.existsSync(asset) || fs.statSync(asset).size !== fs.statSync(src).size) {
    writeFileAtomic(asset, fs.readFileSync(src));
  }
  return path.relative(abs, asset).split(path.sep).join('/');
}

export interface WriteFigureOptions extends ImageOptions {
  /** Default `['html', 'png', 'svg']`. */
  formats?: FigureFormat[];
  /** Inline plotly.js (4.8 MB) into the HTML even inside the results folder, so it works anywhere. */
  standalone?: boolean;
}

/**
 * Writes `<dir>/<name>.html|png|svg` atomically. Without Chromium, writes the HTML only and says so
 * in one line (once per process); the result's `note` carries the reason.
 */
export async function writeFigure(
  spec: FigureSpec,
  dir: string,
  name: string,
  opts: WriteFigureOptions = {},
): Promise<{ html?: string; png?: string; svg?: string; note?: string }> {
  const formats = opts.formats ?? ['html', 'png', 'svg'];
  for (const f of formats) {
    if (f !== 'html' && f !== 'png' && f !== 'svg') {
      throw new ConfigError(`unknown figure format '${f}'; expected one of html, png, svg`);
    }
  }
  const out: { html?: string; png?: string; svg?: string; note?: string } = {};
  const base = path.join(dir, name);
  const images = formats.filter((f): f is ImageFormat => f !== 'html');
  if (images.length && !imageUnavailable()) {
    for (const f of images) {
      const img = await renderFigure(spec, f, opts);
      if (img === null) break;
      out[f] = writeFileAtomic(`${base}.${f}`, img);
    }
  }
  const skipped = images.filter((f) => !out[f]);
  if (formats.includes('html') || skipped.length) out.html = writeFileAtomic(`${base}.html`, figureHtml(spec, name, opts.standalone ? undefined : sharedPlotly(dir)));
  if (skipped.length) {
    out.note = `no ${skipped.join('/')} for ${name}: ${imageUnavailable()}; wrote HTML only`;
    if (!noted) {
      noted = true;
      console.log(`figures: ${imageUnavailable()}; writing interactive HTML only`);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The figures every experiment needs

export interface AxesOptions {
  title?: string;
  xTitle?: string;
  yTitle?: string;
  logX?: boolean;
  logY?: boolean;
}

/**
 * 20 distinguishable colours (Tableau 20, dark shades first): plotly's default colorway has 10, so an
 * 11th trace repeated the first one's colour. Traces beyond 20 also change dash (see `styleTrace`).
 */
export const PALETTE: readonly string[] = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf',
  '#aec7e8', '#ffbb78', '#98df8a', '#ff9896', '#c5b0d5', '#c49c94', '#f7b6d2', '#c7c7c7', '#dbdb8d', '#9edae5',
];
const DASHES = ['solid', 'dash', 'dot', 'dashdot', 'longdash'];

/** Trace i's line: dashed once the palette has been used up (colours from the layout's colorway). */
function styleTrace(i: number): object {
  return i < PALETTE.length ? {} : { line: { dash: DASHES[Math.floor(i / PALETTE.length) % DASHES.length] } };
}

/** A number as a tick label in full (`0.002`, `2000`, `1e-18` only when tiny or huge): never SI (`2m`, `1µ`). */
export function tickLabel(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e-4 && a < 1e7) return String(Number(v.toPrecision(6)));
  const [m, e] = v.toExponential().split('e');
  const mant = Number(Number(m).toPrecision(3));
  return `${mant === 1 ? '' : `${mant}×`}10${superscript(Number(e))}`;
}

function superscript(n: number): string {
  const sup: Record<string, string> = { '-': '⁻', '0': '⁰', '1': '¹', '2': '²', '3': '³', '4': '⁴', '5': '⁵', '6': '⁶', '7': '⁷', '8': '⁸', '9': '⁹' };
  return String(n).split('').map((c) => sup[c] ?? c).join('');
}

/**
 * Ticks for a log axis over [lo, hi] (positive): whole decades when the range spans three or more,
 * 1-2-5 steps over one to three decades, a handful of round values inside one decade. Labels are
 * the full numbers: plotly's own log ticks label minor ticks by their first digit ("2, 1000, 9, 8").
 */
export function logTicks(lo: number, hi: number): { tickvals: number[]; ticktext: string[] } | null {
  if (!(lo > 0) || !(hi > 0) || !Number.isFinite(lo) || !Number.isFinite(hi)) return null;
  if (hi < lo) [lo, hi] = [hi, lo];
  const decades = Math.log10(hi / lo);
  let vals: number[] = [];
  const k0 = Math.floor(Math.log10(lo));
  const k1 = Math.ceil(Math.log10(hi));
  if (decades >= 3) {
    const step = Math.max(1, Math.ceil((k1 - k0) / 8)); // at most ~8 labels
    for (let k = k0; k <= k1; k += step) vals.push(10 ** k);
  } else if (decades >= 1) {
    for (let k = k0; k <= k1; k++) for (const m of [1, 2, 5]) vals.push(m * 10 ** k);
  } else {
    // Inside a decade: a linear "nice" step over the range.
    const raw = (hi - lo) / 4;
    const p = 10 ** Math.floor(Math.log10(raw || hi));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
    for (let v = Math.floor(lo / step) * step; v <= hi + step; v += step) if (v > 0) vals.push(Number(v.toPrecision(12)));
  }
  // Keep the ticks inside the data range, plus one on each side so the ends are labelled.
  const below = vals.filter((v) => v < lo).pop();
  const above = vals.find((v) => v > hi);
  vals = [...(below !== undefined ? [below] : []), ...vals.filter((v) => v >= lo && v <= hi), ...(above !== undefined ? [above] : [])];
  return { tickvals: vals, ticktext: vals.map(tickLabel) };
}

function positives(values: Iterable<unknown>): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (typeof v === 'number' && v > 0 && Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return hi >= lo ? [lo, hi] : null;
}

function logAxis(values: Iterable<unknown>): object {
  const r = positives(values);
  const t = r ? logTicks(r[0], r[1]) : null;
  return { type: 'log', ...(t ? { tickmode: 'array', ...t } : { dtick: 1 }) };
}

/** Layout for x/y axes: `values` are the data on each axis (for log-axis ticks). */
function axesLayout(o: AxesOptions, xs: Iterable<unknown> = [], ys: Iterable<unknown> = []): object {
  return {
    ...(o.title ? { title: { text: o.title } } : {}),
    // exponentformat 'power': 10⁻³, never the SI prefixes (1µ, 1n) plotly uses by default.
    xaxis: { title: { text: o.xTitle ?? '' }, exponentformat: 'power', automargin: true, ...(o.logX ? logAxis(xs) : {}) },
    yaxis: { title: { text: o.yTitle ?? '' }, exponentformat: 'power', automargin: true, ...(o.logY ? logAxis(ys) : {}) },
    colorway: PALETTE,
    template: 'plotly_white',
    font: { size: 14 },
  };
}

function* flat(arrays: Iterable<ArrayLike<unknown>>): Generator<unknown> {
  for (const a of arrays) for (let i = 0; i < a.length; i++) yield a[i];
}

/** Curves, e.g. training loss per wiring: `[{ name: 'residual', x: steps, y: losses }, ...]`. */
export function lineFigure(
  series: { name: string; x: ArrayLike<number>; y: ArrayLike<number | null> }[],
  opts: AxesOptions = {},
): FigureSpec {
  return {
    data: series.map((s, i) => ({ type: 'scatter', mode: 'lines', name: s.name, x: Array.from(s.x), y: Array.from(s.y), ...styleTrace(i) })),
    layout: axesLayout(opts, flat(series.map((s) => s.x)), flat(series.map((s) => s.y))),
  };
}

/** Mean ± std over seeds per series, e.g. kNN accuracy against α_min for each depth. */
export function errorBarFigure(
  series: { name: string; x: ArrayLike<number | string>; mean: ArrayLike<number | null>; std: ArrayLike<number | null> }[],
  opts: AxesOptions & { kind?: 'line' | 'bar' } = {},
): FigureSpec {
  for (const s of series) {
    if (s.mean.length !== s.x.length || s.std.length !== s.x.length) {
      throw new ConfigError(
        `errorBarFigure series '${s.name}': x, mean and std must have equal lengths; got ${s.x.length}, ${s.mean.length}, ${s.std.length}`,
      );
    }
  }
  return {
    data: series.map((s, i) => ({
      type: opts.kind === 'bar' ? 'bar' : 'scatter',
      ...(opts.kind === 'bar' ? {} : { mode: 'lines+markers' }),
      name: s.name,
      x: Array.from(s.x),
      y: Array.from(s.mean),
      error_y: { type: 'data', array: Array.from(s.std, (v) => v ?? 0), visible: true },
      ...(opts.kind === 'bar' ? {} : styleTrace(i)),
    })),
    layout: {
      ...axesLayout(opts, flat(series.map((s) => s.x)), flat(series.map((s) => Array.from(s.mean, (m, j) => (m === null ? null : m - (s.std[j] ?? 0)))).concat(series.map((s) => Array.from(s.mean, (m, j) => (m === null ? null : m + (s.std[j] ?? 0))))))),
      ...(opts.kind === 'bar' ? { barmode: 'group' } : {}),
    },
  };
}

/**
 * Figures side by side in one: each panel keeps its axes (titles, log scales) and gets its title above it;
 * a series of the same name has one colour and one legend entry across the panels (click it to hide it
 * everywhere). Panels fill `columns` per row (default 2, or fewer panels).
 */
export function panelFigure(panels: { figure: FigureSpec; title?: string }[], opts: { columns?: number; title?: string } = {}): FigureSpec {
  if (!Array.isArray(panels) || panels.length === 0) throw new ConfigError(`panelFigure needs at least one panel; got ${Array.isArray(panels) ? 'none' : JSON.stringify(panels)}`);
  const columns = opts.columns ?? Math.min(2, panels.length);
  if (!Number.isInteger(columns) || columns < 1) throw new ConfigError(`panelFigure columns must be a positive integer; got ${JSON.stringify(opts.columns)}`);
  const rows = Math.ceil(panels.length / columns);
  const colour = new Map<string, string>();
  const data: object[] = [];
  const annotations: object[] = [];
  let scales = 0; // heatmaps share one colour bar (the first one's): nine bars would cover the panels
  const layout: Record<string, unknown> = {
    ...(opts.title ? { title: { text: opts.title } } : {}),
    grid: { rows, columns, pattern: 'independent', ygap: 0.35, xgap: 0.15 },
    colorway: PALETTE,
    template: 'plotly_white',
    font: { size: 14 },
  };
  panels.forEach((p, i) => {
    const k = i === 0 ? '' : String(i + 1);
    const pl = (p.figure.layout ?? {}) as { xaxis?: object; yaxis?: object; title?: { text?: string } };
    layout[`xaxis${k}`] = { ...(pl.xaxis ?? {}), anchor: `y${k}` };
    layout[`yaxis${k}`] = { ...(pl.yaxis ?? {}), anchor: `x${k}` };
    const title = p.title ?? pl.title?.text;
    if (title) annotations.push({ text: title, xref: `x${k} domain`, yref: `y${k} domain`, x: 0.5, y: 1.04, xanchor: 'center', yanchor: 'bottom', showarrow: false, font: { size: 14 } });
    for (const t of p.figure.data) {
      const tr = t as { type?: string; name?: string; line?: object; marker?: object };
      const line = tr.type === undefined || tr.type === 'scatter' || tr.type === 'bar';
      const name = tr.name ?? '';
      const first = !colour.has(name);
      if (first) colour.set(name, PALETTE[colour.size % PALETTE.length]);
      const c = colour.get(name)!;
      data.push({
        ...tr,
        xaxis: `x${k}`,
        yaxis: `y${k}`,
        ...(line ? { legendgroup: name, showlegend: first, line: { color: c, ...(tr.line ?? {}) }, marker: { color: c, ...(tr.marker ?? {}) } } : {}),
        ...(tr.type === 'heatmap' ? { showscale: scales++ === 0 } : {}),
      });
    }
  });
  layout.annotations = annotations;
  return { data, layout };
}

/** A matrix, e.g. ANCRe's routing weights p[i][j] or a correlation matrix; `showValues` prints each cell. */
export function heatmapFigure(
  z: ArrayLike<ArrayLike<number | null>>,
  opts: AxesOptions & {
    x?: (string | number)[];
    y?: (string | number)[];
    colorscale?: string;
    zmin?: number;
    zmax?: number;
    showValues?: boolean;
    valueDigits?: number;
  } = {},
): FigureSpec {
  const rows = Array.from(z, (r) => Array.from(r));
  const layout = axesLayout(opts) as { xaxis: object; yaxis: object };
  // Without labels, cells are indices: tick every integer, not at half steps.
  // With labels, the axes are categorical (labels such as '1', '2' are not read as numbers and every
  // row gets its label); automargin keeps long row labels from being cut.
  const ix = opts.x ? { type: 'category', automargin: true } : { dtick: 1 };
  const iy = opts.y ? { type: 'category', automargin: true } : { dtick: 1 };
  return {
    data: [
      {
        type: 'heatmap',
        z: rows,
        ...(opts.x ? { x: opts.x.map(String) } : {}),
        ...(opts.y ? { y: opts.y.map(String) } : {}),
        colorscale: opts.colorscale ?? 'Viridis',
        ...(opts.zmin !== undefined ? { zmin: opts.zmin } : {}),
        ...(opts.zmax !== undefined ? { zmax: opts.zmax } : {}),
        ...(opts.showValues ? { texttemplate: `%{z:.${opts.valueDigits ?? 2}f}` } : {}),
      },
    ],
    // Matrices read top-down: row 0 at the top.
    layout: { ...layout, xaxis: { ...layout.xaxis, ...ix }, yaxis: { ...layout.yaxis, ...iy, autorange: 'reversed' } },
  };
}

/**
 * A grid of grey images, e.g. Fashion-MNIST samples or MAE reconstructions.
 * `images`: [n, h, w] row-major; `cols` images per grid row; optional title per image.
 */
export function imageGridFigure(
  images: Float32Array,
  n: number,
  h: number,
  w: number,
  cols: number,
  titles?: string[],
): FigureSpec {
  for (const [k, v] of [['n', n], ['h', h], ['w', w], ['cols', cols]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ConfigError(`imageGridFigure: ${k} must be an integer >= 1; got ${v}`);
  }
  if (images.length < n * h * w) {
    throw new ConfigError(`imageGridFigure: ${n} images of ${h}x${w} need ${n * h * w} values; got ${images.length}`);
  }
  if (titles && titles.length !== n) throw new ConfigError(`imageGridFigure: ${n} images but ${titles.length} titles`);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n * h * w; i++) {
    const v = images[i];
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (!(hi > lo)) [lo, hi] = [0, 1];
  const rowsN = Math.ceil(n / cols);
  const gap = 0.02;
  const cw = (1 - gap * (cols - 1)) / cols;
  const ch = (1 - gap * (rowsN - 1) - (titles ? 0.04 * rowsN : 0)) / rowsN;
  const data: object[] = [];
  const layout: { [k: string]: unknown } = {
    showlegend: false,
    margin: { l: 10, r: 10, t: titles ? 30 : 10, b: 10 },
    annotations: [],
    template: 'plotly_white',
  };
  for (let i = 0; i < n; i++) {
    const r = Math.floor(i / cols);
    const c = i % cols;
    const z: (number | null)[][] = [];
    for (let y = 0; y < h; y++) {
      const row: (number | null)[] = [];
      for (let x = 0; x < w; x++) {
        const v = images[i * h * w + y * w + x];
        row.push(Number.isFinite(v) ? v : null);
      }
      z.push(row);
    }
    const ax = i === 0 ? '' : String(i + 1);
    data.push({
      type: 'heatmap', z, xaxis: `x${ax}`, yaxis: `y${ax}`,
      colorscale: 'Greys', reversescale: true, zmin: lo, zmax: hi, showscale: false,
    });
    const x0 = c * (cw + gap);
    const top = 1 - r * (ch + gap + (titles ? 0.04 : 0)) - (titles ? 0.04 : 0);
    layout[`xaxis${ax}`] = { domain: [x0, x0 + cw], visible: false, anchor: `y${ax}`, constrain: 'domain' };
    layout[`yaxis${ax}`] = {
      domain: [top - ch, top], visible: false, anchor: `x${ax}`, autorange: 'reversed',
      scaleanchor: `x${ax}`, constrain: 'domain',
    };
    if (titles) {
      (layout.annotations as object[]).push({
        text: titles[i], x: x0 + cw / 2, y: top, xref: 'paper', yref: 'paper',
        xanchor: 'center', yanchor: 'bottom', showarrow: false, font: { size: 11 },
      });
    }
  }
  return { data, layout };
}
