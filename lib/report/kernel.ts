/**
 * Are we running inside a tslab Jupyter kernel? `require('tslab')` succeeds in plain node too, but its
 * `display` then throws "Not ready": only the kernel sets `lastWriteDisplayData` in tslab's jupyter
 * module. We look for that module among the ones already loaded, so plain node never pays for
 * loading tslab (and the TypeScript compiler it pulls in).
 */
import * as path from 'path';

/** The subset of tslab's public `Display` we use. */
export interface TslabDisplay {
  html(s: string): void;
  markdown(s: string): void;
  text(s: string): void;
  /** `width`: CSS pixels to show the image at (a scale-2 PNG would otherwise show twice as large). */
  png(b: Uint8Array, width?: number): void;
  /**
   * One display with several representations (`{ 'text/html': …, 'text/plain': … }`): the front end
   * shows the richest one it may (an untrusted notebook skips text/markdown, shows sanitised HTML).
   */
  bundle(data: { [mime: string]: string }): void;
}

const JUPYTER_MODULE = /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/;

/** tslab's `display` when this process is a live tslab kernel, else null. */
export function tslabDisplay(): TslabDisplay | null {
  for (const [file, mod] of Object.entries(require.cache)) {
    if (!JUPYTER_MODULE.test(file)) continue;
    const exp = mod?.exports as { lastWriteDisplayData?: unknown } | undefined;
    if (typeof exp?.lastWriteDisplayData !== 'function') continue;
    try {
      // The public module next to the kernel's own jupyter module shares its state.
      const display = require(path.join(path.dirname(file), 'public.js')).display;
      const write = exp.lastWriteDisplayData as (msg: object, update: boolean) => void;
      return {
        html: (s) => display.html(s),
        markdown: (s) => display.markdown(s),
        text: (s) => display.text(s),
        bundle: (data) => write({ data, metadata: {}, transient: {} }, false),
        png: (b, width) =>
          width === undefined
            ? display.png(b)
            : // tslab's display.png sends no metadata; Jupyter and GitHub read the width from it.
              write(
                { data: { 'image/png': Buffer.from(b).toString('base64') }, metadata: { 'image/png': { width } }, transient: {} },
                false,
              ),
      };
    } catch {
      return null;
    }
  }
  return null;
}

export function insideTslab(): boolean {
  return tslabDisplay() !== null;
}
