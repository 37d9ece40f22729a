/**
 * A run killed with SIGKILL at several points (mid-training, during a checkpoint write), then
 * rerun, finishes with exactly the metrics of an uninterrupted run on the same engine; a finished
 * run is then reused, not retrained. The subject is the real setup-check experiment (smoke size).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO_ROOT } from '../../lib/paths';

const script = path.join(REPO_ROOT, 'build', 'scripts', 'run-experiment.js');
const args = ['setup-check', '--preset', 'smoke', '--workers', '1', '--set', 'train.steps=200', '--set', 'train.checkpointEvery=40'];

function runOnce(results: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [script, ...args], { env: { ...process.env, REPRO_RESULTS: results, ...env }, encoding: 'utf8' });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

function records(results: string) {
  const file = path.join(results, 'setup-check', 'smoke', 'runs.jsonl');
  return fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-kill-'));
const ref = path.join(tmp, 'ref');

test('uninterrupted reference run', { timeout: 120000 }, () => {
  const r = runOnce(ref);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(records(ref).length, 1);
});

test('determinism: the same config and seed in a fresh process give identical metrics and curves', { timeout: 120000 }, () => {
  const dir = path.join(tmp, 'again');
  const r = runOnce(dir);
  assert.equal(r.status, 0, r.stderr);
  same(dir);
});

function same(dir: string) {
  const [a] = records(ref);
  const got = records(dir);
  assert.equal(got.length, 1, 'exactly one record, no duplicate from the interrupted attempt');
  assert.equal(got[0].runId, a.runId);
  assert.equal(got[0].metrics.testAccuracy, a.metrics.testAccuracy);
  assert.equal(got[0].metrics.finalLoss, a.metrics.finalLoss);
  assert.deepEqual(got[0].history, a.history);
}

for (const n of [1, 3, 5]) {
  test(`killed during checkpoint write #${n}, rerun: identical metrics`, { timeout: 120000 }, () => {
    const dir = path.join(tmp, `fault${n}`);
    const k = runOnce(dir, { REPRO_FAULT: `checkpoint-write:${n}` });
    assert.equal(k.signal, 'SIGKILL', `the fault did not fire: ${k.stderr}`);
    const ckDir = path.join(dir, 'setup-check', 'smoke', 'checkpoints');
    const leftovers = fs.readdirSync(path.join(ckDir, fs.readdirSync(ckDir)[0]));
    assert.ok(leftovers.some((f) => f.includes('.tmp-')), 'the kill left a partial temporary file');
    const r = runOnce(dir);
    assert.equal(r.status, 0, r.stderr);
    same(dir);
    const after = fs.readdirSync(path.join(ckDir, fs.readdirSync(ckDir)[0]));
    assert.ok(!after.some((f) => f.includes('.tmp-')), `the rerun removed the dead writer's temporary file: ${after}`);
  });
}

test('killed by a timer mid-training, rerun: identical metrics; then reused', { timeout: 120000 }, async () => {
  const dir = path.join(tmp, 'timer');
  await new Promise<void>((resolve) => {
    const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, REPRO_RESULTS: dir }, stdio: 'ignore' });
    setTimeout(() => child.kill('SIGKILL'), 1500);
    child.on('exit', () => resolve());
  });
  const r = runOnce(dir);
  assert.equal(r.status, 0, r.stderr);
  same(dir);
  const again = runOnce(dir);
  assert.match(again.stdout + again.stderr, /1 reused/);
  assert.equal(records(dir).length, 1);
});
