/**
 * The test command (`npm test`): runs every compiled test file with node's test runner.
 *
 *   npm test                       all unit tests, then the engine-variant pass, then the notebook tests
 *   npm test -- residual data      only test files whose path contains one of the words
 *   npm test -- --no-notebooks     skip the Jupyter notebook tests
 *
 * Files named `*.engines.test.ts` hold engine-sensitive tests (kernels, wirings, one training
 * step of each model family); they run again under each other engine configuration:
 * the wasm kernels alone (`REPRO_NATIVE_MATMUL=0`), the pure-JS engine (`REPRO_ENGINE=cpu`) and
 * WebGPU (`REPRO_ENGINE=webgpu`: a GPU where there is one, else Mesa's llvmpipe through Dawn's
 * OpenGL ES backend; skipped with one line where it cannot start, a failure then under
 * REPRO_REQUIRE_WEBGPU=1, which CI sets).
 * Results go to a temporary folder (`$REPRO_RESULTS`), never to the committed `results/`.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');
const testDir = path.join(root, 'build', 'test');

function listTests(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...listTests(p));
    else if (e.name.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

const args = process.argv.slice(2);
const noNotebooks = args.includes('--no-notebooks');
const words = args.filter((a) => !a.startsWith('--'));
let files = listTests(testDir);
if (words.length) files = files.filter((f) => words.some((w) => path.relative(testDir, f).includes(w)));
const isNotebook = (f: string) => f.includes(`${path.sep}notebooks${path.sep}`);
const unit = files.filter((f) => !isNotebook(f));
const engines = unit.filter((f) => f.endsWith('.engines.test.js'));
const notebooks = noNotebooks ? [] : files.filter(isNotebook);

/**
 * The webgpu pass runs where the engine starts (a GPU, or llvmpipe through Mesa's EGL/GLES, which
 * `npm run setup` installs). Where it cannot start it is skipped with one line saying why, and with
 * REPRO_REQUIRE_WEBGPU=1 (CI) that is a failure: the pass must not quietly test wasm instead.
 */
function webgpuUsable(): { ok: boolean; why: string } {
  if (!engines.length) return { ok: false, why: '' };
  try {
    require.resolve('webgpu');
  } catch {
    return { ok: false, why: 'the npm package webgpu is not installed (npm install webgpu)' };
  }
  const probe = `require(${JSON.stringify(path.join(root, 'build', 'lib', 'backend'))}).initEngine({ engine: 'webgpu' }).then((i) => { process.stdout.write('ENGINE ' + i.engine + '\\n'); process.exit(0); }, (e) => { console.error(e.message); process.exit(3); })`;
  const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8', timeout: 60000 });
  if (/^ENGINE webgpu$/m.test(r.stdout ?? '')) return { ok: true, why: '' };
  const line = `${r.stdout}\n${r.stderr}`.split('\n').find((l) => l.startsWith('engine: webgpu:')) ?? `the probe exited ${r.status}`;
  return { ok: false, why: `no WebGPU adapter starts here (${line.replace(/^engine: webgpu: /, '')}); npm run setup installs Mesa's EGL/GLES + llvmpipe` };
}
const webgpu = webgpuUsable();
if (!webgpu.ok && webgpu.why) console.log(`\n=== engine tests on webgpu: ${process.env.REPRO_REQUIRE_WEBGPU === '1' ? 'REQUIRED but unavailable' : 'skipped'}: ${webgpu.why} ===`);
const webgpuMissing = !webgpu.ok && !!webgpu.why && process.env.REPRO_REQUIRE_WEBGPU === '1';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-test-'));
const baseEnv = { ...process.env, REPRO_RESULTS: path.join(tmp, 'results'), REPRO_TEST: '1' };

function run(label: string, list: string[], env: NodeJS.ProcessEnv): boolean {
  if (!list.length) return true;
  console.log(`\n=== ${label}: ${list.length} file(s) ===`);
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...list], {
    stdio: 'inherit',
    env,
    cwd: root,
  });
  console.log(`=== ${label}: ${r.status === 0 ? 'passed' : 'FAILED'} in ${((Date.now() - t0) / 1000).toFixed(1)} s ===`);
  return r.status === 0;
}

const passes: [string, string[], NodeJS.ProcessEnv][] = [
  ['unit tests (default engine)', unit, baseEnv],
  ['engine tests, wasm kernels without the native matmul', engines, { ...baseEnv, REPRO_NATIVE_MATMUL: '0' }],
  ['engine tests, pure-JS cpu engine', engines, { ...baseEnv, REPRO_ENGINE: 'cpu' }],
  ['engine tests, webgpu (a GPU, or llvmpipe in software)', webgpu.ok ? engines : [], { ...baseEnv, REPRO_ENGINE: 'webgpu' }],
  ['notebook tests (real Jupyter, smoke preset)', notebooks, baseEnv],
];
const failed = passes.filter(([label, list, env]) => !run(label, list, env)).map(([l]) => l);
if (webgpuMissing) failed.push(`engine tests on webgpu (REPRO_REQUIRE_WEBGPU=1): ${webgpu.why}`);
fs.rmSync(tmp, { recursive: true, force: true });
if (failed.length) {
  console.error(`\nFAILED: ${failed.join('; ')}`);
  process.exit(1);
}
console.log('\nall test passes green');
