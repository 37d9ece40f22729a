/**
 * Engine selection: idempotence, the one-line description, bad settings as ConfigErrors, and
 * the fallbacks (forced missing engine, missing or broken addon, switches) in child processes,
 * checking that each prints at most one clear line and never a stack trace.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../../lib/errors';
import { describeEngine, engineInfo, initEngine, EngineInfo } from '../../lib/backend';
import { ADDON_PATH } from '../../lib/backend/native';

const backendModule = path.resolve(__dirname, '..', '..', 'lib', 'backend');

/** Runs initEngine in a fresh process; returns its EngineInfo and every non-empty output line. */
function childInit(env: Record<string, string | undefined>): { info: EngineInfo | null; lines: string[]; status: number | null } {
  const script = `require(${JSON.stringify(backendModule)}).initEngine().then(` +
    `(i) => process.stdout.write('INFO ' + JSON.stringify(i) + '\\n'), (e) => { console.error(e.name + ': ' + e.message); process.exit(3); })`;
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['REPRO_ENGINE', 'REPRO_NATIVE_MATMUL', 'REPRO_WASM_KERNELS', 'REPRO_NATIVE_ADDON', 'OPENBLAS_NUM_THREADS', 'REPRO_WEBGPU_BACKEND', 'REPRO_WEBGPU_PACKAGE']) delete childEnv[k];
  for (const [k, v] of Object.entries(env)) if (v !== undefined) childEnv[k] = v;
  const r = spawnSync(process.execPath, ['-e', script], { env: childEnv, encoding: 'utf8', timeout: 60000 });
  const all = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.trim() !== '');
  const infoLine = all.find((l) => l.startsWith('INFO '));
  return {
    info: infoLine ? (JSON.parse(infoLine.slice(5)) as EngineInfo) : null,
    lines: all.filter((l) => !l.startsWith('INFO ')),
    status: r.status,
  };
}

function assertNoStack(lines: string[]): void {
  assert.ok(!lines.some((l) => /^\s+at\s/.test(l)), `stack trace printed:\n${lines.join('\n')}`);
}

describe('initEngine in this process', () => {
  test('is idempotent and describes itself in one line', async () => {
    const a = await initEngine({ quiet: true });
    const b = await initEngine({ quiet: true });
    assert.equal(a, b);
    assert.equal(engineInfo(), a);
    assert.ok(['tfjs-node-gpu', 'webgpu', 'tfjs-node', 'wasm', 'cpu'].includes(a.engine));
    const line = describeEngine(a);
    assert.ok(!line.includes('\n') && line.startsWith(a.engine) && line.includes(a.matmul), line);
    assert.ok(a.threads >= 1);
    const expectedBackend = a.engine.startsWith('tfjs-node') ? 'tensorflow' : a.engine;
    assert.equal(tf.getBackend(), expectedBackend);
  });

  test('an unknown engine is a ConfigError listing the valid ones', async () => {
    await assert.rejects(initEngine({ engine: 'gpu' }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match((e as Error).message, /unknown engine 'gpu'; expected one of auto, tfjs-node-gpu, webgpu, tfjs-node, wasm, cpu/);
      return true;
    });
  });
});

describe('fallbacks and switches (child processes)', () => {
  test('REPRO_ENGINE=tfjs-node without the package falls back to wasm with one line, no stack', () => {
    let installed = true;
    try {
      require.resolve('@tensorflow/tfjs-node');
    } catch {
      installed = false;
    }
    const r = childInit({ REPRO_ENGINE: 'tfjs-node' });
    assert.equal(r.status, 0, r.lines.join('\n'));
    if (installed) {
      assert.equal(r.info?.engine, 'tfjs-node');
      return;
    }
    assert.equal(r.info?.engine, 'wasm');
    assert.equal(r.lines.length, 1, `expected one line, got:\n${r.lines.join('\n')}`);
    assert.match(r.lines[0], /tfjs-node.*not installed.*using wasm/);
    assertNoStack(r.lines);
  });

  test('REPRO_ENGINE=cpu selects the pure-JS engine silently', () => {
    const r = childInit({ REPRO_ENGINE: 'cpu' });
    assert.equal(r.info?.engine, 'cpu');
    assert.equal(r.info?.matmul, 'builtin');
    assert.deepEqual(r.lines, []);
  });

  test('an unknown REPRO_ENGINE exits with a ConfigError, no stack', () => {
    const r = childInit({ REPRO_ENGINE: 'tpu' });
    assert.equal(r.status, 3);
    assert.equal(r.lines.length, 1);
    assert.match(r.lines[0], /ConfigError: unknown engine 'tpu'; expected one of/);
  });

  test('an unknown REPRO_WASM_KERNELS value is a ConfigError', () => {
    const r = childInit({ REPRO_ENGINE: 'wasm', REPRO_WASM_KERNELS: 'fast' });
    assert.equal(r.status, 3);
    assert.match(r.lines.join('\n'), /ConfigError: unknown REPRO_WASM_KERNELS 'fast'; expected one of repaired, stock/);
  });

  test('REPRO_NATIVE_MATMUL=0 serves the repaired wasm kernels silently', () => {
    const r = childInit({ REPRO_ENGINE: 'wasm', REPRO_NATIVE_MATMUL: '0' });
    assert.equal(r.info?.matmul, 'wasm-repaired');
    assert.deepEqual(r.lines, []);
  });

  test('REPRO_WASM_KERNELS=stock keeps the stock matmul', () => {
    const r = childInit({ REPRO_ENGINE: 'wasm', REPRO_WASM_KERNELS: 'stock' });
    assert.equal(r.info?.matmul, 'wasm-stock');
  });

  test('a missing addon falls back to the repaired kernels with one line', () => {
    const r = childInit({ REPRO_ENGINE: 'wasm', REPRO_NATIVE_ADDON: path.join(os.tmpdir(), 'no-such-addon.node') });
    assert.equal(r.info?.matmul, 'wasm-repaired');
    assert.equal(r.lines.length, 1, r.lines.join('\n'));
    assert.match(r.lines[0], /native BLAS addon not built.*repaired wasm kernels serve/);
    assertNoStack(r.lines);
  });

  test('a broken addon falls back to the repaired kernels with one line', () => {
    const bad = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'repro-addon-')), 'broken.node');
    fs.writeFileSync(bad, 'not a shared object');
    const r = childInit({ REPRO_ENGINE: 'wasm', REPRO_NATIVE_ADDON: bad });
    assert.equal(r.info?.matmul, 'wasm-repaired');
    assert.equal(r.lines.length, 1, r.lines.join('\n'));
    assert.match(r.lines[0], /native BLAS addon failed to load.*repaired wasm kernels serve/);
    assertNoStack(r.lines);
  });

  test('the addon uses one BLAS thread per process unless OPENBLAS_NUM_THREADS says otherwise', (t) => {
    if (!fs.existsSync(ADDON_PATH)) return t.skip('native addon not built here');
    const one = childInit({ REPRO_ENGINE: 'wasm' });
    assert.match(one.info?.matmul ?? '', /^native-blas \(/);
    assert.equal(one.info?.threads, 1);
    const two = childInit({ REPRO_ENGINE: 'wasm', OPENBLAS_NUM_THREADS: '2' });
    assert.equal(two.info?.threads, 2);
  });
});

/** Dawn's bindings are installed and a WebGPU adapter (hardware or llvmpipe) answers on this machine. */
function webgpuHere(): boolean {
  try {
    require.resolve('webgpu');
  } catch {
    return false;
  }
  return true;
}

/**
 * Dawn prints its own warnings from native code straight to stderr (out of the project's reach),
 * with a source location that looks like a stack frame; drop those, keep every other line.
 */
function withoutDawnWarnings(lines: string[]): string[] {
  return lines.filter((l) => !/^Warning: /.test(l) && !/^\s+- While /.test(l) && !/^\s+at .*third_party\/dawn\//.test(l));
}

describe('the webgpu engine (child processes)', () => {
  test('REPRO_ENGINE=webgpu starts it and the line names the adapter, its backend and limits', (t) => {
    if (!webgpuHere()) return t.skip('the npm package webgpu is not installed');
    const r = childInit({ REPRO_ENGINE: 'webgpu' });
    assert.equal(r.status, 0, r.lines.join('\n'));
    assert.equal(r.info?.engine, 'webgpu');
    const a = r.info!.adapter!;
    assert.ok(a && ['vulkan', 'opengl'].includes(a.backend), JSON.stringify(a));
    assert.ok(a.limits.maxBufferSize > 0 && a.limits.maxStorageBufferBindingSize > 0);
    assert.ok(a.device || a.vendor || a.description, 'the adapter has a name');
    const line = describeEngine(r.info!);
    assert.match(line, /^webgpu 4\.22\.0 · matmul webgpu-shaders/);
    assert.match(line, / via (vulkan|opengl)/);
    assert.match(line, /maxBufferSize \d+ MiB, maxStorageBufferBindingSize \d+ MiB/);
    // Only Dawn's own two notes on dynamic buffer limits may be printed; no stack, no fallback line.
    assert.deepEqual(withoutDawnWarnings(r.lines), []);
  });

  test('an automatic pick never takes a software adapter, and says nothing about it', (t) => {
    const r = childInit({});
    assert.equal(r.status, 0, r.lines.join('\n'));
    if (r.info?.engine === 'webgpu') {
      assert.equal(r.info.adapter?.software, false, 'a software adapter was picked automatically');
      return;
    }
    if (r.info?.engine.startsWith('tfjs-node')) return t.skip('a tfjs-node engine is installed here');
    assert.ok(!r.lines.some((l) => /webgpu/.test(l)), r.lines.join('\n'));
  });

  test('REPRO_ENGINE=webgpu without the package: one line naming the package, then wasm', () => {
    const r = childInit({ REPRO_ENGINE: 'webgpu', REPRO_WEBGPU_PACKAGE: 'no-such-webgpu-package' });
    assert.equal(r.status, 0, r.lines.join('\n'));
    assert.equal(r.info?.engine, 'wasm');
    assert.equal(r.lines.length, 1, r.lines.join('\n'));
    assert.match(r.lines[0], /^engine: webgpu: the npm package webgpu is not installed \(npm install webgpu\).*no-such-webgpu-package.*; using wasm$/);
    assertNoStack(r.lines);
  });

  test('no adapter on the asked backend: one line that says so and how to make the driver visible', (t) => {
    if (!webgpuHere()) return t.skip('the npm package webgpu is not installed');
    // EGL with a platform that cannot start here: the OpenGL ES backend finds no adapter.
    const r = childInit({ REPRO_ENGINE: 'webgpu', REPRO_WEBGPU_BACKEND: 'opengl', EGL_PLATFORM: 'x11', DISPLAY: ':99' });
    if (r.info?.engine === 'webgpu') return t.skip('an OpenGL adapter answered even on a missing X display');
    assert.equal(r.info?.engine, 'wasm', r.lines.join('\n'));
    const line = r.lines.find((l) => l.startsWith('engine: webgpu: no WebGPU adapter'));
    assert.ok(line, r.lines.join('\n'));
    assert.match(line!, /NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics.*; using wasm$/);
    assert.deepEqual(withoutDawnWarnings(r.lines), [line]);
  });

  test('an unknown REPRO_WEBGPU_BACKEND is a ConfigError', () => {
    const r = childInit({ REPRO_ENGINE: 'webgpu', REPRO_WEBGPU_BACKEND: 'metal' });
    assert.equal(r.status, 3);
    assert.match(r.lines.join('\n'), /ConfigError: unknown REPRO_WEBGPU_BACKEND 'metal'; expected one of auto, vulkan, opengl/);
  });

  test('software adapters are recognised from any field Dawn fills', async () => {
    const { isSoftwareAdapter } = await import('../../lib/backend/webgpu');
    assert.equal(isSoftwareAdapter({ device: 'llvmpipe-llvm-15-0-6-256-bits-' }), true);
    assert.equal(isSoftwareAdapter({ vendor: 'google', architecture: 'swiftshader' }), true);
    assert.equal(isSoftwareAdapter({ description: 'llvmpipe (LLVM 15.0.6, 256 bits)' }), true);
    assert.equal(isSoftwareAdapter({ vendor: 'nvidia', architecture: 'hopper', device: 'NVIDIA H200', description: 'NVIDIA: 550.54' }), false);
  });
});
