/**
 * BLAS library and kernel choice (lib/backend/blas-select.ts): the pure plan for every case,
 * the self-check against broken kernels, the cache and the self-check veto with a fake addon,
 * and the real addon in child processes: a simulated generic OpenBLAS kernel (measured, the
 * faster library chosen), a user's OPENBLAS_CORETYPE (respected, reported), REPRO_BLAS.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ConfigError } from '../../lib/errors';
import {
  BlasAddon, BlasLibraryInfo, BlasMeasurement, SELF_CHECK_TOLERANCE, blasCacheKey, blasSelfCheck, pickMeasured, planBlas, selectBlas,
} from '../../lib/backend/blas-select';
import { ADDON_PATH } from '../../lib/backend/native';
import type { EngineInfo } from '../../lib/backend';

const AVX2 = ['sse2', 'avx', 'avx2', 'fma'];
const base = { request: 'auto' as const, userCoretype: '', openblasKernel: 'Zen', cpuFlags: AVX2, blisAvailable: true };

describe('planBlas', () => {
  test('a fast OpenBLAS kernel is kept', () => {
    assert.deepEqual(planBlas(base), { action: 'use', library: 'openblas', reason: 'OpenBLAS picked its Zen kernel for this CPU (AVX2/FMA)' });
    assert.equal(planBlas({ ...base, openblasKernel: 'SkylakeX', cpuFlags: [...AVX2, 'avx512f'] }).action, 'use');
  });
  test('a generic kernel on an AVX2/FMA or AVX-512 CPU with BLIS installed is measured', () => {
    assert.deepEqual(planBlas({ ...base, openblasKernel: 'Prescott' }), { action: 'measure', reason: 'OpenBLAS runs its generic Prescott kernel on a CPU with AVX2/FMA' });
    assert.match(planBlas({ ...base, openblasKernel: 'Sandybridge', cpuFlags: ['avx512f'] }).reason, /generic Sandybridge kernel on a CPU with AVX-512/);
  });
  test('a generic kernel without BLIS stays, and says what to install', () => {
    const p = planBlas({ ...base, openblasKernel: 'Prescott', blisAvailable: false });
    assert.equal(p.action, 'use');
    assert.match(p.reason, /generic Prescott kernel .* no faster BLAS is installed \(apt-get install libblis-dev\)/);
  });
  test("a user's OPENBLAS_CORETYPE is respected even when it is generic", () => {
    const p = planBlas({ ...base, openblasKernel: 'Prescott', userCoretype: 'Prescott' });
    assert.deepEqual(p, { action: 'use', library: 'openblas', reason: 'OPENBLAS_CORETYPE=Prescott set by the user: OpenBLAS runs its Prescott kernel as asked' });
  });
  test('a CPU without AVX2/FMA keeps OpenBLAS', () => {
    assert.match(planBlas({ ...base, openblasKernel: 'Prescott', cpuFlags: ['sse2', 'sse3'] }).reason, /no AVX2\/FMA/);
  });
  test('REPRO_BLAS forces a library; a missing one is a ConfigError', () => {
    assert.deepEqual(planBlas({ ...base, request: 'blis' }), { action: 'use', library: 'blis', reason: 'REPRO_BLAS=blis' });
    assert.equal(planBlas({ ...base, request: 'openblas', openblasKernel: 'Prescott' }).action, 'use');
    assert.throws(() => planBlas({ ...base, request: 'blis', blisAvailable: false }), (e: unknown) => e instanceof ConfigError && /REPRO_BLAS=blis but BLIS .* not installed/.test((e as Error).message));
    assert.throws(() => planBlas({ ...base, request: 'openblas', openblasKernel: '' }), ConfigError);
  });
  test('without OpenBLAS, BLIS serves; without either, a ConfigError', () => {
    assert.equal(planBlas({ ...base, openblasKernel: '' }).action === 'use' && planBlas({ ...base, openblasKernel: '' }).reason, 'OpenBLAS is not installed; BLIS serves');
    assert.throws(() => planBlas({ ...base, openblasKernel: '', blisAvailable: false }), /no BLAS library found/);
  });
});

test('pickMeasured takes the best geometric mean of the large and small figures', () => {
  const ms: BlasMeasurement[] = [
    { library: 'openblas', kernel: 'Prescott', largeGflops: 20, smallGflops: 17 },
    { library: 'blis', kernel: 'haswell', largeGflops: 62, smallGflops: 43 },
  ];
  assert.equal(pickMeasured(ms).library, 'blis');
  assert.equal(pickMeasured([{ ...ms[0], largeGflops: 100, smallGflops: 30 }, ms[1]]).library, 'openblas');
  assert.throws(() => pickMeasured([]), /nothing was measured/);
});

/** A JS sgemm with the addon's calling convention; `bug` breaks it in one of several ways. */
function jsSgemm(bug: 'none' | 'ignores-transB' | 'skips-last' | 'no-write' = 'none'): BlasAddon['sgemmBatch'] {
  return (heap, ta, tb, M, N, K, aOffs, bOffs, c0) => {
    for (let bi = 0; bi < aOffs.length; bi++) {
      for (let i = 0; i < M; i++) {
        for (let j = 0; j < N; j++) {
          if (bug === 'no-write') continue;
          let s = 0;
          for (let k = 0; k < (bug === 'skips-last' ? K - 1 : K); k++) {
            const a = heap[aOffs[bi] + (ta ? k * M + i : i * K + k)];
            const b = heap[bOffs[bi] + (tb && bug !== 'ignores-transB' ? j * K + k : k * N + j)];
            s += a * b;
          }
          heap[c0 + bi * M * N + i * N + j] = s;
        }
      }
    }
  };
}

describe('blasSelfCheck', () => {
  test('a correct product passes; wrong ones fail far above the tolerance', () => {
    assert.ok(blasSelfCheck({ sgemmBatch: jsSgemm() }) <= 1e-6);
    assert.ok(blasSelfCheck({ sgemmBatch: jsSgemm('ignores-transB') }) > 1e-2);
    assert.ok(blasSelfCheck({ sgemmBatch: jsSgemm('skips-last') }) > SELF_CHECK_TOLERANCE * 100);
    assert.equal(blasSelfCheck({ sgemmBatch: jsSgemm('no-write') }), Infinity); // C left as NaN
  });
});

/** Two fake libraries; `blisBug` breaks BLIS's product. */
function fakeAddon(obKernel: string, blisBug: 'none' | 'ignores-transB'): BlasAddon & { active: number } {
  const libs: BlasLibraryInfo[] = [
    { kind: 'openblas', config: `OpenBLAS 0.3.21 DYNAMIC_ARCH ${obKernel}`, kernel: obKernel, version: '0.3.21', threads: 1 },
    { kind: 'blis', config: 'BLIS', kernel: 'haswell', version: '0.9.0', threads: 1 },
  ];
  const fns = [jsSgemm(), jsSgemm(blisBug)];
  const a = {
    active: -1,
    openLibrary: (kind: string) => (kind === 'openblas' ? 0 : 1),
    useLibrary: (i: number) => void (a.active = i),
    libraryInfo: (i: number) => libs[i],
    setThreads: () => undefined,
    sgemmBatch: (...args: Parameters<BlasAddon['sgemmBatch']>) => fns[a.active](...args),
  };
  return a;
}

describe('selectBlas with a fake addon', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-blas-'));
  test('a cached decision is reused (no measurement), and a library failing its self-check is never used', () => {
    const cache = path.join(tmp, 'cache.json');
    const addon = fakeAddon('Prescott', 'ignores-transB');
    const key = blasCacheKey(os.cpus()[0]?.model ?? 'unknown CPU', addon.libraryInfo(0), addon.libraryInfo(1), 1);
    const measured: BlasMeasurement[] = [{ library: 'blis', kernel: 'haswell', largeGflops: 60, smallGflops: 40 }];
    fs.writeFileSync(cache, JSON.stringify({ [key]: { library: 'blis', measured, date: '2026-01-01' } }));
    const env = { REPRO_BLAS_CACHE: cache };
      const c = selectBlas({ addon, threads: 1, env, flags: AVX2 });
      assert.equal(c.library, 'openblas');
      assert.equal(addon.active, 0);
      assert.match(c.reason, /^BLIS 0\.9\.0 haswell failed the self-check \(error .*\); openblas serves$/);
      assert.deepEqual(c.measured, measured);
      const good = fakeAddon('Prescott', 'none');
      const c2 = selectBlas({ addon: good, threads: 1, env, flags: AVX2 });
      assert.equal(c2.library, 'blis');
      assert.equal(good.active, 1);
      assert.match(c2.reason, /generic Prescott kernel .*; blis measured faster on this CPU model \(blis haswell 60\.0\/40\.0 GFLOP\/s .*2026-01-01, cached in/);
      assert.ok(c2.selfCheckError <= SELF_CHECK_TOLERANCE);
  });
  test('REPRO_BLAS=blis on a broken BLIS is an error, not a silent fallback', () => {
    assert.throws(() => selectBlas({ addon: fakeAddon('Zen', 'ignores-transB'), threads: 1, env: { REPRO_BLAS: 'blis' }, flags: AVX2 }), /failed the self-check .*no other BLAS to use/);
  });
  test('an unknown REPRO_BLAS is a ConfigError listing the valid values', () => {
    assert.throws(() => selectBlas({ addon: fakeAddon('Zen', 'none'), threads: 1, env: { REPRO_BLAS: 'mkl' }, flags: AVX2 }), (e: unknown) => e instanceof ConfigError && /unknown REPRO_BLAS 'mkl'; expected one of auto, openblas, blis/.test((e as Error).message));
  });
});

const backendModule = path.resolve(__dirname, '..', '..', 'lib', 'backend');

function childEngine(env: Record<string, string>): { info: EngineInfo | null; coretypeAfter: string | null; out: string } {
  const script = `require(${JSON.stringify(backendModule)}).initEngine({ engine: 'wasm', quiet: true }).then(` +
    `(i) => process.stdout.write('INFO ' + JSON.stringify({ i, core: process.env.OPENBLAS_CORETYPE ?? null }) + '\\n'), (e) => { console.error(e.name + ': ' + e.message); process.exit(3); })`;
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['REPRO_ENGINE', 'REPRO_NATIVE_MATMUL', 'REPRO_WASM_KERNELS', 'REPRO_NATIVE_ADDON', 'OPENBLAS_NUM_THREADS', 'OPENBLAS_CORETYPE', 'REPRO_BLAS', 'REPRO_BLAS_TEST_CORETYPE']) delete childEnv[k];
  const r = spawnSync(process.execPath, ['-e', script], { env: { ...childEnv, ...env }, encoding: 'utf8', timeout: 60000 });
  const line = (r.stdout || '').split('\n').find((l) => l.startsWith('INFO '));
  const j = line ? JSON.parse(line.slice(5)) : null;
  return { info: j?.i ?? null, coretypeAfter: j?.core ?? null, out: `${r.stdout}\n${r.stderr}` };
}

function blisInstalled(): boolean {
  return ['/usr/lib/x86_64-linux-gnu/libblis.so.4', '/usr/lib/aarch64-linux-gnu/libblis.so.4', '/usr/lib/libblis.so.4'].some((f) => fs.existsSync(f));
}

describe('the real addon (child processes)', () => {
  const cache = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'repro-blas-cache-')), 'blas.json');
  test('a simulated generic OpenBLAS kernel is measured against BLIS; the faster one runs; the choice is cached', (t) => {
    if (!fs.existsSync(ADDON_PATH) || process.platform !== 'linux') return t.skip('native addon not built here');
    if (!blisInstalled()) return t.skip('BLIS not installed (apt-get install libblis-dev)');
    const r = childEngine({ REPRO_BLAS_TEST_CORETYPE: 'Prescott', REPRO_BLAS_CACHE: cache });
    const b = r.info?.blas;
    assert.ok(b, r.out);
    assert.equal(r.coretypeAfter, null, 'the simulated coretype must not leak into the environment');
    assert.equal(b.measured.length, 2);
    assert.deepEqual(b.measured.map((m) => m.library), ['openblas', 'blis']);
    assert.equal(b.measured[0].kernel, 'Prescott');
    assert.equal(b.library, pickMeasured(b.measured).library);
    assert.match(b.reason, /^OpenBLAS runs its generic Prescott kernel on a CPU with (AVX2\/FMA|AVX-512); (blis|openblas) measured faster \(/);
    assert.ok(b.selfCheckError <= SELF_CHECK_TOLERANCE);
    assert.ok(r.info!.matmul.includes(`${b.kernel} kernel`), r.info!.matmul);
    assert.ok(r.info!.notes.includes(`BLAS kernel: ${b.reason}`));
    const again = childEngine({ REPRO_BLAS_TEST_CORETYPE: 'Prescott', REPRO_BLAS_CACHE: cache });
    assert.match(again.info?.blas?.reason ?? '', /measured faster on this CPU model .* cached in/);
    assert.deepEqual(again.info?.blas?.measured, b.measured);
  });
  test("a user's OPENBLAS_CORETYPE and OPENBLAS_NUM_THREADS are kept and reported", (t) => {
    if (!fs.existsSync(ADDON_PATH) || process.platform !== 'linux') return t.skip('native addon not built here');
    const r = childEngine({ OPENBLAS_CORETYPE: 'Prescott', OPENBLAS_NUM_THREADS: '2', REPRO_BLAS_TEST_CORETYPE: 'Haswell', REPRO_BLAS_CACHE: cache });
    const b = r.info?.blas;
    assert.ok(b, r.out);
    assert.equal(b.library, 'openblas');
    assert.equal(b.kernel, 'Prescott');
    assert.deepEqual(b.measured, []);
    assert.equal(b.reason, 'OPENBLAS_CORETYPE=Prescott set by the user: OpenBLAS runs its Prescott kernel as asked');
    assert.equal(r.coretypeAfter, 'Prescott');
    assert.equal(r.info?.threads, 2);
  });
  test('REPRO_BLAS=blis runs BLIS with the thread count of OPENBLAS_NUM_THREADS', (t) => {
    if (!fs.existsSync(ADDON_PATH) || process.platform !== 'linux') return t.skip('native addon not built here');
    if (!blisInstalled()) return t.skip('BLIS not installed (apt-get install libblis-dev)');
    const r = childEngine({ REPRO_BLAS: 'blis', OPENBLAS_NUM_THREADS: '2' });
    assert.equal(r.info?.blas?.library, 'blis', r.out);
    assert.match(r.info!.matmul, /^native-blas \(BLIS [\d.]+, \w+ kernel\)$/);
    assert.equal(r.info?.threads, 2);
  });
});
