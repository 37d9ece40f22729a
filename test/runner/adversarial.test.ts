/**
 * Issue 31: what an adversarial pass broke, one test per case (throwaway results folders, smoke sizes).
 * Each fails on the code before the fix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO_ROOT, resultsRoot, dataRoot } from '../../lib/paths';
import { ConfigError } from '../../lib/errors';
import { loadStudy } from '../../lib/studies';
import { resolveConfig } from '../../lib/runner/run';
import { runIdOf } from '../../lib/runner/execute';
import { recordedRuns } from '../../lib/runner/recorded';

const script = path.join(REPO_ROOT, 'build', 'scripts', 'run-experiment.js');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'repro-i31-'));

function cli(args: string[], env: NodeJS.ProcessEnv) {
  const r = spawnSync(process.execPath, [script, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

/** Every file under `dir` with its size and mtime (to show a folder was not touched). */
function snapshot(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const st = fs.lstatSync(p);
        out.push(`${p} ${st.size} ${st.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return out.sort();
}

test('7: REPRO_RESULTS set but empty is a ConfigError (not the committed results/), and the CLI runs nothing', () => {
  const old = process.env.REPRO_RESULTS;
  try {
    process.env.REPRO_RESULTS = '';
    assert.throws(() => resultsRoot(), (e: Error) => e instanceof ConfigError && /\$REPRO_RESULTS is set but empty; unset it to use results\/, or name a folder/.test(e.message));
    process.env.REPRO_RESULTS = '   ';
    assert.throws(() => resultsRoot(), ConfigError);
  } finally {
    if (old === undefined) delete process.env.REPRO_RESULTS;
    else process.env.REPRO_RESULTS = old;
  }
  const oldCache = process.env.REPRO_DATA_CACHE;
  try {
    process.env.REPRO_DATA_CACHE = '';
    assert.throws(() => dataRoot(), /\$REPRO_DATA_CACHE is set but empty/);
  } finally {
    if (oldCache === undefined) delete process.env.REPRO_DATA_CACHE;
    else process.env.REPRO_DATA_CACHE = oldCache;
  }
  const committed = path.join(REPO_ROOT, 'results', 'setup-check');
  const before = snapshot(committed);
  const r = cli(['setup-check', '--preset', 'smoke'], { REPRO_RESULTS: '' });
  assert.notEqual(r.status, 0, r.out);
  assert.match(r.err, /REPRO_RESULTS is set but empty/);
  assert.deepEqual(snapshot(committed), before, 'the committed results are untouched');
});

test('16: REPRO_CLAIM_STALE_S below the floor is refused before any work', () => {
  const dir = tmp();
  const r = cli(['setup-check', '--preset', 'smoke'], { REPRO_RESULTS: dir, REPRO_CLAIM_STALE_S: '0.01' });
  assert.notEqual(r.status, 0);
  assert.match(r.err, /REPRO_CLAIM_STALE_S must be a number of seconds ≥ 10/);
  assert.deepEqual(snapshot(dir), [], 'nothing was written');
});

/** The run id of setup-check's one smoke run (the CLI's). */
function setupCheckId(): string {
  const exp = loadStudy('setup-check');
  return runIdOf(exp.name, exp.runs(resolveConfig(exp, 'smoke'))[0]);
}

test('3: a damaged record file is moved aside and replaced when the run finishes (was: every save a silent no-op)', { timeout: 120_000 }, () => {
  const results = tmp();
  const dir = path.join(results, 'setup-check', 'smoke');
  const id = setupCheckId();
  fs.mkdirSync(path.join(dir, 'records'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'records', `${id}.json`), '{"experiment":"setup-check","preset":"sm'); // cut short
  const r = cli(['setup-check', '--preset', 'smoke'], { REPRO_RESULTS: results });
  assert.equal(r.status, 0, r.err);
  assert.match(r.err, new RegExp(`${id}\\.json: not valid JSON.*moved to ${id}\\.json\\.damaged-\\d+ and replaced`));
  const lines = fs.readFileSync(path.join(dir, 'runs.jsonl'), 'utf8').trim().split('\n');
  assert.equal(lines.length, 1);
  assert.equal(JSON.parse(lines[0]).runId, id);
  assert.ok(fs.readdirSync(path.join(dir, 'records')).some((f) => f.startsWith(`${id}.json.damaged-`)), 'the damaged bytes are kept');
  const again = cli(['setup-check', '--preset', 'smoke'], { REPRO_RESULTS: results });
  assert.equal(again.status, 0);
  assert.match(again.out, /1 reused/);
});

test('4: a runs.jsonl lock held by a live process: the run is saved in records/, said so, and the next runner rebuilds runs.jsonl', { timeout: 180_000 }, () => {
  const results = tmp();
  const dir = path.join(results, 'setup-check', 'smoke');
  fs.mkdirSync(dir, { recursive: true });
  const lock = path.join(dir, 'runs.jsonl.lock');
  fs.writeFileSync(lock, `${process.pid} ${Date.now()} held-by-test\n`); // this (live) process holds it
  const r = cli(['setup-check', '--preset', 'smoke'], { REPRO_RESULTS: results });
  assert.equal(r.status, 0, r.err);
  assert.match(r.err, /is saved as .*records\/[0-9a-f]{12}\.json, but .*runs\.jsonl was not rebuilt \(cannot lock .*runs\.jsonl\.lock: held by another process/);
  assert.doesNotMatch(r.out + r.err, /not saved/);
  assert.ok(!fs.existsSync(path.join(dir, 'runs.jsonl')));
  // the notebooks' view (recordedRuns) counts the saved run already
  const old = process.env.REPRO_RESULTS;
  process.env.REPRO_RESULTS = results;
  try {
    const rec = recordedRuns(loadStudy('setup-check'), 'smoke');
    assert.equal(rec.records.length, 1);
    assert.equal(rec.missing.length, 0);
  } finally {
    if (old === undefined) delete process.env.REPRO_RESULTS;
    else process.env.REPRO_RESULTS = old;
  }
  fs.rmSync(lock);
  const again = cli(['setup-check', '--preset', 'smoke'], { REPRO_RESULTS: results });
  assert.equal(again.status, 0, again.err);
  assert.match(again.out, /added 1 finished run\(s\) from records\/ to .*runs\.jsonl/);
  assert.match(again.out, /1 reused/);
  assert.equal(fs.readFileSync(path.join(dir, 'runs.jsonl'), 'utf8').trim().split('\n').length, 1);
});

/** A claim on setup-check's smoke run held by a runner on another host (live unless its heartbeat is old). */
function plantClaim(results: string, mtime: Date): string {
  const dir = path.join(results, 'setup-check', 'smoke', 'claims');
  fs.mkdirSync(dir, { recursive: true });
  const id = setupCheckId();
  const file = path.join(dir, `${id}.json`);
  fs.writeFileSync(file, JSON.stringify({ runId: id, host: 'elsewhere', pid: 1, startedAt: new Date().toISOString(), token: 'theirs' }) + '\n');
  fs.utimesSync(file, mtime, mtime);
  return file;
}

test('10: Ctrl-C while waiting on another runner\'s claim stops at once (exit 130); a heartbeat dated a day ahead is no heartbeat', { timeout: 120_000 }, async () => {
  const results = tmp();
  const claim = plantClaim(results, new Date());
  const beat = setInterval(() => fs.utimesSync(claim, new Date(), new Date()), 1000); // the other runner is alive
  try {
    const child = spawn(process.execPath, [script, 'setup-check', '--preset', 'smoke'], { env: { ...process.env, REPRO_RESULTS: results }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (/waiting for/.test(out)) child.kill('SIGINT');
    });
    child.stderr.on('data', (d) => (err += d));
    const t0 = Date.now();
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.match(out, /waiting for run [0-9a-f]{12} by elsewhere pid 1 \(claimed by another runner\)/);
    assert.equal(code, 130, err);
    assert.ok(Date.now() - t0 < 30_000, 'stopped without waiting for the other runner');
    assert.match(err, /interrupted by SIGINT/);
  } finally {
    clearInterval(beat);
  }
  // a claim whose heartbeat is dated a day ahead is taken over, not waited for
  const future = tmp();
  plantClaim(future, new Date(Date.now() + 86_400_000));
  const r = cli(['setup-check', '--preset', 'smoke'], { REPRO_RESULTS: future });
  assert.equal(r.status, 0, r.err);
  assert.match(r.out + r.err, /dated \d+ s in the future/);
  assert.equal(fs.readFileSync(path.join(future, 'setup-check', 'smoke', 'runs.jsonl'), 'utf8').trim().split('\n').length, 1);
});

test('13: links planted in a results folder are never written through (run log, engines note, unreadable-lines file)', { timeout: 120_000 }, () => {
  const results = tmp();
  const dir = path.join(results, 'setup-check', 'smoke');
  const id = setupCheckId();
  const ck = path.join(dir, 'checkpoints', id);
  fs.mkdirSync(ck, { recursive: true });
  const victims = ['log', 'engines', 'unreadable'].map((n) => {
    const v = path.join(results, `victim-${n}.txt`);
    fs.writeFileSync(v, `victim ${n}\n`);
    return v;
  });
  fs.symlinkSync(victims[1], path.join(ck, 'engines.json'));
  fs.symlinkSync(victims[2], path.join(dir, 'runs.jsonl.unreadable'));
  fs.writeFileSync(path.join(dir, 'runs.jsonl'), 'not a record\n');
  fs.symlinkSync(victims[0], path.join(ck, 'log.jsonl'));
  const r = cli(['setup-check', '--preset', 'smoke'], { REPRO_RESULTS: results });
  assert.notEqual(r.status, 0, 'a run that cannot write its log fails');
  assert.match(r.err, /cannot append to the run log .*log\.jsonl: ELOOP; the path is a symbolic link/);
  victims.forEach((v, i) => assert.equal(fs.readFileSync(v, 'utf8'), `victim ${['log', 'engines', 'unreadable'][i]}\n`, `${v} untouched`));
  // without the planted log link the run goes through; the engines note replaces its link, never the victim
  fs.rmSync(path.join(ck, 'log.jsonl'));
  const again = cli(['setup-check', '--preset', 'smoke'], { REPRO_RESULTS: results });
  assert.equal(again.status, 0, again.err);
  victims.forEach((v, i) => assert.equal(fs.readFileSync(v, 'utf8'), `victim ${['log', 'engines', 'unreadable'][i]}\n`, `${v} untouched`));
});

test('11: under an address-space limit the CLI says what to raise instead of crashing (SIGSEGV) or training on another engine', { timeout: 120_000 }, () => {
  const limited = (as: string, env: NodeJS.ProcessEnv = {}) => {
    const r = spawnSync('prlimit', [`--as=${as}`, process.execPath, script, 'setup-check', '--preset', 'smoke'], { env: { ...process.env, REPRO_RESULTS: tmp(), ...env }, encoding: 'utf8', timeout: 120_000 });
    return { status: r.status, signal: r.signal, err: r.stderr };
  };
  if (spawnSync('prlimit', ['--version']).error) return; // util-linux missing: nothing to test here
  const at8 = limited('8000000000');
  assert.equal(at8.status, 1, at8.err);
  assert.match(at8.err, /the wasm engine could not reserve its memory .*at most 8\.0 GB of address space .*REPRO_ENGINE=cpu/);
  const at12 = limited('12000000000');
  assert.equal(at12.signal, null, 'no crash');
  assert.equal(at12.status, 1, at12.err);
  assert.match(at12.err, /at most 12\.0 GB of address space .*native BLAS beside the wasm engine needs 14 GB .*REPRO_NATIVE_MATMUL=0/);
});

test('minor: a run another runner finishes while this one waits is reported as such, not as "not started"', { timeout: 180_000 }, async () => {
  // a record of the run, made by a runner in another folder (same config, same run id)
  const other = tmp();
  assert.equal(cli(['setup-check', '--preset', 'smoke'], { REPRO_RESULTS: other }).status, 0);
  const id = setupCheckId();
  const made = path.join(other, 'setup-check', 'smoke', 'records', `${id}.json`);
  const results = tmp();
  const claim = plantClaim(results, new Date());
  const beat = setInterval(() => fs.existsSync(claim) && fs.utimesSync(claim, new Date(), new Date()), 1000);
  try {
    const child = spawn(process.execPath, [script, 'setup-check', '--preset', 'smoke'], { env: { ...process.env, REPRO_RESULTS: results }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (/waiting for/.test(out) && fs.existsSync(claim)) {
        // the other runner finishes: its record file appears and its claim goes
        fs.mkdirSync(path.join(results, 'setup-check', 'smoke', 'records'), { recursive: true });
        fs.copyFileSync(made, path.join(results, 'setup-check', 'smoke', 'records', `${id}.json`));
        fs.rmSync(claim);
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(code, 0, out);
    assert.match(out, /0 ok, 0 failed, 1 finished by another runner/);
    assert.doesNotMatch(out, /not started/);
  } finally {
    clearInterval(beat);
  }
});
