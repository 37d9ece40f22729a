/**
 * Showing tables and figures in a tslab notebook so that a SAVED notebook shows them without
 * rerunning, in Jupyter and on GitHub (which renders image/png, text/html tables and text/markdown,
 * but runs no scripts):
 * - tables: ONE display holding an HTML table and, as its text/plain form, the Markdown source
 *   (what a plain-text front end shows; `toMarkdown` gives it to paste into a paper);
 * - Markdown text (verdicts, captions): text/markdown plus the same rendered as text/html and the source
 *   as text/plain, because Jupyter ignores text/markdown in an untrusted (freshly cloned) notebook;
 * - figures: a PNG rendered by headless Chromium; without Chromium, interactive HTML (plotly inlined);
 * - outside a kernel (plain node, scripts, tests): a short text on stdout instead.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { ColumnTable } from 'arquero';
import { tslabDisplay } from './kernel';
import { toHtml, toMarkdown, type MarkdownOptions } from './table';
import { markdownToHtml } from './markdown';
import {
  type FigureSpec,
  type FigureFormat,
  type ImageOptions,
  figureFragment,
  imageUnavailable,
  renderFigure,
  writeFigure,
} from './figure';

/**
 * Shows a table. Returns nothing on purpose: tslab prints a cell's last value, which would repeat
 * the Markdown (use `toMarkdown` for the text).
 */
export function showTable(table: ColumnTable, opts: MarkdownOptions = {}): void {
  const md = toMarkdown(table, opts);
  const d = tslabDisplay();
  if (d) {
    d.bundle({ 'text/html': toHtml(table, opts), 'text/plain': md });
  } else {
    process.stdout.write(md);
  }
}

/**
 * Shows Markdown text: rendered in Jupyter (trusted or not) and on GitHub, printed as is outside a
 * notebook. The HTML form is what an untrusted notebook shows (it skips text/markdown).
 */
export function showMarkdown(md: string): void {
  const d = tslabDisplay();
  if (d) d.bundle({ 'text/markdown': md, 'text/html': `<div class="repro-md">${markdownToHtml(md)}</div>`, 'text/plain': md });
  else process.stdout.write(md.endsWith('\n') ? md : md + '\n');
}

/**
 * The banner at the top of every notebook: which preset this run uses, where it came from and how to
 * switch, and, off the reference preset, that these outputs are not the reference run's.
 */
export function presetBanner(preset: string, env: NodeJS.ProcessEnv = process.env): string {
  const from = env.REPRO_PRESET ? `from \`REPRO_PRESET=${env.REPRO_PRESET}\`` : 'the default (`REPRO_PRESET` is not set)';
  const lines = [
    `**Preset: \`${preset}\`** (${from}). Presets: \`smoke\` (seconds, proves the pipeline), \`cpu\` (the reference runs in \`results/\`), \`paper\` (the papers' sizes, for a GPU).`,
    `To switch, start Jupyter with the variable set (\`REPRO_PRESET=smoke jupyter notebook notebooks/\`) or run \`npm run reproduce -- --preset smoke\`.`,
  ];
  if (preset !== 'cpu') lines.push(`These outputs come from the \`${preset}\` preset, **not the reference \`cpu\` run**: do not save them over the committed notebook.`);
  return lines.join('\n\n');
}

/** Shows `presetBanner(preset)`. */
export function showPreset(preset: string): void {
  showMarkdown(presetBanner(preset));
}

export interface ShowFigureOptions extends ImageOptions {
  /** With `name`, also write `<dir>/<name>.html|png|svg` (see writeFigure) and return the paths. */
  dir?: string;
  name?: string;
  formats?: FigureFormat[];
}

function figureTitle(spec: FigureSpec, name?: string): string {
  const t = (spec.layout as { title?: { text?: string } | string } | undefined)?.title;
  return name ?? (typeof t === 'string' ? t : t?.text) ?? 'figure';
}

/**
 * Shows a figure (PNG when Chromium is there, else interactive HTML); with `dir` and `name`, writes
 * the figure files too. Returns the paths written (empty without `dir`/`name`) and a note when no
 * image could be rendered.
 */
export async function showFigure(
  spec: FigureSpec,
  opts: ShowFigureOptions = {},
): Promise<{ html?: string; png?: string; svg?: string; note?: string }> {
  const d = tslabDisplay();
  let out: { html?: string; png?: string; svg?: string; note?: string } = {};
  let png: Buffer | null = null;
  if (opts.dir !== undefined && opts.name !== undefined) {
    const formats = opts.formats ?? ['html', 'png', 'svg'];
    // The notebook shows a PNG: render one even if the files asked for none.
    out = await writeFigure(spec, opts.dir, opts.name, {
      ...opts,
      formats: formats.includes('png') ? formats : [...formats, 'png'],
    });
    if (out.png) png = fs.readFileSync(out.png);
    if (!formats.includes('png') && out.png) {
      fs.rmSync(out.png, { force: true });
      delete out.png;
    }
  } else if (d && !imageUnavailable()) {
    const img = await renderFigure(spec, 'png', opts);
    if (img !== null) png = img as Buffer;
  }
  if (d) {
    if (png) d.png(png, opts.width ?? 800);
    else d.html(figureFragment(spec, opts));
    const files = [out.html, out.png, out.svg].filter((x): x is string => !!x);
    // Where the files went, relative to the notebook's folder (no absolute paths in saved outputs).
    if (files.length) process.stdout.write(`figure files: ${files.map((f) => path.relative(process.cwd(), f) || f).join(', ')}\n`);
  } else {
    const files = [out.html, out.png, out.svg].filter((x): x is string => !!x);
    const traces = spec.data.length;
    process.stdout.write(
      `[figure '${figureTitle(spec, opts.name)}': ${traces} trace${traces === 1 ? '' : 's'}` +
        (files.length ? `; written to ${files.join(', ')}` : '; shown in notebooks only') +
        ']\n',
    );
  }
  return out;
}
