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

/** What a user must do when the library was rebuilt under a running kernel. */
export const REBUILT_UNDER_KERNEL =
  'the compiled library (build/, which notebooks import as `repro`) was rewritten while this kernel was running ' +
  '(`npm run build`, `npm test` or `npm run reproduce` rebuild it), and tslab 1.0.22 cannot follow: restart the kernel ' +
  '(Kernel > Restart) and rerun the notebook from the top. Until then every cell fails or runs the old library.';

const REBUILD_TRAP = /Unexpected pending rebuildTimer|rebuildTimer is not set properly/;

/**
 * tslab's TypeScript watcher throws `Unexpected pending rebuildTimer` on the next cell once files it
 * watches (the library's .d.ts files under build/) changed beneath it, and prints only its own stack
 * ("unexpected error: …" through `console.error`). This adds, in that cell's output, what happened and
 * what to do. Installed once per kernel process; other errors pass through untouched.
 */
export function guardRebuildUnderKernel(): void {
  const c = console as Console & { __reproRebuildGuard?: boolean };
  if (c.__reproRebuildGuard) return;
  c.__reproRebuildGuard = true;
  const error = console.error.bind(console);
  let said = false;
  console.error = (...args: unknown[]) => {
    error(...args);
    const e = args.find((a) => a instanceof Error) as Error | undefined;
    if (e && REBUILD_TRAP.test(e.message)) {
      error(`\n${said ? 'still: ' : ''}${REBUILT_UNDER_KERNEL}`);
      said = true;
    }
  };
}

// Every notebook imports repro/report (and so this module) in its first cell.
if (tslabDisplay()) guardRebuildUnderKernel();
