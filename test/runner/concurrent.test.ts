/**
 * Two and four runners of one experiment started at once on one results folder (the real setup-check
 * experiment, smoke size): every run is trained by exactly one of them, runs.jsonl holds each run once,
 * every runner returns all the records, and they equal those of a single runner. A run held by another
 * host's claim is waited for and taken over once the claim goes stale; a dead local runner's claim at
 * once. `runIds` selects runs and names the bad ones. The committed reference records are reused as they are.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO_ROOT } from '../../lib/paths';
import { readRuns } from '../../lib/runner/store/runs';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-concurrent-'));
const SETS = { seeds: [0, 1, 2, 3], train: { steps: 40, checkpointEvery: 20 } };
const driver = path.join(tmp, 'driver.js');
fs.writeFileSync(
  driver,
  `const { initEngine } = require(${JSON.stringify(path.join(REPO_ROOT, 'build/lib/backend'))});
   const { runExperiment } = require(${JSON.stringify(path.join(REPO_ROOT, 'build/lib/runner/run'))});
   const { loadStudy: loadExperiment } = require(${JSON.stringify(path.join(REPO_ROOT, 'build/lib/studies'))});
   (async () => {
     const o = JSON.parse(process.argv[2]);
     await initEngine({ quiet: true });
     const r = await runExperiment(loadExperiment(o.experiment), { preset: o.preset, workers: o.workers, overrides: o.overrides, runIds: o.runIds, claims: o.claims, verbose: false });
     // Timings differ from run to run; every other metric and curve must match exactly.
     const metrics = (m) => Object.fromEntries(Object.entries(m).filter(([k]) => k !== 'trainSeconds' && k !== 'msPerStep'));
     process.stdout.write(JSON.stringify({ executed: r.executed, reused: r.reused, records: r.records.map((x) => ({ runId: x.runId, metrics: metrics(x.metrics), history: x.history })) }));
   })().catch((e) => { process.stderr.write(e.message); process.exit(1); });`,
);

interface Out {
  executed: number;
  reused: number;
  records: { runId: string; metrics: object; history: object }[];
}

function runner(results: string, o: object, env: NodeJS.ProcessEnv = {}): Promise<{ status: number | null; out: Out | null; err: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [driver, JSON.stringify({ experiment: 'setup-check', preset: 'smoke', workers: 1, overrides: SETS, ...o })], {
      env: { ...process.env, REPRO_RESULTS: results, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    c.on('exit', (status) => resolve({ status, out: status === 0 ? (JSON.parse(out) as Out) : null, err }));
  });
}

const jsonl = (results: string) => readRuns(path.join(results, 'setup-check', 'smoke', 'runs.jsonl'));
let reference: Out;

describe('concurrent runners', () => {
  test('reference: one runner trains the 4 runs', { timeout: 180_000 }, async () => {
    const r = await runner(path.join(tmp, 'ref'), {});
    assert.equal(r.status, 0, r.err);
    reference = r.out!;
    assert.equal(reference.executed, 4);
    assert.equal(jsonl(path.join(tmp, 'ref')).records.length, 4);
  });

  for (const [n, workers] of [
    [2, 2],
    [4, 1],
  ] as const) {
    test(`${n} runners at once (${workers} worker${workers > 1 ? 's' : ''} each): each run trained once, recorded once, same records`, { timeout: 240_000 }, async () => {
      const results = path.join(tmp, `n${n}`);
      const outs = await Promise.all(Array.from({ length: n }, () => runner(results, { workers })));
      for (const o of outs) assert.equal(o.status, 0, o.err);
      const executed = outs.map((o) => o.out!.executed);
      assert.equal(executed.reduce((a, b) => a + b, 0), 4, `runs trained per runner: ${executed}`);
      const { records, warnings } = jsonl(results);
      assert.deepEqual(warnings, []);
      assert.equal(records.length, 4, 'runs.jsonl holds each run once');
      assert.deepEqual(new Set(records.map((r) => r.runId)), new Set(reference.records.map((r) => r.runId)));
      for (const o of outs) assert.deepEqual(o.out!.records, reference.records, 'every runner returns all records, equal to a single runner\'s');
      assert.deepEqual(fs.readdirSync(path.join(results, 'setup-check', 'smoke', 'claims')), [], 'no claim left behind');
    });
  }

  test('a run claimed by another host is waited for, then taken over when its claim goes stale; a dead local claim at once', { timeout: 180_000 }, async () => {
    const results = path.join(tmp, 'stale');
    const claims = path.join(results, 'setup-check', 'smoke', 'claims');
    fs.mkdirSync(claims, { recursive: true });
    const [a, b] = reference.records;
    fs.writeFileSync(path.join(claims, `${a.runId}.json`), JSON.stringify({ runId: a.runId, host: 'node-elsewhere', pid: 1, startedAt: new Date().toISOString(), token: 'x' }));
    fs.writeFileSync(path.join(claims, `${b.runId}.json`), JSON.stringify({ runId: b.runId, host: os.hostname(), pid: 2 ** 22 + 4321, startedAt: new Date().toISOString(), token: 'y' }));
    const t0 = Date.now();
    const r = await runner(results, { runIds: [a.runId, b.runId], claims: { staleMs: 6000, pollMs: 200 } });
    assert.equal(r.status, 0, r.err);
    assert.ok(Date.now() - t0 >= 6000, 'it waited for the live claim to go stale');
    assert.match(r.err, new RegExp(`taking over run ${b.runId} from ${os.hostname()} pid \\d+: its process \\d+ on this host is gone`));
    assert.match(r.err, new RegExp(`taking over run ${a.runId} from node-elsewhere pid 1: no heartbeat`));
    assert.equal(r.out!.executed, 2);
    assert.deepEqual(r.out!.records, [a, b]);
  });

  test('runIds: an id the config does not have is a ConfigError listing its runs, before any work', { timeout: 60_000 }, async () => {
    const results = path.join(tmp, 'badid');
    const r = await runner(results, { runIds: ['deadbeef0000'] });
    assert.equal(r.status, 1);
    assert.match(r.err, /run id 'deadbeef0000' is not a run of setup-check\/smoke with this config; its runs are: [0-9a-f]+ \(mlp 64, seed 0\)/);
    assert.equal(fs.existsSync(path.join(results, 'setup-check')), false, 'nothing written');
  });

  test('the committed setup-check cpu records are reused unchanged (no training, no new files)', { timeout: 60_000 }, async () => {
    const results = path.join(tmp, 'committed');
    const dir = path.join(results, 'setup-check', 'cpu');
    fs.mkdirSync(dir, { recursive: true });
    const src = path.join(REPO_ROOT, 'results', 'setup-check', 'cpu', 'runs.jsonl');
    fs.copyFileSync(src, path.join(dir, 'runs.jsonl'));
    const r = await runner(results, { preset: 'cpu', overrides: {} });
    assert.equal(r.status, 0, r.err);
    assert.equal(r.out!.executed, 0);
    assert.equal(r.out!.reused, 2);
    assert.ok(fs.readFileSync(path.join(dir, 'runs.jsonl')).equals(fs.readFileSync(src)));
    assert.deepEqual(fs.readdirSync(dir), ['runs.jsonl']);
  });
});
