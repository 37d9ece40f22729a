/**
 * The WebGPU engine: `@tensorflow/tfjs-backend-webgpu` on Dawn's Node bindings (npm `webgpu`).
 *
 * Why this path: `@tensorflow/tfjs-node-gpu` binds libtensorflow 2.9.1 and needs CUDA 11.2 +
 * cuDNN 8.1 (tensorflow/tfjs#8362); on today's drivers it does not load. Dawn reaches the GPU
 * through Vulkan (NVIDIA, AMD, Intel) and needs only the driver.
 *
 * How it starts (order matters):
 *   1. `create([...])` from `webgpu` makes a GPU object; we pick the adapter ourselves, so the
 *      engine line can name it and a software adapter can be refused.
 *   2. `globalThis.navigator = { gpu }` with a `requestAdapter` that hands back that adapter
 *      (tfjs-backend-webgpu calls `navigator.gpu.requestAdapter()` itself, without the
 *      `featureLevel: 'compatibility'` option Dawn's OpenGL ES backend needs).
 *   3. only then `require('@tensorflow/tfjs-backend-webgpu')`: it registers its backend at import
 *      time, and only when `navigator.gpu` exists.
 *
 * With no GPU (CI, this machine kind) Mesa's llvmpipe serves through Dawn's OpenGL ES backend in
 * compatibility mode (`EGL_PLATFORM=surfaceless`). Such a software adapter is never chosen
 * automatically; `REPRO_ENGINE=webgpu` forces it (the tests do).
 *
 * Environment:
 *   REPRO_WEBGPU_BACKEND=auto|vulkan|opengl   Dawn backend to ask (auto: Vulkan when a Vulkan
 *                                            loader is present, then OpenGL ES)
 *   REPRO_WEBGPU_PACKAGE=name|path           load Dawn's bindings from elsewhere (tests: a missing one)
 *
 * Node cannot read GPU memory synchronously (the backend's readSync draws through
 * OffscreenCanvas, which Node lacks): `dataSync()` on a tensor computed on the GPU throws a
 * clear error here; `await tensor.data()` (or `readable(tensors)` first) works. After an
 * asynchronous read a tensor's values are cached, so later `dataSync()` calls on it are free.
 */
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../errors';

export type DawnBackend = 'vulkan' | 'opengl';
export const DAWN_BACKENDS: readonly DawnBackend[] = ['vulkan', 'opengl'];

/** What the chosen adapter says about itself; stored in every results record's engine field. */
export interface AdapterDescription {
  /** Dawn backend that serves it */
  backend: DawnBackend;
  /** `GPUAdapterInfo` fields as Dawn reports them ('' when unknown) */
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** a CPU rasteriser (llvmpipe, lavapipe, SwiftShader): correct but slow; never picked by default */
  software: boolean;
  /** 'core' or 'compatibility' (OpenGL ES serves only the latter) */
  featureLevel: 'core' | 'compatibility';
  /** the limits that bound what fits: one buffer, one storage binding (bytes) */
  limits: { maxBufferSize: number; maxStorageBufferBindingSize: number; maxComputeWorkgroupStorageSize: number };
}

/** The GPU is gone (driver reset, out of memory, removed): the run stops; rerunning resumes from its checkpoint. */
export class DeviceLostError extends Error {
  override name = 'DeviceLostError';
}

/** Why webgpu could not start; `missing` marks "the package is not installed". */
export class WebGpuUnavailable extends Error {
  constructor(
    message: string,
    readonly missing = false,
  ) {
    super(message);
  }
}

const SOFTWARE = /llvmpipe|lavapipe|softpipe|swiftshader|software|\bcpu\b/i;

/** True for a CPU rasteriser, judged from every field Dawn fills (vendor, architecture, device, description). */
export function isSoftwareAdapter(info: { vendor?: string; architecture?: string; device?: string; description?: string }): boolean {
  return [info.vendor, info.architecture, info.device, info.description].some((s) => !!s && SOFTWARE.test(s));
}

/** A Vulkan loader is present on this machine (Dawn's Vulkan backend cannot start without one). */
export function hasVulkanLoader(): boolean {
  if (process.platform !== 'linux') return true;
  const dirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib', '/lib/x86_64-linux-gnu'];
  for (const d of [...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), ...dirs]) {
    if (fs.existsSync(`${d}/libvulkan.so.1`)) return true;
  }
  return false;
}

/** A hardware Vulkan driver file is visible (not lavapipe/SwiftShader): the cheap test before an automatic probe. */
export function hasHardwareVulkanIcd(): boolean {
  const files: string[] = [];
  for (const v of [process.env.VK_ICD_FILENAMES, process.env.VK_DRIVER_FILES]) if (v) files.push(...v.split(':').filter(Boolean));
  for (const d of ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d']) {
    try {
      for (const f of fs.readdirSync(d)) files.push(`${d}/${f}`);
    } catch {
      /* no such folder */
    }
  }
  return files.some((f) => f.endsWith('.json') && !/lvp|lavapipe|swiftshader/i.test(f));
}

interface Started {
  adapter: AdapterDescription;
  backendName: 'webgpu';
  version: string;
}

let started: Started | null = null;
/** Dawn's GPU instance must outlive every adapter and device: collected, it takes them down mid-run (a crash, not an error). */
const keepAlive: unknown[] = [];
let lostReason: string | null = null;
/** The first WebGPU validation error: the command buffer it was in computed nothing (its results read as zeros). */
let gpuError: string | null = null;

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0].slice(0, 200);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Gpu = any;

function loadDawn(): { create: (opts: string[]) => Gpu; globals: Record<string, unknown> } {
  const pkg = process.env.REPRO_WEBGPU_PACKAGE || 'webgpu';
  try {
    // `webgpu` is an ES module; Node >= 20.19 loads it with require().
    return require(pkg);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'MODULE_NOT_FOUND' && String((e as Error).message).includes(`'${pkg}'`)) {
      throw new WebGpuUnavailable(`the npm package webgpu is not installed (npm install webgpu)${pkg === 'webgpu' ? '' : `: REPRO_WEBGPU_PACKAGE=${pkg} not found`}`, true);
    }
    throw new WebGpuUnavailable(`the npm package webgpu failed to load (${firstLine(e)})`);
  }
}

async function pickAdapter(dawn: ReturnType<typeof loadDawn>, backends: DawnBackend[]): Promise<{ adapter: Gpu; gpu: Gpu; desc: AdapterDescription } | string> {
  const tried: string[] = [];
  for (const backend of backends) {
    if (backend === 'opengl' && !process.env.EGL_PLATFORM) process.env.EGL_PLATFORM = 'surfaceless';
    let gpu: Gpu;
    try {
      gpu = dawn.create([`backend=${backend}`]);
      keepAlive.push(gpu);
    } catch (e) {
      tried.push(`${backend}: ${firstLine(e)}`);
      continue;
    }
    for (const featureLevel of ['core', 'compatibility'] as const) {
      let adapter: Gpu = null;
      try {
        adapter = await gpu.requestAdapter({ powerPreference: 'high-performance', ...(featureLevel === 'compatibility' ? { featureLevel } : {}) });
      } catch (e) {
        tried.push(`${backend}/${featureLevel}: ${firstLine(e)}`);
      }
      if (!adapter) continue;
      const info = adapter.info ?? {};
      const s = (v: unknown) => (typeof v === 'string' ? v : '');
      const desc: AdapterDescription = {
        backend,
        vendor: s(info.vendor),
        architecture: s(info.architecture),
        device: s(info.device),
        description: s(info.description),
        software: false,
        featureLevel,
        limits: {
          maxBufferSize: Number(adapter.limits.maxBufferSize),
          maxStorageBufferBindingSize: Number(adapter.limits.maxStorageBufferBindingSize),
          maxComputeWorkgroupStorageSize: Number(adapter.limits.maxComputeWorkgroupStorageSize),
        },
      };
      desc.software = isSoftwareAdapter(desc) || info.isFallbackAdapter === true;
      return { adapter, gpu, desc };
    }
    tried.push(`${backend}: no adapter`);
  }
  return tried.join('; ');
}

function readBackendChoice(): DawnBackend[] {
  const v = process.env.REPRO_WEBGPU_BACKEND ?? 'auto';
  if (v === '' || v === 'auto') return hasVulkanLoader() ? ['vulkan', 'opengl'] : ['opengl'];
  if (!(DAWN_BACKENDS as readonly string[]).includes(v)) {
    throw new ConfigError(`unknown REPRO_WEBGPU_BACKEND '${v}'; expected one of auto, ${DAWN_BACKENDS.join(', ')}`);
  }
  return [v as DawnBackend];
}

/**
 * Starts tfjs-backend-webgpu on the best adapter and selects it. `allowSoftware`: accept
 * llvmpipe & co (only when the user forced the engine). Throws WebGpuUnavailable with one line.
 */
export async function startWebGpu(allowSoftware: boolean): Promise<Started> {
  if (started) return started;
  const backends = readBackendChoice();
  const dawn = loadDawn();
  const picked = await pickAdapter(dawn, backends);
  if (typeof picked === 'string') {
    throw new WebGpuUnavailable(`no WebGPU adapter (${picked}); on an NVIDIA machine the Vulkan driver (libvulkan1 + the NVIDIA ICD) must be visible, in containers NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics`);
  }
  const { adapter, gpu, desc } = picked;
  if (desc.software && !allowSoftware) {
    throw new WebGpuUnavailable(`only a software adapter (${adapterLabel(desc)}), slower than wasm; REPRO_ENGINE=webgpu forces it`);
  }
  Object.assign(globalThis, dawn.globals);
  const nav = {
    gpu: {
      requestAdapter: async () => adapter,
      getPreferredCanvasFormat: () => 'rgba8unorm',
      wgslLanguageFeatures: gpu.wgslLanguageFeatures,
    },
  };
  Object.defineProperty(globalThis, 'navigator', { value: nav, configurable: true, writable: true });
  try {
    require('@tensorflow/tfjs-backend-webgpu');
  } catch (e) {
    throw new WebGpuUnavailable(`@tensorflow/tfjs-backend-webgpu failed to load (${firstLine(e)})`, (e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND');
  }
  if (!tf.findBackendFactory('webgpu')) throw new WebGpuUnavailable('@tensorflow/tfjs-backend-webgpu loaded but registered no backend');
  const ok = await tf.setBackend('webgpu').catch((e) => {
    throw new WebGpuUnavailable(`the webgpu backend did not start on ${adapterLabel(desc)} (${firstLine(e)})`);
  });
  if (!ok) throw new WebGpuUnavailable(`the webgpu backend did not start on ${adapterLabel(desc)}`);
  await tf.ready();
  installNodeReadSync();
  watchDevice();
  let version = 'unknown';
  try {
    version = JSON.parse(fs.readFileSync(require.resolve('@tensorflow/tfjs-backend-webgpu/package.json'), 'utf8')).version;
  } catch {
    /* keep 'unknown' */
  }
  started = { adapter: desc, backendName: 'webgpu', version };
  return started;
}

/** The adapter webgpu runs on, or null when the webgpu engine has not started in this process. */
export function currentAdapter(): AdapterDescription | null {
  return started?.adapter ?? null;
}

/** `llvmpipe-llvm-15-0-6-256-bits (OpenGL version 4.5 … Mesa 22.3.6) via opengl/compatibility`. */
export function adapterLabel(a: AdapterDescription): string {
  const name = [a.vendor, a.architecture, a.device].filter(Boolean).join(' ') || 'unnamed adapter';
  return `${name}${a.description ? ` (${a.description})` : ''} via ${a.backend}${a.featureLevel === 'compatibility' ? '/compatibility' : ''}${a.software ? ', software' : ''}`;
}

function mib(n: number): string {
  return `${Math.round(n / 2 ** 20)} MiB`;
}

/** The limits part of the engine line. */
export function limitsLabel(a: AdapterDescription): string {
  return `maxBufferSize ${mib(a.limits.maxBufferSize)}, maxStorageBufferBindingSize ${mib(a.limits.maxStorageBufferBindingSize)}`;
}

/**
 * A device that was lost, or a validation error (an invalid shader or binding: the whole command buffer
 * it was in is dropped, so results read as zeros), stops every later step with one clear error (the
 * training loop asks).
 */
function watchDevice(): void {
  const backend = tf.backend() as unknown as {
    device?: { lost?: Promise<{ reason: string; message: string }>; onuncapturederror?: ((ev: { error?: { message?: string } }) => void) | null };
  };
  if (backend.device && 'onuncapturederror' in backend.device) {
    backend.device.onuncapturederror = (ev) => {
      if (gpuError == null) gpuError = String(ev.error?.message ?? 'unknown').split('\n')[0];
    };
  }
  backend.device?.lost?.then((info) => {
    if (info.reason === 'destroyed' && lostReason === 'disposed') return;
    lostReason = `${info.reason || 'unknown'}${info.message ? `: ${info.message.split('\n')[0]}` : ''}`;
    console.error(`engine: the WebGPU device was lost (${lostReason})`);
  });
}

/** Throws DeviceLostError when the GPU device was lost; a no-op on every other engine. */
export function checkDevice(where: string): void {
  if (gpuError != null) {
    throw new DeviceLostError(`a WebGPU validation error (${gpuError}) ${where}: the GPU dropped work of this step, so its results cannot be trusted; this is a kernel bug of tfjs-backend-webgpu on this adapter (lib/backend/webgpu-kernels.ts repairs the known ones): please report it with the engine line`);
  }
  if (lostReason != null && lostReason !== 'disposed') {
    throw new DeviceLostError(`the WebGPU device was lost (${lostReason}) ${where}; rerun to resume from the last checkpoint (a driver reset or GPU out of memory are the usual causes)`);
  }
}

/** For tests: a validation error as Dawn reports one (null: none). */
export function simulateGpuError(message: string | null): void {
  gpuError = message;
}

/** For tests: mark the device lost as Dawn would (null: as before). */
export function simulateDeviceLost(reason: string | null): void {
  lostReason = reason;
}

/** Node has no OffscreenCanvas: a synchronous read of GPU data fails with a message that says what to do. */
function installNodeReadSync(): void {
  const backend = tf.backend() as unknown as { constructor: { prototype: Record<string, unknown> } };
  const proto = backend.constructor.prototype as { readSync: (id: object) => unknown; tensorMap: { get(id: object): { values?: unknown; dtype: string } } } & Record<string, unknown>;
  if (proto.__reproReadSync) return;
  const original = proto.readSync;
  proto.readSync = function (this: typeof proto, dataId: object) {
    const d = this.tensorMap.get(dataId);
    if (d && (d.values != null || d.dtype === 'string' || d.dtype === 'complex64')) return original.call(this, dataId);
    throw new Error('webgpu in Node cannot read GPU memory synchronously (dataSync/arraySync): await tensor.data() first (readable() in lib/backend)');
  };
  proto.__reproReadSync = true;
}

/**
 * Makes `dataSync()` work on these tensors on every engine: on webgpu it reads them
 * asynchronously once (the values are then cached); elsewhere it does nothing.
 */
export async function readable(tensors: tf.Tensor | tf.Tensor[]): Promise<void> {
  if (tf.getBackend() !== 'webgpu') return;
  const list = Array.isArray(tensors) ? tensors : [tensors];
  await Promise.all(list.filter((t) => !t.isDisposed).map((t) => t.data()));
}
