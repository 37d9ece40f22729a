import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { appendRun, readRuns, runsFile, ResultsWriteError, checkRunRecord } from '../../../lib/runner/store/runs';
import { EnvironmentError } from '../../../lib/errors';
import { makeRecord, tmpDir, permissionsIgnored } from '../../report/helpers';

const RUNS_JS = path.resolve(__dirname, '../../../lib/runner/store/runs.js');

/** Silences appendRun's stderr warning inside `fn`, returning what it wrote. */
function captureStderr(fn: () => void): string {
  const orig = process.stderr.write.bind(process.stderr);
  let out = '';
  (process.stderr as any).write = (s: string | Uint8Array) => {
    out += String(s);
    return true;
  };
  try {
    fn();
  } finally {
    (process.stderr as any).write = orig;
  }
  return out;
}

describe('runs.jsonl', () => {
  test('runsFile is <results>/<experiment>/<preset>/runs.jsonl', () => {
    const old = process.env.REPRO_RESULTS;
    process.env.REPRO_RESULTS = '/tmp/some-results';
    try {
      assert.equal(runsFile('mae-sweep', 'cpu'), '/tmp/some-results/mae-sweep/cpu/runs.jsonl');
    } finally {
      if (old === undefined) delete process.env.REPRO_RESULTS;
      else process.env.REPRO_RESULTS = old;
    }
  });

  test('append then read round-trips records, line numbers count up, no lock left', () => {
    const dir = tmpDir('rt');
    const file = path.join(dir, 'a', 'b', 'runs.jsonl');
    const recs = [makeRecord(), makeRecord({ seed: 1, metrics: { knn: NaN, lp: 0.7 } })];
    assert.equal(appendRun(file, recs[0]), 1);
    assert.equal(appendRun(file, recs[1]), 2);
    const { records, warnings } = readRuns(file);
    assert.deepEqual(warnings, []);
    assert.equal(records.length, 2);
    assert.deepEqual(records[0], recs[0]);
    assert.equal(records[1].metrics.knn, null); // NaN is stored as JSON null
    assert.equal(fs.existsSync(file + '.lock'), false);
    fs.rmSync(dir, { recursive: true });
  });

  test('a missing file is no runs, not an error', () => {
    assert.deepEqual(readRuns('/nonexistent/dir/runs.jsonl'), { records: [], warnings: [] });
  });

  test('appendRun rejects a record of the wrong shape before touching the file', () => {
    const dir = tmpDir('shape');
    const file = path.join(dir, 'runs.jsonl');
    assert.throws(() => appendRun(file, makeRecord({ seed: 1.5 })), /field 'seed' must be an integer; got 1.5/);
    assert.equal(fs.existsSync(file), false);
    fs.rmSync(dir, { recursive: true });
  });

  test('two processes x 200 appends of long lines: every line intact, none lost', async () => {
    const dir = tmpDir('conc');
    const file = path.join(dir, 'runs.jsonl');
    const worker = (id: number) => `
      const { appendRun } = require(${JSON.stringify(RUNS_JS)});
      const fs = require('fs');
      const pad = 'x'.repeat(20000 + ${id} * 3001); // far above PIPE_BUF (4096)
      // Short writes (1000 bytes per call), as on network file systems: without the lock, lines
      // of the two workers would interleave.
      const io = { writeSync: (fd, b, o, l, p) => fs.writeSync(fd, b, o, Math.min(l, 1000), p) };
      for (let i = 0; i < 200; i++) {
        appendRun(${JSON.stringify(file)}, {
          experiment: 'conc', preset: 'smoke', runId: 'w${id}-' + i, row: 'w${id}', seed: i,
          config: { pad }, metrics: { i }, wallTimeSec: 0, engine: null, commit: null,
          host: 'h', finishedAt: new Date().toISOString() }, { io });
      }`;
    const run = (id: number) =>
      new Promise<void>((resolve, reject) => {
        const p = spawn(process.execPath, ['-e', worker(id)], { stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        p.stderr.on('data', (d) => (err += d));
        p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker ${id} exited ${code}: ${err}`))));
      });
    await Promise.all([run(0), run(1)]);
    const text = fs.readFileSync(file, 'utf8');
    const lines = text.split('\n');
    assert.equal(lines.pop(), '');
    assert.equal(lines.length, 400);
    for (const l of lines) JSON.parse(l); // every line whole
    const { records, warnings } = readRuns(file);
    assert.deepEqual(warnings, []);
    for (const id of [0, 1]) {
      const mine = records.filter((r) => r.row === `w${id}`).map((r) => r.seed);
      assert.deepEqual(mine, Array.from({ length: 200 }, (_, i) => i)); // each worker's order kept
    }
    assert.equal(fs.existsSync(file + '.lock'), false);
    fs.rmSync(dir, { recursive: true });
  });

  test('a stale lock left by a dead process is broken; a live fresh one is waited for', () => {
    const dir = tmpDir('lock');
    const file = path.join(dir, 'runs.jsonl');
    // pid 2^22+1 is above Linux's pid_max default: certainly not running.
    fs.writeFileSync(file + '.lock', `4194305 ${Date.now()} dead\n`);
    appendRun(file, makeRecord());
    assert.equal(readRuns(file).records.length, 1);
    // A lock held by a live process (this one) times out with a message saying what to do.
    fs.writeFileSync(file + '.lock', `${process.pid} ${Date.now()} live\n`);
    assert.throws(
      () => appendRun(file, makeRecord(), { lockTimeoutMs: 100 }),
      (e: unknown) =>
        e instanceof ResultsWriteError && /held by another process.*delete that file/.test((e as Error).message),
    );
    // ... unless it is older than staleLockMs (pids get reused).
    const old = new Date(Date.now() - 10_000);
    fs.utimesSync(file + '.lock', old, old);
    appendRun(file, makeRecord({ seed: 2 }), { staleLockMs: 5_000 });
    assert.deepEqual(readRuns(file).records.map((r) => r.seed), [0, 2]);
    fs.rmSync(dir, { recursive: true });
  });

  test('a crash-truncated last line: one warning naming file and line, skipped; next append starts a new line', () => {
    const dir = tmpDir('trunc');
    const file = path.join(dir, 'runs.jsonl');
    appendRun(file, makeRecord({ seed: 0 }));
    appendRun(file, makeRecord({ seed: 1 }));
    const full = JSON.stringify(makeRecord({ seed: 2 }));
    fs.appendFileSync(file, full.slice(0, 57)); // what a SIGKILL mid-write leaves
    const before = fs.readFileSync(file);

    let r = readRuns(file);
    assert.deepEqual(r.records.map((x) => x.seed), [0, 1]);
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0], new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: last line is incomplete`));

    const err = captureStderr(() => assert.equal(appendRun(file, makeRecord({ seed: 3 })), 4));
    assert.match(err, /runs\.jsonl:3: last line is incomplete.*appending on a new line/);
    const after = fs.readFileSync(file);
    assert.deepEqual(after.subarray(0, before.length), before); // nothing rewritten
    r = readRuns(file);
    assert.deepEqual(r.records.map((x) => x.seed), [0, 1, 3]);
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0], /:3: not valid JSON/);
    // Once repaired, further appends do not warn again.
    assert.equal(captureStderr(() => appendRun(file, makeRecord({ seed: 4 }))), '');
    fs.rmSync(dir, { recursive: true });
  });

  test('bad lines are skipped with warnings naming the line; good ones kept', () => {
    const dir = tmpDir('bad');
    const file = path.join(dir, 'runs.jsonl');
    const good = JSON.stringify(makeRecord());
    const lines = [
      good,
      '{not json',
      '',
      JSON.stringify({ ...makeRecord(), metrics: { knn: [1] } }),
      JSON.stringify({ ...makeRecord(), seed: '3' }),
      '[1,2,3]',
      JSON.stringify({ ...makeRecord(), finishedAt: 'yesterday' }),
      JSON.stringify({ ...makeRecord(), config: JSON.parse('['.repeat(100) + ']'.repeat(100)) }),
      good + '\r',
    ];
    fs.writeFileSync(file, lines.join('\n') + '\n');
    const { records, warnings } = readRuns(file);
    assert.equal(records.length, 2);
    assert.deepEqual(
      warnings.map((w) => w.slice(file.length)),
      [
        `:2: not valid JSON (Expected property name or '}' in JSON at position 1); skipped`,
        `:4: not a run record: metric 'knn' must be a number, string, boolean or null; got array; skipped`,
        `:5: not a run record: field 'seed' must be an integer; got string; skipped`,
        `:6: not a run record: expected a JSON object, got array; skipped`,
        `:7: not a run record: field 'finishedAt' must be an ISO date; got 'yesterday'; skipped`,
        `:8: not a run record: field 'config' is nested deeper than 64 levels; skipped`,
      ],
    );
    fs.rmSync(dir, { recursive: true });
  });

  test('warnings are capped at 20 lines plus a count', () => {
    const dir = tmpDir('many');
    const file = path.join(dir, 'runs.jsonl');
    fs.writeFileSync(file, 'x\n'.repeat(50));
    const { warnings } = readRuns(file);
    assert.equal(warnings.length, 21);
    assert.match(warnings[20], /30 more bad lines not listed/);
    fs.rmSync(dir, { recursive: true });
  });

  test('checkRunRecord accepts the fixture and names the first problem', () => {
    assert.equal(checkRunRecord(makeRecord()), null);
    assert.equal(checkRunRecord({ ...makeRecord(), host: 3 }), `field 'host' must be a string; got number`);
    assert.equal(checkRunRecord({ ...makeRecord(), commit: 1 }), `field 'commit' must be a string or null; got number`);
    assert.equal(checkRunRecord({ ...makeRecord(), history: { a: ['x'] } }), `history 'a' must be an array of numbers`);
  });
});

describe('unwritable results', () => {
  test('read-only folder (EACCES) or a path under a file (ENOTDIR): clear error, nothing lost', (t) => {
    const dir = tmpDir('ro');
    const ro = path.join(dir, 'ro');
    fs.mkdirSync(ro);
    const file = path.join(ro, 'runs.jsonl');
    appendRun(file, makeRecord());
    const before = fs.readFileSync(file);
    if (!permissionsIgnored(dir)) {
      fs.chmodSync(ro, 0o555);
      try {
        // The lock file cannot be created in a read-only folder.
        assert.throws(
          () => appendRun(file, makeRecord({ seed: 1 })),
          (e: unknown) =>
            e instanceof ResultsWriteError &&
            e.code === 'EACCES' &&
            (e as Error).message.includes(file + '.lock') &&
            /set REPRO_RESULTS to a writable folder/.test((e as Error).message),
        );
      } finally {
        fs.chmodSync(ro, 0o755);
      }
    } else {
      t.diagnostic('EACCES not testable here: running as root, permission bits are ignored; tested ENOTDIR instead');
    }
    // Runs as root too: a results folder whose parent is a regular file.
    const blocker = path.join(dir, 'results-is-a-file');
    fs.writeFileSync(blocker, 'not a folder');
    const under = path.join(blocker, 'mae-sweep', 'cpu', 'runs.jsonl');
    assert.throws(
      () => appendRun(under, makeRecord()),
      (e: unknown) =>
        e instanceof ResultsWriteError &&
        e instanceof EnvironmentError &&
        e.code === 'ENOTDIR' &&
        (e as Error).message.startsWith(`cannot create the results folder ${path.dirname(under)}: ENOTDIR;`) &&
        /a part of the path is a file/.test((e as Error).message),
    );
    assert.deepEqual(fs.readFileSync(file), before);
    assert.equal(fs.readFileSync(blocker, 'utf8'), 'not a folder');
    fs.rmSync(dir, { recursive: true });
  });

  test('full disk (ENOSPC injected mid-write): clear error, partial bytes taken back, earlier runs intact', () => {
    const dir = tmpDir('nospc');
    const file = path.join(dir, 'runs.jsonl');
    appendRun(file, makeRecord({ seed: 0 }));
    appendRun(file, makeRecord({ seed: 1 }));
    const before = fs.readFileSync(file);
    let calls = 0;
    const writeSync = (fd: number, b: Buffer, o: number, l: number, p: number | null): number => {
      calls++;
      if (calls === 1) return fs.writeSync(fd, b, o, Math.min(l, 40), p); // a short write lands
      const e = new Error('ENOSPC: no space left on device, write') as NodeJS.ErrnoException;
      e.code = 'ENOSPC';
      throw e;
    };
    assert.throws(
      () => appendRun(file, makeRecord({ seed: 2 }), { io: { writeSync } }),
      (e: unknown) =>
        e instanceof ResultsWriteError &&
        e.code === 'ENOSPC' &&
        e.path === file &&
        /^cannot append a run to .*runs\.jsonl: ENOSPC; the disk is full: free some space/.test((e as Error).message),
    );
    assert.equal(calls, 2);
    assert.deepEqual(fs.readFileSync(file), before);
    assert.equal(fs.existsSync(file + '.lock'), false);
    // fsync failing (EIO on a dying disk) is reported the same way.
    const fsyncSync = () => {
      const e = new Error('EROFS') as NodeJS.ErrnoException;
      e.code = 'EROFS';
      throw e;
    };
    assert.throws(() => appendRun(file, makeRecord({ seed: 3 }), { io: { fsyncSync } }), /EROFS; the file system is read-only/);
    assert.deepEqual(fs.readFileSync(file), before);
    // And the disk having space again, appending works.
    appendRun(file, makeRecord({ seed: 4 }));
    assert.deepEqual(readRuns(file).records.map((r) => r.seed), [0, 1, 4]);
    fs.rmSync(dir, { recursive: true });
  });
});
