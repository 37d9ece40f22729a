/**
 * The sweep command without a cluster: sbatch option parsing and its errors, the batch script
 * (bash-valid, array index -> run id, pass-through lines, signal and requeue), squeue parsing, run
 * states from records / claims / failure notes / the queue, submission through a stand-in `sbatch`
 * (only missing runs; a refusal and a missing sbatch named), a killed task's report, and the check that
 * a node sees the results folder. The real Slurm cluster test is slurm.test.ts.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { batchScript, parseSlurmArgs, parseSqueue, slurmTimeSeconds } from '../../../lib/runner/cluster/slurm';
import { formatStatus, noteTaskDied, planRuns, readManifests, submitSweep, sweepStatus } from '../../../lib/runner/cluster/sweep';
import { checkSweepManifest } from '../../../lib/runner/cluster/task';
import { experiment } from '../../../lib/studies/setup-check';
import { claimFile } from '../../../lib/runner/claims';
import { noteFailure, readFailure, writeRecordFile } from '../../../lib/runner/store/records';
import { experimentDir, REPO_ROOT } from '../../../lib/paths';
import { ConfigError, EnvironmentError } from '../../../lib/errors';
import { makeRecord } from '../../report/helpers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-sweep-'));
const OVERRIDES = { seeds: [0, 1, 2, 3] };
const SETS = ['seeds=[0,1,2,3]'];
const slurmOpts = () => parseSlurmArgs(['--partition=debug', '-t', '0:10:00', '--mem', '2G', '--gres=gpu:1', '--max-parallel', '2', '--sbatch-line', '#SBATCH --comment=hi']);
let oldResults: string | undefined;
let oldPath: string | undefined;

/** A stand-in sbatch on the PATH that logs its arguments and answers like `sbatch --parsable`. */
function fakeSbatch(body: string): string {
  const bin = fs.mkdtempSync(path.join(tmp, 'bin-'));
  fs.writeFileSync(path.join(bin, 'sbatch'), `#!/bin/sh\necho "$@" >> ${bin}/calls\n${body}\n`, { mode: 0o755 });
  fs.writeFileSync(path.join(bin, 'squeue'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  return bin;
}

describe('sweep without a cluster', () => {
  before(() => {
    oldResults = process.env.REPRO_RESULTS;
    oldPath = process.env.PATH;
  });
  after(() => {
    if (oldResults === undefined) delete process.env.REPRO_RESULTS;
    else process.env.REPRO_RESULTS = oldResults;
    process.env.PATH = oldPath;
  });

  test('sbatch options: long, =, short forms and flags pass through; bad ones are named', () => {
    const o = slurmOpts();
    assert.deepEqual(o.sbatch, { partition: 'debug', time: '0:10:00', mem: '2G', gres: 'gpu:1' });
    assert.equal(o.maxParallel, 2);
    assert.equal(o.signalLead, 120);
    assert.deepEqual(o.extraLines, ['#SBATCH --comment=hi']);
    assert.deepEqual(parseSlurmArgs(['-c', '4', '--exclusive', '--signal-lead=300']).sbatch, { 'cpus-per-task': '4', exclusive: true });
    const bad: [string[], RegExp][] = [
      [['--partitoin=debug'], /unknown sbatch option '--partitoin=debug'; sbatch options after --slurm: --partition, --time/],
      [['--array=0-3'], /--array is set by the sweep itself/],
      [['--max-parallel', '0'], /--max-parallel must be an integer >= 1; got '0'/],
      [['--signal-lead', '5'], /--signal-lead must be whole seconds in \[10, 65535\]; got '5'/],
      [['--sbatch-line', 'comment=x'], /--sbatch-line must be one line starting with '#SBATCH '/],
      [['--time'], /--time needs a value; got nothing/],
      [['--mem', '--time=1'], /--mem needs a value; got '--time=1'/],
      [['--exclusive=yes'], /--exclusive takes no value/],
      [['debug'], /unexpected argument 'debug' after --slurm/],
      [['--time=00:01:30'], /--time 00:01:30 \(90 s\) is not longer than --signal-lead \(120 s\): every task would be told to stop and requeue as it starts/],
      [['--time', 'soon'], /--time 'soon' is not a Slurm time; expected minutes, MM:SS/],
    ];
    for (const [args, re] of bad) assert.throws(() => parseSlurmArgs(args), (e: Error) => e instanceof ConfigError && re.test(e.message), args.join(' '));
  });

  test('Slurm time limits in seconds', () => {
    const cases: [string, number | null][] = [['90', 5400], ['1:30', 90], ['02:00:00', 7200], ['1-12', 129600], ['1-12:30', 131400], ['1-00:00:10', 86410], ['UNLIMITED', 0], ['1h', null], ['', null]];
    for (const [t, want] of cases) assert.equal(slurmTimeSeconds(t), want, t);
  });

  test('the batch script: valid bash, one run id per array index, options, signal, requeue', () => {
    const s = batchScript({
      experiment: 'setup-check',
      preset: 'smoke',
      runIds: ['aaa111', 'bbb222', 'ccc333'],
      sets: ["train.steps=5", "note=it's"],
      resultsRoot: '/shared/results',
      repoRoot: '/opt/repro',
      node: '/usr/bin/node',
      manifest: '/shared/results/setup-check/smoke/slurm/sweep-1.json',
      logDir: '/shared/results/setup-check/smoke/slurm',
      slurm: slurmOpts(),
    });
    for (const line of [
      '#SBATCH --array=0-2%2',
      '#SBATCH --signal=B:USR1@120',
      '#SBATCH --requeue',
      '#SBATCH --partition=debug',
      '#SBATCH --gres=gpu:1',
      '#SBATCH --comment=hi',
      '#SBATCH --output=/shared/results/setup-check/smoke/slurm/%A_%a.out',
      'RUN_IDS=(aaa111 bbb222 ccc333)',
      "export REPRO_RESULTS='/shared/results'",
      "--set 'train.steps=5' --set 'note=it'\\''s'",
      'scontrol requeue "$SLURM_JOB_ID"',
      `--task-died "$RUN_ID" --pid "$child" --code "$rc" --set 'train.steps=5' --set 'note=it'\\''s'`,
    ]) {
      assert.ok(s.includes(line), `missing: ${line}`);
    }
    assert.ok(s.indexOf('#SBATCH --comment=hi') < s.indexOf('set -u'), 'every #SBATCH line comes before the first command');
    const file = path.join(tmp, 'check.sbatch');
    fs.writeFileSync(file, s);
    const r = spawnSync('bash', ['-n', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.throws(() => batchScript({ experiment: 'x', preset: 'smoke', runIds: [], sets: [], resultsRoot: '', repoRoot: '', node: '', manifest: '', logDir: '', slurm: slurmOpts() }), /no runs to submit/);
  });

  test('squeue lines: single tasks and pending ranges', () => {
    assert.deepEqual(parseSqueue('12_3|RUNNING|None\n12_[4-6,9%2]|PENDING|JobArrayTaskLimit\n13|PENDING|Priority\n'), [
      { job: '12', indices: [3], state: 'RUNNING', reason: 'None' },
      { job: '12', indices: [4, 5, 6, 9], state: 'PENDING', reason: 'JobArrayTaskLimit' },
    ]);
  });

  test('states from records, claims, failure notes and the queue; submitting again submits only what is missing', () => {
    process.env.REPRO_RESULTS = path.join(tmp, 'states');
    const dir = experimentDir('setup-check', 'smoke');
    const runs = planRuns(experiment, 'smoke', OVERRIDES);
    const ids = runs.map((r) => r.runId);
    const bin = fakeSbatch('n=$(cat "$(dirname "$0")/n" 2>/dev/null || echo 41); n=$((n+1)); echo $n > "$(dirname "$0")/n"; echo "$n;cluster"');
    process.env.PATH = `${bin}:${oldPath}`;
    const first = submitSweep(experiment, 'smoke', OVERRIDES, SETS, slurmOpts(), { queue: [] });
    assert.equal(first.job, '42');
    assert.deepEqual(first.runIds, ids);
    assert.match(fs.readFileSync(path.join(bin, 'calls'), 'utf8'), /^--parsable .*sweep-.*\.sbatch$/m);
    assert.deepEqual(readManifests(dir).map((m) => [m.job, m.runIds]), [['42', ids]]);
    // Run 0 finished, run 1 running here (our pid), run 2 failed, run 3 still queued.
    writeRecordFile(dir, makeRecord({ experiment: 'setup-check', runId: ids[0] }));
    fs.mkdirSync(path.join(dir, 'claims'), { recursive: true });
    fs.writeFileSync(claimFile(dir, ids[1]), JSON.stringify({ runId: ids[1], host: os.hostname(), pid: process.pid, startedAt: 'then', token: 't', job: '42_1' }));
    noteFailure(dir, { runId: ids[2], row: 'mlp 64', seed: 2, message: 'NonFiniteLossError: loss is NaN at step 3' });
    const queue = [{ job: '42', indices: [2, 3], state: 'PENDING', reason: 'Priority' }];
    queue[0].indices = [3];
    const st = sweepStatus(experiment, 'smoke', OVERRIDES, queue);
    assert.deepEqual(st.runs.map((r) => r.state), ['finished', 'running', 'failed', 'queued']);
    assert.match(st.runs[1].detail, new RegExp(`pid ${process.pid} job 42_1`));
    assert.match(st.runs[2].detail, /loss is NaN at step 3/);
    assert.match(st.runs[3].detail, /job 42_3 PENDING \(Priority\)/);
    assert.equal(st.synced, 1, 'the finished record went into runs.jsonl');
    assert.match(formatStatus('setup-check/smoke', st), /1 finished, 1 running, 1 queued, 1 failed, 0 pending/);
    const again = submitSweep(experiment, 'smoke', OVERRIDES, SETS, slurmOpts(), { queue });
    assert.deepEqual(again.runIds, [ids[2]], 'only the failed run is submitted again');
    assert.match(again.script!, new RegExp(`RUN_IDS=\\(${ids[2]}\\)`));
    fs.rmSync(claimFile(dir, ids[1]));
    const none = submitSweep(experiment, 'smoke', OVERRIDES, SETS, slurmOpts(), { queue: [{ job: '42', indices: [1, 2, 3], state: 'PENDING', reason: '' }] });
    assert.deepEqual(none.runIds, []);
    assert.equal(none.job, null);
    // Without squeue the queued runs cannot be told apart: nothing is submitted twice.
    assert.throws(() => submitSweep(experiment, 'smoke', OVERRIDES, SETS, slurmOpts(), { queue: null }), /cannot tell which runs of setup-check\/smoke are still queued \(squeue is not on the PATH\); nothing was submitted/);
    assert.match(formatStatus('x', sweepStatus(experiment, 'smoke', OVERRIDES, null)), /squeue not available: queued tasks show as pending/);
  });

  test('a refused submission quotes Slurm and leaves no manifest; no sbatch on the PATH is named', () => {
    process.env.REPRO_RESULTS = path.join(tmp, 'refused');
    const dir = experimentDir('setup-check', 'smoke');
    process.env.PATH = `${fakeSbatch('echo "sbatch: error: invalid partition specified: debug" >&2; exit 1')}:${oldPath}`;
    assert.throws(
      () => submitSweep(experiment, 'smoke', OVERRIDES, SETS, slurmOpts(), { queue: [] }),
      (e: Error) => e instanceof EnvironmentError && /sbatch refused the submission of 4 run\(s\) of setup-check\/smoke .*: sbatch: error: invalid partition specified: debug; nothing was submitted/.test(e.message),
    );
    assert.deepEqual(readManifests(dir), []);
    const empty = fs.mkdtempSync(path.join(tmp, 'nobin-'));
    process.env.PATH = empty;
    assert.throws(
      () => submitSweep(experiment, 'smoke', OVERRIDES, SETS, slurmOpts(), { queue: [] }),
      /'sbatch' is not on the PATH: run the sweep on a machine with the Slurm client tools \(a login node\), or use --dry-run/,
    );
    const dry = submitSweep(experiment, 'smoke', OVERRIDES, SETS, slurmOpts(), { dryRun: true, queue: [] });
    assert.equal(dry.job, null);
    assert.ok(fs.existsSync(dry.scriptFile!) && fs.existsSync(dry.manifestFile!), 'a dry run writes the script and its manifest (submittable by hand)');
    process.env.PATH = oldPath;
  });

  test('issue 31, 15: a banner before the job id is read past; no readable id keeps the manifest and says the array may be queued', () => {
    process.env.REPRO_RESULTS = path.join(tmp, 'banner');
    const dir = experimentDir('setup-check', 'smoke');
    process.env.PATH = `${fakeSbatch('echo "Welcome to the cluster. Quota: 80%"; echo "4242;cluster1"')}:${oldPath}`;
    const ok = submitSweep(experiment, 'smoke', OVERRIDES, SETS, slurmOpts(), { queue: [] });
    assert.equal(ok.job, '4242');
    assert.equal(readManifests(dir).find((m) => m.job === '4242')?.runIds.length, 4);
    process.env.REPRO_RESULTS = path.join(tmp, 'no-id');
    const dir2 = experimentDir('setup-check', 'smoke');
    process.env.PATH = `${fakeSbatch('echo "Submitted batch job, see portal"')}:${oldPath}`;
    assert.throws(
      () => submitSweep(experiment, 'smoke', OVERRIDES, SETS, slurmOpts(), { queue: [] }),
      (e: Error) => e.name === 'SbatchUnknownError' && /accepted .* \(exit 0\) but printed no job id .*the array is probably queued; check `squeue --me` before submitting again; the manifest .*sweep-.*\.json is kept/.test(e.message),
    );
    assert.equal(readManifests(dir2).length, 1, 'the manifest stays');
    process.env.PATH = oldPath;
  });

  test('issue 31, 14: one value per sbatch option, reserved options refused in --sbatch-line too, paths with spaces quoted, a `$(…)` path never run', () => {
    for (const [args, re] of [
      [['--partition', 'gpu --array=0-999'], /--partition must be one name without spaces, quotes or backslashes .*got 'gpu --array=0-999'/],
      [['--sbatch-line', '#SBATCH --array=0-999'], /--sbatch-line '#SBATCH --array=0-999' sets --array, which the sweep sets itself/],
      [['--sbatch-line', '#SBATCH -a 0-9'], /sets --array/],
      [['--sbatch-line', '#SBATCH --comment=x --requeue'], /sets --requeue/],
      [['--open-mode=truncate'], /--open-mode is set by the sweep itself/],
      [['--output', 'a"b'], /--output must be one path without quotes or backslashes/],
    ] as const) assert.throws(() => parseSlurmArgs([...args]), (e: Error) => e instanceof ConfigError && re.test(e.message), args.join(' '));
    const root = '/shared/res ults $(touch /tmp/pwned-by-path)';
    const s = batchScript({
      experiment: 'setup-check', preset: 'smoke', runIds: ['aaa111'], sets: [], resultsRoot: root, repoRoot: `${root}/repo`, node: '/usr/bin/node',
      manifest: `${root}/m.json`, logDir: `${root}/setup-check/smoke/slurm`, slurm: parseSlurmArgs(['--error', '/shared/err logs/%A.err']),
    });
    assert.ok(s.includes(`#SBATCH --output="${root}/setup-check/smoke/slurm/%A_%a.out"`), s);
    assert.ok(s.includes('#SBATCH --error="/shared/err logs/%A.err"'));
    // run the script's cd/echo line in bash with the path absent: the text is printed, the substitution never runs
    const line = s.split('\n').find((l) => l.startsWith('cd '))!;
    fs.rmSync('/tmp/pwned-by-path', { force: true });
    const r = spawnSync('bash', ['-c', `${line.replace('exit 2', 'true')}`], { encoding: 'utf8' });
    assert.ok(r.stderr.includes('$(touch /tmp/pwned-by-path)'), r.stderr);
    assert.ok(!fs.existsSync('/tmp/pwned-by-path'), 'the path was never executed');
    assert.throws(() => batchScript({ experiment: 'x', preset: 'smoke', runIds: ['a'], sets: [], resultsRoot: '/r', repoRoot: '/r', node: 'node', manifest: '/r/m', logDir: '/r/a"b', slurm: parseSlurmArgs([]) }), /the log folder '\/r\/a"b\/%A_%a.out' cannot go on an #SBATCH line/);
  });

  test('a task killed by SIGKILL: its claim released, the failure noted with the likely cause', () => {
    process.env.REPRO_RESULTS = path.join(tmp, 'killed');
    const dir = experimentDir('setup-check', 'smoke');
    const [run] = planRuns(experiment, 'smoke');
    fs.mkdirSync(path.join(dir, 'claims'), { recursive: true });
    fs.writeFileSync(claimFile(dir, run.runId), JSON.stringify({ runId: run.runId, host: os.hostname(), pid: 999999, startedAt: '', token: 't' }));
    const msg = noteTaskDied(dir, run.runId, run.spec.row, run.spec.seed, 999999, 137);
    assert.match(msg, /killed by SIGKILL \(exit 137\): most often the job's memory limit \(--mem/);
    assert.equal(fs.existsSync(claimFile(dir, run.runId)), false);
    assert.equal(readFailure(dir, run.runId)!.name, 'TaskKilled');
    assert.equal(sweepStatus(experiment, 'smoke', undefined, null).runs[0].state, 'failed');
  });

  test('a node that cannot see the manifest says the results folder is not shared', () => {
    process.env.REPRO_RESULTS = path.join(tmp, 'unshared');
    assert.throws(
      () => checkSweepManifest('/nonexistent/results/setup-check/smoke/slurm/sweep-1.json', ['abc']),
      /cannot see \/nonexistent\/.*sweep-1\.json, which the sweep wrote before submitting: the results folder .* is not shared with this node, .*runs abc.*REPRO_RESULTS on a file system every node mounts/,
    );
  });

  test('the command: usage, unknown options and contradictions exit non-zero with the reason', () => {
    const sweep = path.join(REPO_ROOT, 'build', 'scripts', 'sweep.js');
    const env = { ...process.env, REPRO_RESULTS: path.join(tmp, 'cli') };
    const cases: [string[], number, RegExp][] = [
      [[], 2, /usage: npm run sweep -- <experiment>/],
      [['setup-check', '--preset', 'smoke'], 2, /say --status or --slurm/],
      [['setup-check', '--status', '--slurm'], 2, /--status and --slurm do not go together/],
      [['setup-check', '--frobnicate'], 2, /unknown option '--frobnicate'/],
      [['setup-check', '--preset', 'tiny', '--status'], 2, /preset 'tiny'/],
      [['no-such-exp', '--status'], 2, /unknown study 'no-such-exp'; expected one of setup-check, mae-sweep, mae-length, mae-clutter, mae-long, ancre-lm, resnet-depth, linear-theory, diffusion-fid, diffusion-baselines$/m],
      [['setup-check', '--preset', 'smoke', '--slurm', '--nodes=2'], 2, /unknown sbatch option '--nodes=2'/],
    ];
    for (const [args, code, re] of cases) {
      const r = spawnSync(process.execPath, [sweep, ...args], { env, encoding: 'utf8' });
      assert.equal(r.status, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re, args.join(' '));
    }
    // issue 30, 9: --set after --slurm is the sweep's option, not an sbatch one (a dry run writes the script)
    const dry = spawnSync(process.execPath, [sweep, 'setup-check', '--preset', 'smoke', '--slurm', '--dry-run', '-p', 'debug', '--set', 'seeds=[0,1,2]', '--set=train.steps=25'], { env, encoding: 'utf8' });
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stdout, /--set 'seeds=\[0,1,2\]' --set 'train.steps=25'/);
    assert.match(dry.stdout, /#SBATCH --array=0-2/);
    const ok = spawnSync(process.execPath, [sweep, 'setup-check', '--preset', 'smoke', '--set', 'seeds=[0,1]', '--status'], { env, encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /setup-check\/smoke: 2 run\(s\)[^]*0 finished, 0 running, 0 queued, 0 failed, 2 pending/);
    const runExp = path.join(REPO_ROOT, 'build', 'scripts', 'run-experiment.js');
    const task: [string[], RegExp][] = [
      [['--run-id', 'not-an-id'], /--run-id needs a run id \(hex, as runs.jsonl and npm run sweep -- --status show it\); got 'not-an-id'/],
      [['--run-id', 'abcdef123456', '--sweep-manifest', '/nonexistent/sweep-9.json'], /cannot see \/nonexistent\/sweep-9\.json.*not shared with this node/],
    ];
    for (const [args, re] of task) {
      const r = spawnSync(process.execPath, [runExp, 'setup-check', '--preset', 'smoke', ...args], { env, encoding: 'utf8' });
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, re);
    }
    assert.equal(fs.existsSync(path.join(tmp, 'cli', 'setup-check', 'smoke', 'records')), false, 'nothing ran');
    const ids = spawnSync(process.execPath, [sweep, 'setup-check', '--preset', 'smoke', '--set', 'seeds=[0,1]', '--list-ids'], { env, encoding: 'utf8' });
    assert.deepEqual(ids.stdout.trim().split('\n'), planRuns(experiment, 'smoke', { seeds: [0, 1] }).map((r) => r.runId));
  });
});
