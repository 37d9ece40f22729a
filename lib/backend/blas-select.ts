/**
 * Which BLAS library and kernel the native matmul runs, and why.
 *
 * Debian's OpenBLAS 0.3.21 picks its kernel from the CPU at load time (DYNAMIC_ARCH). It does
 * not know every recent CPU: on an AVX-512 Xeon it chose 'Prescott' (SSE3) and a 1024³ sgemm ran
 * at 20 GFLOP/s where its SkylakeX kernel does 112 and Debian's BLIS 0.9 (haswell kernels) 63
 * (/work/shared/MACHINE-FACTS.md, BLAS). The rule here:
 *
 *  1. REPRO_BLAS=openblas|blis forces a library; a user's OPENBLAS_CORETYPE is respected as is
 *     (OpenBLAS, that kernel) and reported; neither OPENBLAS_CORETYPE nor OPENBLAS_NUM_THREADS
 *     is ever changed for the user.
 *  2. Otherwise OpenBLAS keeps its own choice unless it runs a generic kernel on a CPU whose
 *     flags show AVX2 + FMA (or AVX-512): then every installed library (OpenBLAS as loaded,
 *     BLIS) is measured with a short sgemm run (a 256³ product and a batch of 50×50×32 ones,
 *     ~0.3 s), the fastest wins, and the decision is cached per CPU model and library build.
 *  3. Whatever is chosen passes a self-check against a float64 reference product (all four
 *     transpose cases, a batched call) before use; a library that fails it is never used.
 *
 * `planBlas` and `pickMeasured` are pure (unit-tested); `selectBlas` does the I/O.
 * REPRO_BLAS_TEST_CORETYPE=<name> (tests only) loads OpenBLAS with that kernel as if OpenBLAS had
 * picked it itself, to exercise the generic-kernel path on a CPU OpenBLAS knows.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ConfigError, checkOneOf } from '../errors';
import { REPO_ROOT } from '../paths';

export type BlasKind = 'openblas' | 'blis';
export const BLAS_KINDS: readonly BlasKind[] = ['openblas', 'blis'];
export type BlasRequest = 'auto' | BlasKind;
export const BLAS_REQUESTS: readonly BlasRequest[] = ['auto', 'openblas', 'blis'];

/** OpenBLAS kernels built for AVX2 + FMA or wider; anything else on such a CPU is a fallback. */
export const OPENBLAS_FAST_KERNELS: readonly string[] = ['Haswell', 'Zen', 'SkylakeX', 'CooperLake', 'SapphireRapids'];

/** The slice of the addon this module drives (native/repro_blas.c). */
export interface BlasAddon {
  openLibrary(kind: BlasKind, file: string, coretype: string): number;
  useLibrary(index: number): void;
  libraryInfo(index: number): BlasLibraryInfo;
  setThreads(n: number): void;
  sgemmBatch(heap: Float32Array, transA: boolean, transB: boolean, M: number, N: number, K: number, aOffs: Uint32Array, bOffs: Uint32Array, cOff: number): void;
}

export interface BlasLibraryInfo {
  kind: string;
  /** openblas_get_config() or 'BLIS' */
  config: string;
  /** openblas_get_corename() ('Zen', 'Prescott') or BLIS's bli_arch_string ('zen3', 'haswell') */
  kernel: string;
  version: string;
  threads: number;
}

export interface BlasMeasurement {
  library: BlasKind;
  kernel: string;
  /** 256³ sgemm, GFLOP/s (best of 3) */
  largeGflops: number;
  /** 200 × (50×32·32×50), GFLOP/s (best of 3): the size of small-T attention products */
  smallGflops: number;
}

export interface BlasChoice {
  library: BlasKind;
  /** 'OpenBLAS 0.3.21' | 'BLIS 0.9.0' */
  label: string;
  kernel: string;
  /** one sentence: which kernel runs and why */
  reason: string;
  /** the measurement that decided it (this run or the cached one), else [] */
  measured: BlasMeasurement[];
  /** largest error of the self-check, relative to Σ|a||b| */
  selfCheckError: number;
}

export interface BlasPlanInput {
  request: BlasRequest;
  /** $OPENBLAS_CORETYPE as the user set it, or '' */
  userCoretype: string;
  /** the kernel OpenBLAS runs ('' when OpenBLAS did not load) */
  openblasKernel: string;
  /** /proc/cpuinfo flags */
  cpuFlags: readonly string[];
  blisAvailable: boolean;
}

export type BlasPlan = { action: 'use'; library: BlasKind; reason: string } | { action: 'measure'; reason: string };

export function cpuHasFma(flags: readonly string[]): boolean {
  return (flags.includes('avx2') && flags.includes('fma')) || flags.includes('avx512f');
}

function simdName(flags: readonly string[]): string {
  return flags.includes('avx512f') ? 'AVX-512' : 'AVX2/FMA';
}

/** What to do, before anything is measured. Pure. */
export function planBlas(x: BlasPlanInput): BlasPlan {
  const ob = x.openblasKernel;
  if (x.request === 'blis') {
    if (!x.blisAvailable) throw new ConfigError("REPRO_BLAS=blis but BLIS (libblis.so.4) is not installed; apt-get install libblis-dev, or unset REPRO_BLAS");
    return { action: 'use', library: 'blis', reason: 'REPRO_BLAS=blis' };
  }
  if (x.request === 'openblas') {
    if (!ob) throw new ConfigError("REPRO_BLAS=openblas but OpenBLAS (libopenblas.so.0) did not load; apt-get install libopenblas0-pthread, or unset REPRO_BLAS");
    return { action: 'use', library: 'openblas', reason: `REPRO_BLAS=openblas: its ${ob} kernel` };
  }
  if (!ob) {
    if (x.blisAvailable) return { action: 'use', library: 'blis', reason: 'OpenBLAS is not installed; BLIS serves' };
    throw new ConfigError('no BLAS library found (libopenblas.so.0 or libblis.so.4); apt-get install libopenblas0-pthread');
  }
  if (x.userCoretype) return { action: 'use', library: 'openblas', reason: `OPENBLAS_CORETYPE=${x.userCoretype} set by the user: OpenBLAS runs its ${ob} kernel as asked` };
  if (!cpuHasFma(x.cpuFlags)) return { action: 'use', library: 'openblas', reason: `OpenBLAS picked its ${ob} kernel; the CPU flags show no AVX2/FMA` };
  if (OPENBLAS_FAST_KERNELS.includes(ob)) return { action: 'use', library: 'openblas', reason: `OpenBLAS picked its ${ob} kernel for this CPU (${simdName(x.cpuFlags)})` };
  if (!x.blisAvailable) {
    return { action: 'use', library: 'openblas', reason: `OpenBLAS runs its generic ${ob} kernel on a CPU with ${simdName(x.cpuFlags)} and no faster BLAS is installed (apt-get install libblis-dev)` };
  }
  return { action: 'measure', reason: `OpenBLAS runs its generic ${ob} kernel on a CPU with ${simdName(x.cpuFlags)}` };
}

/** The fastest measured library (geometric mean of the large and small figures). Pure. */
export function pickMeasured(ms: readonly BlasMeasurement[]): BlasMeasurement {
  if (ms.length === 0) throw new Error('pickMeasured: nothing was measured');
  const score = (m: BlasMeasurement) => Math.sqrt(m.largeGflops * m.smallGflops);
  return ms.reduce((best, m) => (score(m) > score(best) ? m : best));
}

export function describeMeasurement(ms: readonly BlasMeasurement[]): string {
  return ms.map((m) => `${m.library} ${m.kernel} ${m.largeGflops.toFixed(1)}/${m.smallGflops.toFixed(1)}`).join(', ') + ' GFLOP/s (256³/small)';
}

/** Flags from /proc/cpuinfo ([] where there is none). */
export function cpuFlags(): string[] {
  try {
    const m = /^flags\s*:\s*(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    return m ? m[1].trim().split(/\s+/) : [];
  } catch {
    return [];
  }
}

/** A deterministic fill in [-1, 1) (an LCG; Math.random would make failures unrepeatable). */
function fill(x: Float32Array, seed: number): void {
  let s = seed >>> 0;
  for (let i = 0; i < x.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = s / 2 ** 31 - 1;
  }
}

/**
 * Runs op(A)·op(B) for the four transpose cases and a batch of 3 through `sgemmBatch` and
 * compares with a float64 product. Returns the largest |error| / Σ|a||b| over all entries.
 */
export function blasSelfCheck(addon: Pick<BlasAddon, 'sgemmBatch'>): number {
  const M = 37, N = 29, K = 23, batch = 3;
  let worst = 0;
  for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]] as const) {
    const heap = new Float32Array(batch * (M * K + K * N + M * N) + 5);
    fill(heap, 17 + (ta ? 2 : 0) + (tb ? 1 : 0));
    const a0 = 5; // odd offsets: nothing may assume alignment
    const b0 = a0 + batch * M * K;
    const c0 = b0 + batch * K * N;
    const aOffs = Uint32Array.from({ length: batch }, (_, i) => a0 + i * M * K);
    const bOffs = Uint32Array.from({ length: batch }, (_, i) => b0 + i * K * N);
    heap.fill(Number.NaN, c0); // beta = 0 must overwrite, never read, C
    addon.sgemmBatch(heap, ta, tb, M, N, K, aOffs, bOffs, c0);
    for (let bi = 0; bi < batch; bi++) {
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < N; j++) {
          let ref = 0;
          let mag = 0;
          for (let k = 0; k < K; k++) {
            const a = heap[aOffs[bi] + (ta ? k * M + i : i * K + k)];
            const b = heap[bOffs[bi] + (tb ? j * K + k : k * N + j)];
            ref += a * b;
            mag += Math.abs(a * b);
          }
          const err = Math.abs(heap[c0 + bi * M * N + i * N + j] - ref) / (mag + 1e-30);
          worst = Math.max(worst, Number.isNaN(err) ? Infinity : err);
        }
      }
    }
  }
  return worst;
}

/** float32 sgemm with K = 23 terms: rounding stays far below this; a wrong kernel is far above. */
export const SELF_CHECK_TOLERANCE = 1e-5;

function gflopsOf(addon: BlasAddon, M: number, N: number, K: number, batch: number, minMs: number): number {
  const heap = new Float32Array(batch * (M * K + K * N + M * N));
  fill(heap, 5);
  const aOffs = Uint32Array.from({ length: batch }, (_, i) => i * M * K);
  const bOffs = Uint32Array.from({ length: batch }, (_, i) => batch * M * K + i * K * N);
  const c0 = batch * (M * K + K * N);
  addon.sgemmBatch(heap, false, false, M, N, K, aOffs, bOffs, c0); // warm-up
  let best = Infinity;
  for (let rep = 0; rep < 3; rep++) {
    let n = 0;
    const t0 = performance.now();
    let dt = 0;
    do {
      addon.sgemmBatch(heap, false, false, M, N, K, aOffs, bOffs, c0);
      n++;
      dt = performance.now() - t0;
    } while (dt < minMs);
    best = Math.min(best, dt / n);
  }
  return (2 * M * N * K * batch) / (best / 1000) / 1e9;
}

/** The short measurement of one opened library. */
export function measureLibrary(addon: BlasAddon, index: number, threads: number): BlasMeasurement {
  addon.useLibrary(index);
  addon.setThreads(threads);
  const info = addon.libraryInfo(index);
  return {
    library: info.kind as BlasKind,
    kernel: info.kernel,
    largeGflops: gflopsOf(addon, 256, 256, 256, 1, 30),
    smallGflops: gflopsOf(addon, 50, 50, 32, 200, 30),
  };
}

/** `$REPRO_BLAS_CACHE`, else native/build/blas-choice.json beside the addon. */
export function blasCachePath(env: NodeJS.ProcessEnv = process.env): string {
  return env.REPRO_BLAS_CACHE ? path.resolve(env.REPRO_BLAS_CACHE) : path.join(REPO_ROOT, 'native', 'build', 'blas-choice.json');
}

/** Cached per CPU model, library build and kernel, and thread count. */
export function blasCacheKey(cpuModel: string, openblas: BlasLibraryInfo, blis: BlasLibraryInfo, threads: number): string {
  return [cpuModel, openblas.config, `${labelOf(blis)} ${blis.kernel}`, `threads ${threads}`].join(' | ');
}

interface CacheEntry {
  library: BlasKind;
  measured: BlasMeasurement[];
  date: string;
}

function readCache(file: string): Record<string, CacheEntry> {
  try {
    const j = JSON.parse(fs.readFileSync(file, 'utf8'));
    return j && typeof j === 'object' && !Array.isArray(j) ? j : {};
  } catch {
    return {}; // missing or unreadable: measure again
  }
}

function writeCache(file: string, key: string, entry: CacheEntry): void {
  try {
    const all = readCache(file);
    all[key] = entry;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(all, null, 2) + '\n');
    fs.renameSync(tmp, file);
  } catch {
    /* a read-only checkout measures again next time; the choice itself is unaffected */
  }
}

export interface SelectOptions {
  addon: BlasAddon;
  /** the BLAS thread count for every library (OPENBLAS_NUM_THREADS, default 1) */
  threads: number;
  /** library files to try, in order */
  files?: Partial<Record<BlasKind, readonly string[]>>;
  env?: NodeJS.ProcessEnv;
  flags?: readonly string[];
}

export const BLAS_FILES: Record<BlasKind, readonly string[]> = {
  openblas: ['libopenblas.so.0', 'libopenblas.so'],
  blis: ['libblis.so.4', 'libblis.so'],
};

function openFirst(addon: BlasAddon, kind: BlasKind, files: readonly string[], coretype: string): { index: number; why: string } {
  const whys: string[] = [];
  for (const f of files) {
    try {
      return { index: addon.openLibrary(kind, f, coretype), why: '' };
    } catch (e) {
      whys.push(((e as Error).message || String(e)).replace(/^repro_blas\.openLibrary: /, ''));
    }
  }
  return { index: -1, why: whys[0] ?? 'not found' };
}

function labelOf(info: BlasLibraryInfo): string {
  return `${info.kind === 'blis' ? 'BLIS' : 'OpenBLAS'} ${info.version}`.trim();
}

/**
 * Opens the libraries, decides (measuring and caching when the plan says so), self-checks the
 * winner and leaves it active in the addon with `threads` threads. Throws ConfigError for a
 * bad REPRO_BLAS and Error when no library passes its self-check.
 */
export function selectBlas(o: SelectOptions): BlasChoice {
  const env = o.env ?? process.env;
  const files = { ...BLAS_FILES, ...o.files };
  const request = checkOneOf('REPRO_BLAS', env.REPRO_BLAS || 'auto', BLAS_REQUESTS);
  const userCoretype = env.OPENBLAS_CORETYPE ?? '';
  const testCore = userCoretype ? '' : env.REPRO_BLAS_TEST_CORETYPE ?? '';
  const idx: Partial<Record<BlasKind, number>> = {};
  const ob = openFirst(o.addon, 'openblas', files.openblas, testCore);
  if (ob.index >= 0) idx.openblas = ob.index;
  const bl = openFirst(o.addon, 'blis', files.blis, '');
  if (bl.index >= 0) idx.blis = bl.index;
  const info = (k: BlasKind) => o.addon.libraryInfo(idx[k]!);
  const plan = planBlas({
    request,
    userCoretype,
    openblasKernel: idx.openblas !== undefined ? info('openblas').kernel || 'unknown' : '',
    cpuFlags: o.flags ?? cpuFlags(),
    blisAvailable: idx.blis !== undefined,
  });

  let library: BlasKind;
  let reason: string;
  let measured: BlasMeasurement[] = [];
  if (plan.action === 'use') {
    library = plan.library;
    reason = plan.reason;
  } else {
    const cacheFile = blasCachePath(env);
    const key = blasCacheKey(os.cpus()[0]?.model ?? 'unknown CPU', info('openblas'), info('blis'), o.threads);
    const hit = readCache(cacheFile)[key];
    if (hit && BLAS_KINDS.includes(hit.library) && Array.isArray(hit.measured)) {
      library = hit.library;
      measured = hit.measured;
      reason = `${plan.reason}; ${library} measured faster on this CPU model (${describeMeasurement(measured)}, ${hit.date}, cached in ${path.relative(REPO_ROOT, cacheFile)})`;
    } else {
      measured = BLAS_KINDS.filter((k) => idx[k] !== undefined).map((k) => measureLibrary(o.addon, idx[k]!, o.threads));
      library = pickMeasured(measured).library;
      reason = `${plan.reason}; ${library} measured faster (${describeMeasurement(measured)})`;
      writeCache(cacheFile, key, { library, measured, date: new Date().toISOString().slice(0, 10) });
    }
  }
  o.addon.useLibrary(idx[library]!);
  o.addon.setThreads(o.threads);
  let err = blasSelfCheck(o.addon);
  if (!(err <= SELF_CHECK_TOLERANCE)) {
    const other: BlasKind = library === 'openblas' ? 'blis' : 'openblas';
    const failed = `${labelOf(info(library))} ${info(library).kernel} failed the self-check (error ${err.toExponential(1)})`;
    if (request !== 'auto' || idx[other] === undefined) throw new Error(`${failed}; no other BLAS to use`);
    o.addon.useLibrary(idx[other]!);
    o.addon.setThreads(o.threads);
    err = blasSelfCheck(o.addon);
    if (!(err <= SELF_CHECK_TOLERANCE)) throw new Error(`${failed}, and so did ${other}`);
    reason = `${failed}; ${other} serves`;
    library = other;
  }
  const li = info(library);
  return { library, label: labelOf(li), kernel: li.kernel, reason, measured, selfCheckError: err };
}
