/**
 * Loads the project's native BLAS addon (native/repro_blas.c, built at install by
 * environment/build-native.js). Optional: when it is missing or cannot load, the caller gets
 * a one-line reason and the repaired wasm kernels serve.
 *
 * Threads: sweeps run one process per core, so each process must use ONE BLAS thread or the
 * processes oversubscribe the cores. OpenBLAS reads OPENBLAS_NUM_THREADS when the library is
 * loaded; we default it to 1 before loading unless the user set it, and set it again through
 * openblas_set_num_threads in case the library was already loaded by someone else.
 */
import * as fs from 'fs';
import * as path from 'path';
import { REPO_ROOT } from '../paths';

export interface NativeBlas {
  sgemmBatch(
    heap: Float32Array,
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    aOffs: Uint32Array,
    bOffs: Uint32Array,
    cOff: number,
  ): void;
  info(): { blas: string; threads: number };
  setThreads(n: number): void;
}

export interface NativeLoad {
  blas: NativeBlas | null;
  /** 'OpenBLAS 0.3.21' or 'Accelerate'; '' when not loaded */
  label: string;
  threads: number;
  /** why it did not load (one line), or '' */
  reason: string;
}

export const ADDON_PATH = path.join(REPO_ROOT, 'native', 'build', 'Release', 'repro_blas.node');
const HOWTO = 'to get it: apt-get install libopenblas-dev && node environment/build-native.js';

let cached: NativeLoad | null = null;

/** Short BLAS label from openblas_get_config(): 'OpenBLAS 0.3.21 DYNAMIC_ARCH ... Haswell' -> 'OpenBLAS 0.3.21'. */
export function blasLabel(config: string): string {
  const m = /^(OpenBLAS\s+[\d.]+)/.exec(config);
  return m ? m[1] : config.split(/\s+/).slice(0, 2).join(' ');
}

/** The addon's path: `$REPRO_NATIVE_ADDON` (tests point it at a missing or broken file) or the built one. */
export function addonPath(): string {
  return process.env.REPRO_NATIVE_ADDON ? path.resolve(process.env.REPRO_NATIVE_ADDON) : ADDON_PATH;
}

export function loadNativeBlas(addonPath_ = addonPath()): NativeLoad {
  const addonPath = addonPath_;
  if (cached && addonPath === ADDON_PATH) return cached;
  const result = load(addonPath);
  if (addonPath === ADDON_PATH) cached = result;
  return result;
}

function load(addonPath: string): NativeLoad {
  if (!fs.existsSync(addonPath)) {
    return { blas: null, label: '', threads: 0, reason: `native BLAS addon not built (${path.relative(REPO_ROOT, addonPath)} missing); ${HOWTO}` };
  }
  if (!process.env.OPENBLAS_NUM_THREADS) process.env.OPENBLAS_NUM_THREADS = '1';
  const threads = Math.max(1, Number.parseInt(process.env.OPENBLAS_NUM_THREADS, 10) || 1);
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const blas = require(addonPath) as NativeBlas;
    blas.setThreads(threads);
    const info = blas.info();
    return { blas, label: blasLabel(info.blas), threads: info.threads || threads, reason: '' };
  } catch (e) {
    const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    return { blas: null, label: '', threads: 0, reason: `native BLAS addon failed to load (${msg}); ${HOWTO}` };
  }
}
