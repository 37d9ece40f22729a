/**
 * Issue 18, the command-line half: real `run-experiment` processes (setup-check, smoke size) hit by a
 * results file that cannot be appended to, by SIGTERM/SIGINT/SIGHUP mid-training, and by bad flags.
 * Each must exit non-zero with a message saying what was saved, lose no finished run or checkpoint,
 * and resume to the metrics of an uninterrupted run.
 *
 * The failed append: `chattr +i` needs a file system and a capability the test machine may lack, and a
 * read-only folder does not stop root; so runs.jsonl is a dangling symbolic link into a folder that does
 * not exist: reading it finds no runs (ENOENT), appending to it fails with ENOENT, a real fs failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO_ROOT } from '../../lib/paths';

const script = path.join(REPO_ROOT, 'build', 'scripts', 'run-experiment.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-i18-cli-'));
const long = ['--set', 'train.steps=300', '--set', 'train.checkpointEvery=60'];

function run(results: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [script, 'setup-check', '--preset', 'smoke', ...args], {
    env: { ...process.env, REPRO_RESULTS: results, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

function records(results: string) {
  const file = path.join(results, 'setup-check', 'smoke', 'runs.jsonl');
  return fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

/** Starts a run, waits until `n` runs have logged training steps, sends `signal` to the runner only. */
function interrupt(results: string, args: string[], signal: NodeJS.Signals, n: number): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, 'setup-check', '--preset', 'smoke', ...args], {
      env: { ...process.env, REPRO_RESULTS: results },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const ck = path.join(results, 'setup-check', 'smoke', 'checkpoints');
    const poll = setInterval(() => {
      const logged = fs.existsSync(ck) ? fs.readdirSync(ck).filter((d) => fs.existsSync(path.join(ck, d, 'log.jsonl'))).length : 0;
      if (logged >= n) {
        clearInterval(poll);
        child.kill(signal);
      }
    }, 100);
    child.on('exit', (code) => {
      clearInterval(poll);
      resolve({ code, err });
    });
  });
}

test('1, 7: a failed results append with workers: no crash, records kept aside, a rerun adds them without retraining', { timeout: 180_000 }, () => {
  const results = path.join(tmp, 'append');
  const dir = path.join(results, 'setup-check', 'smoke');
  fs.mkdirSync(dir, { recursive: true });
  // The record store cannot take a record: `records/` (lib/runner/store/records.ts) is a file, not a folder.
  fs.writeFileSync(path.join(dir, 'records'), '');
  const a = run(results, ['--set', 'seeds=[0,1]'], { REPRO_WORKERS: '999' });
  assert.equal(a.status, 1, a.err);
  assert.match(a.err, /REPRO_WORKERS=999 is more than the \d+ core\(s\); using \d+/);
  assert.match(a.err, /finished but its record was not saved: .*records/);
  assert.match(a.err, /the record is kept in .*record\.json \(a rerun adds it to runs\.jsonl without retraining\)/);
  assert.match(a.err, /no run of this call was saved/);
  assert.doesNotMatch(a.err, /\n\s+at /, 'no stack trace');
  const aside = fs.readdirSync(path.join(dir, 'checkpoints')).filter((id) => fs.existsSync(path.join(dir, 'checkpoints', id, 'record.json')));
  assert.ok(aside.length >= 1);
  fs.unlinkSync(path.join(dir, 'records')); // the disk is fixed
  const b = run(results, ['--set', 'seeds=[0,1]']);
  assert.equal(b.status, 0, b.err);
  assert.equal((b.out.match(/added the record of run/g) ?? []).length, aside.length);
  const recs = records(results);
  assert.equal(recs.length, 2);
  assert.equal(recs[0].data[0].dataset, 'fashion-mnist/train', 'the record names its data');
  assert.match(recs[0].data[0].md5['train-images-idx3-ubyte'], /^[0-9a-f]{32}$/);
});

test('2, 5, 11: bad flags exit non-zero before any work; REPRO_PRESET yields to --preset', { timeout: 60_000 }, () => {
  const results = path.join(tmp, 'flags');
  const w = run(results, ['--workers']);
  assert.equal(w.status, 1);
  assert.match(w.err, /--workers needs a number of worker processes/);
  assert.equal(run(results, ['--workers', 'x']).status, 1);
  const p = run(results, ['--set', '__proto__.x=1']);
  assert.equal(p.status, 1);
  assert.match(p.err, /key '__proto__' in --set __proto__\.x is not allowed/);
  assert.equal(fs.existsSync(path.join(results, 'setup-check')), false, 'nothing ran, nothing was written');
  const ok = run(results, [], { REPRO_PRESET: 'Smoke' });
  assert.equal(ok.status, 0, ok.err);
});

test('6: SIGTERM mid-training checkpoints, says what was saved, exits 143; the rerun matches an uninterrupted run', { timeout: 180_000 }, async () => {
  const ref = path.join(tmp, 'sig-ref');
  assert.equal(run(ref, ['--workers', '1', ...long]).status, 0);
  const results = path.join(tmp, 'sigterm');
  const r = await interrupt(results, ['--workers', '1', ...long], 'SIGTERM', 1);
  assert.equal(r.code, 143, r.err);
  assert.match(r.err, /SIGTERM: checkpointing the running runs and stopping/);
  assert.match(r.err, /interrupted by SIGTERM; no run of this call was saved; 1 run\(s\) checkpointed\. Rerun the same command to resume/);
  assert.match(r.err, /interrupted by SIGTERM at step \d+ of 300; checkpoint .*ckpt\.bin holds step \d+ of 300/);
  const again = run(results, ['--workers', '1', ...long]);
  assert.equal(again.status, 0, again.err);
  // issue 30, 4: the rerun says where it resumed
  assert.match(again.err, /setup-check: run 'mlp 64' \(seed 0\) resumed from its checkpoint at step \d+ of 300/);
  const [a] = records(ref);
  const [b] = records(results);
  assert.equal(b.runId, a.runId);
  assert.equal(b.metrics.testAccuracy, a.metrics.testAccuracy);
  assert.equal(b.metrics.finalLoss, a.metrics.finalLoss);
  assert.deepEqual(b.history, a.history, 'a checkpoint between two log steps resumes exactly');
  assert.equal(b.engines, undefined, 'one engine: no engines list');
});

test('6, 11: SIGINT to the runner reaches its workers; the resume on another engine records both', { timeout: 180_000 }, async () => {
  const results = path.join(tmp, 'sigint');
  const r = await interrupt(results, ['--workers', '2', '--set', 'seeds=[0,1]', ...long], 'SIGINT', 2);
  assert.equal(r.code, 130, r.err);
  assert.match(r.err, /interrupted by SIGINT; no run of this call was saved; 2 run\(s\) checkpointed/);
  const again = run(results, ['--workers', '2', '--set', 'seeds=[0,1]', ...long], { REPRO_NATIVE_MATMUL: '0' });
  assert.equal(again.status, 0, again.err);
  const recs = records(results);
  assert.equal(recs.length, 2);
  for (const rec of recs) {
    assert.equal(rec.engines.length, 2, JSON.stringify(rec.engines));
    assert.deepEqual(rec.engines[1], rec.engine);
  }
});

/** Pids of `pid`'s child processes (from /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

test('6: SIGINT to the workers only (Jupyter interrupts the kernel\'s process group): no further run starts, a clear report', { timeout: 180_000 }, async () => {
  const results = path.join(tmp, 'sigint-workers');
  const r = await new Promise<{ code: number | null; err: string; out: string }>((resolve) => {
    const child = spawn(process.execPath, [script, 'setup-check', '--preset', 'smoke', '--workers', '2', '--set', 'seeds=[0,1,2,3]', ...long], {
      env: { ...process.env, REPRO_RESULTS: results },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    let out = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d) => (out += d));
    const ck = path.join(results, 'setup-check', 'smoke', 'checkpoints');
    const poll = setInterval(() => {
      const logged = fs.existsSync(ck) ? fs.readdirSync(ck).filter((d) => fs.existsSync(path.join(ck, d, 'log.jsonl'))).length : 0;
      if (logged >= 2) {
        clearInterval(poll);
        for (const pid of childrenOf(child.pid!)) process.kill(pid, 'SIGINT');
      }
    }, 100);
    child.on('close', (code) => resolve({ code, err, out }));
  });
  assert.equal(r.code, 130, r.err);
  assert.match(r.err, /interrupted by SIGINT; no run of this call was saved; 2 run\(s\) checkpointed, 2 not started/);
  // The progress bar's last line counts the runs that finished (none), not a full bar at 100 %.
  const last = r.out.trim().split('\n').pop() ?? '';
  assert.match(last, /setup-check\/smoke \[\.+\] 0\/4 0% \d\d:\d\d 0 ok, 0 failed, 2 interrupted, 2 not started in /, r.out);
});

test('6: SIGHUP exits 129 with the same report', { timeout: 120_000 }, async () => {
  const results = path.join(tmp, 'sighup');
  const r = await interrupt(results, ['--workers', '1', ...long], 'SIGHUP', 1);
  assert.equal(r.code, 129, r.err);
  assert.match(r.err, /interrupted by SIGHUP/);
  fs.rmSync(tmp, { recursive: true, force: true });
});
