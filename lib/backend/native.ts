/**
 * Loads the project's native BLAS addon (native/repro_blas.c, built at install by
 * environment/build-native.js). Optional: when it is missing or cannot load, the caller gets
 * a one-line reason and the repaired wasm kernels serve.
 *
 * Threads: sweeps run one process per core, so each process must use ONE BLAS thread or the
 * processes oversubscribe the cores. OpenBLAS reads OPENBLAS_NUM_THREADS when the library is
 * loaded; we default it to 1 before loading unless the user set it (a user's value is kept),
 * and set the chosen library's thread count through its API as well (BLIS has no such variable
 * of ours to read).
 *
 * Library and kernel: on Linux the addon opens the BLAS at run time and blas-select.ts decides
 * between OpenBLAS and BLIS (and says why); the choice is in `NativeLoad.choice`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ConfigError } from '../errors';
import { REPO_ROOT } from '../paths';
import { BlasChoice, BlasLibraryInfo, BlasKind, selectBlas } from './blas-select';

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
  /** Linux builds only (absent with Accelerate) */
  openLibrary?(kind: BlasKind, file: string, coretype: string): number;
  useLibrary(index: number): void;
  libraryInfo(index: number): BlasLibraryInfo;
  /** Σ x² (float64) over the tensors at `offs` with `sizes` elements */
  sumSquares(heap: Float32Array, offs: Uint32Array, sizes: Uint32Array): number;
  /** the fused AdamW update (lib/train/adamw.ts); table rows: p g m v pOut mOut vOut size */
  adamw(heap: Float32Array, table: Uint32Array, decay: Uint8Array, scalars: Float64Array): void;
  /** attention's softmax over rows of T (lib/backend/fused-ops.ts); absent in addons built before it */
  softmaxRows?(x: Float32Array, y: Float32Array, T: number, Tq: number, scale: number, causal: boolean): void;
  /** its gradient dx = scale·y·(dy − Σ dy·y) */
  softmaxRowsGrad?(y: Float32Array, dy: Float32Array, dx: Float32Array, T: number, scale: number): void;
  /** y = f(x), mode 0 GELU (tanh form), 1 GELU exact, 2 SiLU (lib/backend/fused-ops.ts); absent in older addons */
  act?(mode: number, x: Float32Array, y: Float32Array): void;
  /** dx = dy·f'(x) */
  actGrad?(mode: number, x: Float32Array, dy: Float32Array, dx: Float32Array): void;
  /** y = silu(a)·b */
  swiglu?(a: Float32Array, b: Float32Array, y: Float32Array): void;
  /** da = dy·b·silu'(a), db = dy·silu(a) */
  swigluGrad?(a: Float32Array, b: Float32Array, dy: Float32Array, da: Float32Array, db: Float32Array): void;
  /** LayerNorm (flags 1) / RMSNorm rows of D forward; flags 2: g given, 4: b given (lib/backend/fused-ops.ts) */
  norm?(x: Float32Array, g: Float32Array, b: Float32Array, y: Float32Array, mu: Float32Array, r: Float32Array, D: number, eps: number, flags: number): void;
  /** its backward: dx, and dg / db where the flags say g / b exist */
  normGrad?(x: Float32Array, g: Float32Array, dy: Float32Array, mu: Float32Array, r: Float32Array, dx: Float32Array, dg: Float32Array, db: Float32Array, D: number, flags: number): void;
  /** permuted copy of 4-byte elements at heap offsets (lib/backend/wasm-fast.ts Transpose) */
  permute?(heap: Float32Array, xOff: number, yOff: number, shape: Int32Array, perm: Int32Array): void;
}

export interface NativeLoad {
  blas: NativeBlas | null;
  /** 'OpenBLAS 0.3.21, Zen kernel', 'BLIS 0.9.0, zen3 kernel' or 'Accelerate'; '' when not loaded */
  label: string;
  /** which library and kernel, and why (null with Accelerate or when not loaded) */
  choice: BlasChoice | null;
  threads: number;
  /** why it did not load (one line), or '' */
  reason: string;
}

export const ADDON_PATH = path.join(REPO_ROOT, 'native', 'build', 'Release', 'repro_blas.node');
const HOWTO = 'to get it: apt-get install libopenblas-dev libblis-dev && node environment/build-native.js';

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
    return { blas: null, label: '', choice: null, threads: 0, reason: `native BLAS addon not built (${path.relative(REPO_ROOT, addonPath)} missing); ${HOWTO}` };
  }
  if (!process.env.OPENBLAS_NUM_THREADS) process.env.OPENBLAS_NUM_THREADS = '1';
  const threads = Math.max(1, Number.parseInt(process.env.OPENBLAS_NUM_THREADS, 10) || 1);
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const blas = require(addonPath) as NativeBlas;
    if (typeof blas.openLibrary !== 'function') {
      // Accelerate (macOS), linked at build time: nothing to choose
      blas.setThreads(threads);
      const info = blas.info();
      return { blas, label: blasLabel(info.blas), choice: null, threads: info.threads || threads, reason: '' };
    }
    let choice: BlasChoice;
    try {
      choice = selectBlas({ addon: blas as Required<NativeBlas>, threads });
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0];
      return { blas: null, label: '', choice: null, threads: 0, reason: `native BLAS unusable (${msg}); ${HOWTO}` };
    }
    const info = blas.info();
    return { blas, label: `${choice.label}, ${choice.kernel} kernel`, choice, threads: info.threads > 0 ? info.threads : threads, reason: '' };
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    return { blas: null, label: '', choice: null, threads: 0, reason: `native BLAS addon failed to load (${msg}); ${HOWTO}` };
  }
}
