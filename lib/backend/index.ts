/**
 * Picks the fastest TF.js engine present and fixes the wasm engine for training.
 *
 *   const info = await initEngine();   // idempotent
 *   console.log(describeEngine(info)); // one line for a notebook header or a results row
 *
 * Order: tfjs-node-gpu > webgpu (a hardware adapter) > tfjs-node > wasm > cpu. Both tfjs-node
 * packages and `webgpu` (Dawn) are optional dependencies (the first download libtensorflow); a
 * missing or broken one falls through to the next engine with one line, never a stack trace.
 * webgpu (webgpu.ts) is probed automatically only where a hardware Vulkan driver file is visible,
 * and a software adapter (llvmpipe, SwiftShader) is never picked automatically:
 * `REPRO_ENGINE=webgpu` forces it (the tests' webgpu pass does).
 *
 * Environment switches:
 *   REPRO_ENGINE=tfjs-node-gpu|webgpu|tfjs-node|wasm|cpu   start the search at this engine
 *   REPRO_WEBGPU_BACKEND=auto|vulkan|opengl   which Dawn backend webgpu asks (webgpu.ts)
 *   REPRO_NATIVE_MATMUL=0     on wasm, do not use the native BLAS addon (repaired wasm kernels serve)
 *   REPRO_WASM_KERNELS=stock  on wasm, keep tfjs-backend-wasm's own matmul, transpose, pow, tanh
 *                             kernels (the benchmark's stock column; correctness fixes stay)
 *   OPENBLAS_NUM_THREADS      BLAS threads per process (default 1: sweeps run one process per core)
 *   REPRO_BLAS=auto|openblas|blis   which BLAS the native matmul opens (auto: blas-select.ts decides)
 *   REPRO_NATIVE_ADDON=path   load the addon from elsewhere (tests use a missing/broken file)
 *
 * Every engine gets the gradients TF.js lacks (StridedSlice, GatherNd) and a BatchMatMul gradient
 * that handles broadcast batch dims (gradients.ts); the cpu engine's matmul gets a batch-broadcast
 * fix (cpu-kernels.ts).
 * On wasm the missing training kernels (UnsortedSegmentSum, conv backprop, ...) are always added:
 * without them training throws, so there is no "stock" behaviour worth keeping.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { ConfigError, EnvironmentError, checkOneOf } from '../errors';
import { MatmulPath, matmulPath, setMatmulPath } from './matmul';
import { loadNativeBlas } from './native';
import type { BlasChoice } from './blas-select';
import { installCpuFixes } from './cpu-kernels';
import { installGradients } from './gradients';
import { setFastKernels } from './wasm-fast';
import { installMissingKernels } from './wasm-kernels';
import { installWebGpuFixes } from './webgpu-kernels';
import { AdapterDescription, WebGpuUnavailable, adapterLabel, hasHardwareVulkanIcd, limitsLabel, startWebGpu } from './webgpu';

export type EngineName = 'tfjs-node-gpu' | 'webgpu' | 'tfjs-node' | 'wasm' | 'cpu';
export const ENGINES: readonly EngineName[] = ['tfjs-node-gpu', 'webgpu', 'tfjs-node', 'wasm', 'cpu'];

export interface EngineInfo {
  engine: EngineName;
  /** version of the engine's package, e.g. '4.22.0' */
  version: string;
  /** threads one process uses for compute */
  threads: number;
  /** 'native-blas (OpenBLAS 0.3.21)' | 'wasm-repaired' | 'wasm-stock' | 'webgpu-shaders' | 'builtin' */
  matmul: string;
  /** what was tried and why it was skipped; SIMD; thread settings */
  notes: string[];
  /** the native matmul's BLAS library, kernel and why (blas-select.ts); absent off that path */
  blas?: BlasChoice;
  /** on webgpu: the adapter (vendor, architecture, device, driver description, Dawn backend) and its limits */
  adapter?: AdapterDescription;
}

export interface InitOptions {
  /** start the search at this engine (default: $REPRO_ENGINE, else the fastest) */
  engine?: string;
  /** do not print the fallback line (it is still in `notes`) */
  quiet?: boolean;
}

let current: EngineInfo | null = null;
let pending: Promise<EngineInfo> | null = null;
let pendingKey = '';

function packageVersion(pkg: string): string {
  try {
    const p = require.resolve(`${pkg}/package.json`);
    return JSON.parse(fs.readFileSync(p, 'utf8')).version as string;
  } catch {
    return 'unknown';
  }
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : typeof e === 'object' && e && 'message' in e ? String((e as { message: unknown }).message) : String(e);
  return msg.split('\n')[0].slice(0, 200);
}

function isMissingModule(e: unknown, pkg: string): boolean {
  return e instanceof Error && (e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && e.message.includes(`'${pkg}'`);
}

/** tf.setBackend without TF.js's own multi-line warning and stack trace on failure. */
async function setBackendQuietly(name: string): Promise<{ ok: boolean; why: string }> {
  const warn = console.warn;
  const captured: string[] = [];
  console.warn = (...args: unknown[]) => captured.push(args.map(firstLine).join(' '));
  try {
    const ok = await tf.setBackend(name);
    await tf.ready();
    return { ok, why: ok ? '' : captured.filter((l) => !/^Initialization of backend/.test(l))[0] ?? 'initialisation failed' };
  } catch (e) {
    return { ok: false, why: firstLine(e) };
  } finally {
    console.warn = warn;
  }
}

function readEnvChoice(name: string, allowed: readonly string[], fallback: string): string {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  if (!allowed.includes(v)) throw new ConfigError(`unknown ${name} '${v}'; expected one of ${allowed.join(', ')}`);
  return v;
}

async function tryTfjsNode(engine: 'tfjs-node-gpu' | 'tfjs-node'): Promise<EngineInfo | string> {
  const pkg = `@tensorflow/${engine}`;
  try {
    require(pkg);
  } catch (e) {
    return isMissingModule(e, pkg) ? `${pkg} is not installed (npm install ${pkg})` : `${pkg} failed to load (${firstLine(e)})`;
  }
  const r = await setBackendQuietly('tensorflow');
  if (!r.ok) return `${pkg} loaded but its backend did not start (${r.why})`;
  const threads = Number.parseInt(process.env.TF_NUM_INTRAOP_THREADS ?? '', 10) || require('os').cpus().length;
  return { engine, version: packageVersion(pkg), threads, matmul: 'builtin', notes: [] };
}

async function tryWasm(notes: string[], say: (line: string) => void): Promise<EngineInfo | string> {
  const kernels = readEnvChoice('REPRO_WASM_KERNELS', ['repaired', 'stock'], 'repaired');
  const native = readEnvChoice('REPRO_NATIVE_MATMUL', ['0', '1'], '1');
  let wasmMod: typeof import('@tensorflow/tfjs-backend-wasm');
  try {
    wasmMod = require('@tensorflow/tfjs-backend-wasm');
  } catch (e) {
    return `@tensorflow/tfjs-backend-wasm failed to load (${firstLine(e)})`;
  }
  const dist = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
  // A file path: in Node the .wasm is read from disk, not fetched. (Not tf.findBackend('wasm')
  // to test first: that would start initialising the engine before the paths are set.)
  try {
    wasmMod.setWasmPaths(dist);
  } catch {
    /* an earlier initialisation failed in this process: setBackend below reports it */
  }
  const r = await setBackendQuietly('wasm');
  if (!r.ok && /out of memory|cannot allocate wasm memory/i.test(r.why)) {
    // Not a reason to train on the JS engine under the same run ids (other numbers in the last digits): say why.
    const as = addressSpaceLimit();
    throw new EnvironmentError(
      `the wasm engine could not reserve its memory (${r.why})${as ? `; this process may use at most ${as} of address space (ulimit -v / prlimit --as), and wasm with its guard regions needs more (12 GB is enough here)` : ''}: ` +
        `raise the limit, or choose the slower JS engine explicitly with REPRO_ENGINE=cpu (its numbers differ from wasm's in the last digits)`,
    );
  }
  if (!r.ok) return `the wasm engine did not start (${r.why})`;
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  notes.push(simd ? 'wasm SIMD' : 'wasm without SIMD');
  muteCpuBanner(); // borrowed kernels and tests use the cpu engine beside wasm
  const added = installMissingKernels();
  if (added.length) notes.push(`added wasm kernels: ${added.join(', ')}`);

  let path_: MatmulPath = 'repaired';
  let matmul = 'wasm-repaired';
  let threads = 1;
  let blas: BlasChoice | undefined;
  if (kernels === 'stock') {
    path_ = 'stock';
    matmul = 'wasm-stock';
    notes.push('REPRO_WASM_KERNELS=stock: tfjs-backend-wasm matmul kernels');
  } else if (native === '0') {
    notes.push('REPRO_NATIVE_MATMUL=0: repaired wasm matmul kernels');
  } else {
    // OpenBLAS reserves its buffers when first used and crashes (SIGSEGV, no message) when an address-space
    // limit leaves no room beside wasm's reservations: measured here, 12 GB crashed, 14 GB ran (issue 31, 11).
    const asBytes = addressSpaceBytes();
    if (asBytes !== null && asBytes < NATIVE_MIN_ADDRESS_SPACE) {
      throw new EnvironmentError(
        `this process may use at most ${(asBytes / 1e9).toFixed(1)} GB of address space (ulimit -v / prlimit --as); the native BLAS beside the wasm engine needs ${NATIVE_MIN_ADDRESS_SPACE / 1e9} GB ` +
          `(below that OpenBLAS crashes without a message): raise the limit, or set REPRO_NATIVE_MATMUL=0 (the repaired wasm matmul kernels; slower)`,
      );
    }
    const nat = loadNativeBlas();
    if (nat.blas) {
      path_ = 'native';
      matmul = `native-blas (${nat.label})`;
      threads = nat.threads;
      notes.push(`BLAS threads ${nat.threads} (OPENBLAS_NUM_THREADS=${process.env.OPENBLAS_NUM_THREADS})`);
      if (nat.choice) notes.push(`BLAS kernel: ${nat.choice.reason}`);
      blas = nat.choice ?? undefined;
      setMatmulPath('native', nat.blas);
    } else {
      notes.push(nat.reason);
      say(`engine: ${nat.reason}; the repaired wasm kernels serve`);
    }
  }
  if (path_ !== 'native') setMatmulPath(path_);
  // the repaired configuration also replaces the slow elementwise/transpose kernels (wasm-fast.ts)
  setFastKernels(path_ !== 'stock');
  if (path_ !== 'stock') notes.push('fast wasm kernels: Transpose, Pow (small integer exponents), Tanh, Identity, Unpack, Sum (leading axes), Concat, SplitV, Cast (same dtype)');
  return { engine: 'wasm', version: packageVersion('@tensorflow/tfjs-backend-wasm'), threads, matmul, notes, ...(blas ? { blas } : {}) };
}

/** The address space the native BLAS needs beside the wasm engine (bytes of RLIMIT_AS). */
const NATIVE_MIN_ADDRESS_SPACE = 14e9;

/** This process's address-space limit (RLIMIT_AS) in bytes, or null when unlimited or unknown (not Linux). */
export function addressSpaceBytes(): number | null {
  try {
    const line = fs.readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max address space'));
    const soft = line?.slice('Max address space'.length).trim().split(/\s+/)[0];
    if (!soft || soft === 'unlimited' || !Number.isFinite(Number(soft))) return null;
    return Number(soft);
  } catch {
    return null;
  }
}

/** The address-space limit as text ('8.0 GB'), or null. */
function addressSpaceLimit(): string | null {
  const b = addressSpaceBytes();
  return b === null ? null : `${(b / 1e9).toFixed(1)} GB`;
}

/** The cpu engine greets Node users with a 4-line banner on first use; our own line says enough. */
function muteCpuBanner(): void {
  try {
    const cpu = tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null;
    if (cpu && 'firstUse' in cpu) cpu.firstUse = false;
  } catch {
    /* no cpu engine registered: nothing to mute */
  }
}

/** Quiet skips: an automatic pick does not report them (nothing the user asked for or installed failed). */
const QUIET = '\u0000';

async function tryWebGpu(forced: boolean): Promise<EngineInfo | string> {
  if (!forced && !hasHardwareVulkanIcd()) return `${QUIET}no hardware Vulkan driver file visible`;
  try {
    const s = await startWebGpu(forced);
    muteCpuBanner();
    const fixed = installWebGpuFixes();
    return { engine: 'webgpu', version: s.version, threads: 1, matmul: 'webgpu-shaders', notes: [`adapter ${adapterLabel(s.adapter)}`, limitsLabel(s.adapter), `repaired webgpu kernels: ${fixed.join(', ')}`], adapter: s.adapter };
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const msg = e instanceof Error ? e.message : String(e);
    const quiet = !forced && (e instanceof WebGpuUnavailable && (e.missing || msg.startsWith('only a software adapter')));
    return `${quiet ? QUIET : ''}${msg}`;
  }
}

async function tryCpu(): Promise<EngineInfo | string> {
  muteCpuBanner();
  const r = await setBackendQuietly('cpu');
  if (!r.ok) return `the cpu engine did not start (${r.why})`;
  return { engine: 'cpu', version: packageVersion('@tensorflow/tfjs-core'), threads: 1, matmul: 'builtin', notes: [] };
}

async function select(requested: string, quiet: boolean): Promise<EngineInfo> {
  const forced = requested !== 'auto';
  const start = forced ? ENGINES.indexOf(requested as EngineName) : 0;
  const notes: string[] = [];
  const say = (line: string) => {
    if (!quiet) console.warn(line);
  };
  const skipped: string[] = [];
  notes.push(`gradients added: ${installGradients().join(', ')}`);
  notes.push(`cpu engine broadcast fix: ${installCpuFixes().join(', ')}`);
  for (let i = start; i < ENGINES.length; i++) {
    const engine = ENGINES[i];
    const res =
      engine === 'wasm'
        ? await tryWasm(notes, say)
        : engine === 'cpu'
          ? await tryCpu()
          : engine === 'webgpu'
            ? await tryWebGpu(forced && i === start)
            : await tryTfjsNode(engine);
    if (typeof res !== 'string') {
      res.notes = [...skipped, ...notes, ...res.notes.filter((n) => !notes.includes(n))];
      // One line when something the user asked for, or that is installed, was not usable;
      // an optional engine that is simply not installed is not news on an automatic pick.
      const worth = skipped.filter((s, j) => (forced && j === 0) || (!s.includes(' is not installed') && !s.includes(QUIET)));
      if (worth.length) say(`engine: ${worth.map((w) => w.replace(QUIET, '')).join('; ')}; using ${engine}`);
      res.notes = res.notes.map((n) => n.replace(QUIET, ''));
      return res;
    }
    skipped.push(`${engine}: ${res}`);
  }
  throw new Error(`no TF.js engine could start: ${skipped.join('; ').replace(new RegExp(QUIET, 'g'), '')}`);
}

/**
 * Selects and initialises the engine. Idempotent: later calls return the same EngineInfo
 * unless a different engine is requested explicitly.
 */
export async function initEngine(opts: InitOptions = {}): Promise<EngineInfo> {
  const requested = checkOneOf('engine', opts.engine ?? (process.env.REPRO_ENGINE || 'auto'), ['auto', ...ENGINES]);
  const key = `${requested}|${process.env.REPRO_NATIVE_MATMUL ?? ''}|${process.env.REPRO_WASM_KERNELS ?? ''}`;
  if (pending && pendingKey === key) return pending;
  pendingKey = key;
  pending = select(requested, !!opts.quiet).then(
    (info) => (current = info),
    (e) => {
      pending = null;
      throw e;
    },
  );
  return pending;
}

/** The engine chosen by initEngine (throws if initEngine has not run). */
export function engineInfo(): EngineInfo {
  if (current == null) throw new ConfigError('engineInfo() called before initEngine(); await initEngine() first');
  return current;
}

/** One line: `wasm 4.22.0 · matmul native-blas (OpenBLAS 0.3.21, Zen kernel) · 1 thread · wasm SIMD`. */
export function describeEngine(info: EngineInfo = engineInfo()): string {
  const simd = info.notes.find((n) => n.startsWith('wasm '));
  const parts = [`${info.engine} ${info.version}`, `matmul ${info.matmul}`, `${info.threads} thread${info.threads === 1 ? '' : 's'}`];
  if (simd) parts.push(simd);
  if (info.adapter) parts.push(adapterLabel(info.adapter), limitsLabel(info.adapter));
  return parts.join(' · ');
}

export { matmulPath, setMatmulPath } from './matmul';
export type { MatmulPath } from './matmul';
export { loadNativeBlas } from './native';
export { checkDevice, readable, DeviceLostError, adapterLabel } from './webgpu';
export type { AdapterDescription } from './webgpu';
