/**
 * The sweep on a real Slurm cluster: a single-node cluster on localhost (Debian's slurmctld, slurmd,
 * slurm-client and munge, started by environment/slurm-local.sh under a temporary folder), a smoke
 * sweep of setup-check (3 seeds) submitted through sbatch, one task cancelled mid-run with scancel,
 * another signalled as if its time limit were near (USR1: it stops and requeues itself, then resumes
 * from its checkpoint), a third one's run process killed outright (as by the OOM killer: the batch shell
 * reports it), a resubmission that submits only the cancelled and the killed run, and at the end records
 * equal to those of a local run of the same configs and seeds, each exactly once in runs.jsonl.
 * The daemons stop at the end, also when a step fails. Skipped (with the reason) only where the
 * cluster cannot be installed or started: not root, or no apt-get.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO_ROOT } from '../../../lib/paths';
import { readRuns } from '../../../lib/runner/store/runs';

const helper = path.join(REPO_ROOT, 'environment', 'slurm-local.sh');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-slurm-'));
const clusterDir = path.join(tmp, 'cluster');
const results = path.join(tmp, 'results');
const SETS = ['seeds=[0,1,2]', 'train.steps=400', 'train.checkpointEvery=20'];
const setArgs = SETS.flatMap((s) => ['--set', s]);
const dir = path.join(results, 'setup-check', 'smoke');
let started = false;

function stopCluster(): void {
  if (!started) return;
  started = false;
  const r = spawnSync('bash', [helper, 'stop', clusterDir], { encoding: 'utf8' });
  process.stderr.write(r.stdout + r.stderr);
}
after(stopCluster);
process.on('exit', stopCluster); // also when the runner cancels the test on its timeout

const env = (): NodeJS.ProcessEnv => ({
  ...process.env,
  PATH: `${process.env.PATH}:/usr/sbin`,
  SLURM_CONF: path.join(clusterDir, 'slurm.conf'),
  REPRO_RESULTS: results,
});

function sh(cmd: string, args: string[]): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { env: env(), encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: (r.stdout ?? '') + (r.stderr ?? '') };
}

function sweep(...args: string[]) {
  return sh(process.execPath, [path.join(REPO_ROOT, 'build', 'scripts', 'sweep.js'), 'setup-check', '--preset', 'smoke', ...setArgs, ...args]);
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 90_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) {
      const q = sh('squeue', ['-h', '-o', '%i|%T|%r']).out;
      const logs = fs.existsSync(path.join(dir, 'slurm')) ? fs.readdirSync(path.join(dir, 'slurm')).filter((f) => f.endsWith('.out')).map((f) => `--- ${f}\n${fs.readFileSync(path.join(dir, 'slurm', f), 'utf8').slice(-1500)}`).join('\n') : '';
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}\nsqueue:\n${q}\n${sweep('--status').out}\n${logs}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

const exists = (...p: string[]) => fs.existsSync(path.join(dir, ...p));
const queueState = (task: string) => sh('squeue', ['-h', '-o', '%i|%T', '-j', task]).out.split('\n').find((l) => l.startsWith(`${task}|`))?.split('|')[1] ?? null;
const timing = new Set(['trainSeconds', 'msPerStep']);
const stable = (m: object) => Object.fromEntries(Object.entries(m).filter(([k]) => !timing.has(k)));

test('a smoke sweep through a real Slurm: scancel, requeue on USR1, resubmission, records equal a local run', { timeout: 420_000 }, async (t) => {
  const inst = sh('bash', [helper, 'install']);
  if (inst.status === 3) {
    console.log(`SKIPPED: no Slurm cluster can be installed here: ${inst.out.trim()}`);
    t.skip(`no Slurm cluster here: ${inst.out.trim()}`);
    return;
  }
  assert.equal(inst.status, 0, inst.out);
  started = true;
  const st = sh('bash', [helper, 'start', clusterDir]);
  if (st.status === 3) {
    console.log(`SKIPPED: the Slurm daemons cannot run here: ${st.out.trim()}`);
    t.skip(`the Slurm daemons cannot run here: ${st.out.trim()}`);
    return;
  }
  assert.equal(st.status, 0, st.out);
  const t0 = Date.now();

  // 1. Submit: three runs, at most two at a time.
  const sub = sweep('--slurm', '--max-parallel', '2', '--time=00:10:00', '--signal-lead', '30');
  assert.equal(sub.status, 0, sub.out);
  const job = /submitted job array (\d+) with 3 run\(s\)/.exec(sub.out)?.[1];
  assert.ok(job, sub.out);
  const manifest = JSON.parse(fs.readFileSync(fs.readdirSync(path.join(dir, 'slurm')).filter((f) => f.endsWith('.json')).map((f) => path.join(dir, 'slurm', f))[0], 'utf8'));
  const [id0, id1, id2] = manifest.runIds as string[];

  // 2. Task 0 mid-run (claimed, a checkpoint written): signal it as at its time limit; it stops and requeues.
  const midRun = (id: string) => exists('claims', `${id}.json`) && exists('checkpoints', id, 'ckpt.bin');
  await waitFor('task 0 to be mid-run', () => midRun(id0));
  assert.equal(sh('scancel', ['--batch', '--signal=USR1', `${job}_0`]).status, 0);
  await waitFor('task 0 to requeue itself', () => queueState(`${job}_0`) === 'PENDING' && !exists('claims', `${id0}.json`));
  assert.equal(exists('records', `${id0}.json`), false, 'task 0 stopped before finishing');
  // Task 1 mid-run (beside task 0 or after it, as the node's cores allow): cancel it.
  await waitFor('task 1 to be mid-run', () => midRun(id1));
  assert.equal(sh('scancel', [`${job}_1`]).status, 0);
  await waitFor('the cancelled task to end and release its claim', () => queueState(`${job}_1`) === null && !exists('claims', `${id1}.json`));
  assert.match(JSON.parse(fs.readFileSync(path.join(dir, 'failures', `${id1}.json`), 'utf8')).message, /stopped by SIGTERM/);
  assert.equal(exists('records', `${id1}.json`), false, 'task 1 stopped before finishing');
  // Task 2 mid-run: its run process killed outright, as the kernel's OOM killer would (the batch shell survives and reports).
  await waitFor('task 2 to be mid-run', () => midRun(id2));
  process.kill(JSON.parse(fs.readFileSync(path.join(dir, 'claims', `${id2}.json`), 'utf8')).pid, 'SIGKILL');
  await waitFor('the killed task to be reported', () => queueState(`${job}_2`) === null && exists('failures', `${id2}.json`));
  assert.match(JSON.parse(fs.readFileSync(path.join(dir, 'failures', `${id2}.json`), 'utf8')).message, new RegExp(`task ${job}_2 killed by SIGKILL \\(exit 137\\): most often the job's memory limit`));
  assert.equal(exists('claims', `${id2}.json`), false, 'the batch shell released the dead process\'s claim');

  // 3. Status, then a resubmission: only the cancelled and the killed run are missing (task 0 is queued).
  const status = sweep('--status');
  assert.equal(status.status, 0, status.out);
  assert.match(status.out, new RegExp(`failed\\s+${id1}.*stopped by SIGTERM`));
  assert.match(status.out, new RegExp(`failed\\s+${id2}.*killed by SIGKILL`));
  assert.match(status.out, new RegExp(`queued\\s+${id0}.*job ${job}_0 PENDING`));
  const again = sweep('--slurm', '--max-parallel', '2', '--time=00:10:00');
  assert.equal(again.status, 0, again.out);
  assert.match(again.out, /with 2 run\(s\)/);
  const job2 = /submitted job array (\d+)/.exec(again.out)![1];
  const m2 = fs.readdirSync(path.join(dir, 'slurm')).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(fs.readFileSync(path.join(dir, 'slurm', f), 'utf8'))).find((m) => m.job === job2);
  assert.deepEqual(m2.runIds, [id1, id2]);
  // A requeued job waits out Slurm's requeue delay (about two minutes); let it start now.
  assert.equal(sh('scontrol', ['update', `jobid=${job}_0`, 'StartTime=now']).status, 0);

  // 4. Everything finishes; nothing left behind.
  await waitFor('all three records', () => [id0, id1, id2].every((id) => exists('records', `${id}.json`)), 180_000);
  await waitFor('the queue to empty', () => !sh('squeue', ['-h', '-o', '%i']).out.trim());
  const done = sweep('--status');
  assert.match(done.out, /3 finished, 0 running, 0 queued, 0 failed, 0 pending/, done.out);
  const log0 = fs.readFileSync(path.join(dir, 'slurm', `${job}_0.out`), 'utf8');
  assert.match(log0, /time limit near: requeueing job/);
  assert.match(log0, /restart 1\)/, 'the requeued task ran again');
  const { records, warnings } = readRuns(path.join(dir, 'runs.jsonl'));
  assert.deepEqual(warnings, []);
  assert.deepEqual(records.map((r) => r.runId).sort(), [id0, id1, id2].sort(), 'each run exactly once');
  assert.deepEqual(fs.readdirSync(path.join(dir, 'claims')), []);
  assert.deepEqual(fs.existsSync(path.join(dir, 'failures')) ? fs.readdirSync(path.join(dir, 'failures')) : [], []);
  const nothing = sweep('--slurm');
  assert.match(nothing.out, /nothing to submit: 3 finished/);
  console.log(`slurm sweep: ${((Date.now() - t0) / 1000).toFixed(1)} s from submission to the last record`);

  // 5. The same configs and seeds run locally give the same records (timings aside).
  const local = path.join(tmp, 'local');
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'build', 'scripts', 'run-experiment.js'), 'setup-check', '--preset', 'smoke', '--workers', '2', ...setArgs], {
    env: { ...process.env, REPRO_RESULTS: local },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const ref = readRuns(path.join(local, 'setup-check', 'smoke', 'runs.jsonl')).records;
  assert.equal(ref.length, 3);
  for (const want of ref) {
    const got = records.find((x) => x.runId === want.runId)!;
    assert.ok(got, `run ${want.runId} is missing from the Slurm records`);
    assert.deepEqual(stable(got.metrics), stable(want.metrics), `run ${want.runId} (seed ${want.seed})`);
    assert.deepEqual(got.history, want.history, `run ${want.runId} (seed ${want.seed})`);
  }
});
