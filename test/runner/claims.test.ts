/**
 * Run claims (lib/runner/claims.ts): one owner at a time, live and stale claims told apart by
 * heartbeat age and (on this host) by pid, takeover of stale ones, release, a lost claim noticed;
 * many processes racing for one run id: exactly one wins.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { claimFile, listClaims, readClaim, releaseAllClaims, staleMsOf, tryClaim } from '../../lib/runner/claims';

const CLAIMS_JS = path.resolve(__dirname, '../../lib/runner/claims.js');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'repro-claims-'));

/** Silences the takeover note on stderr inside `fn`, returning what it wrote. */
function captureStderr<T>(fn: () => T): { value: T; err: string } {
  const orig = process.stderr.write.bind(process.stderr);
  let err = '';
  (process.stderr as any).write = (s: string | Uint8Array) => {
    err += String(s);
    return true;
  };
  try {
    return { value: fn(), err };
  } finally {
    (process.stderr as any).write = orig;
  }
}

describe('run claims', () => {
  test('a claim excludes a second one until released; the file names host, pid and start', () => {
    const dir = tmp();
    const c = tryClaim(dir, 'r1')!;
    assert.ok(c);
    const info = JSON.parse(fs.readFileSync(claimFile(dir, 'r1'), 'utf8'));
    assert.equal(info.host, os.hostname());
    assert.equal(info.pid, process.pid);
    assert.ok(Date.parse(info.startedAt) > 0);
    assert.equal(tryClaim(dir, 'r1'), null, 'held (live: our own pid, fresh heartbeat)');
    assert.equal(readClaim(dir, 'r1')!.live, true);
    c.release();
    assert.equal(fs.existsSync(claimFile(dir, 'r1')), false);
    const again = tryClaim(dir, 'r1')!;
    assert.ok(again);
    again.release();
    assert.deepEqual(fs.readdirSync(path.join(dir, 'claims')), [], 'no temporary files left');
    fs.rmSync(dir, { recursive: true });
  });

  test('a claim of a dead process on this host is stale at once and taken over with a note', () => {
    const dir = tmp();
    fs.mkdirSync(path.join(dir, 'claims'));
    const dead = { runId: 'r2', host: os.hostname(), pid: 2 ** 22 + 12345, startedAt: new Date().toISOString(), token: 'old' };
    fs.writeFileSync(claimFile(dir, 'r2'), JSON.stringify(dead));
    const v = readClaim(dir, 'r2')!;
    assert.equal(v.live, false);
    assert.match(v.why, /process \d+ on this host is gone/);
    const { value: c, err } = captureStderr(() => tryClaim(dir, 'r2'));
    assert.ok(c, 'taken over');
    assert.match(err, new RegExp(`taking over run r2 from ${os.hostname()} pid ${dead.pid}: its process .* is gone`));
    assert.notEqual(JSON.parse(fs.readFileSync(claimFile(dir, 'r2'), 'utf8')).token, 'old');
    c!.release();
    fs.rmSync(dir, { recursive: true });
  });

  test('another host\'s claim is live while its heartbeat is fresh, stale after staleMs', () => {
    const dir = tmp();
    fs.mkdirSync(path.join(dir, 'claims'));
    const f = claimFile(dir, 'r3');
    fs.writeFileSync(f, JSON.stringify({ runId: 'r3', host: 'node-17', pid: 1, startedAt: new Date().toISOString(), token: 't', job: '5_3' }));
    assert.equal(readClaim(dir, 'r3', { staleMs: 60_000 })!.live, true);
    assert.equal(tryClaim(dir, 'r3', { staleMs: 60_000 }), null);
    const old = new Date(Date.now() - 90_000);
    fs.utimesSync(f, old, old);
    const v = readClaim(dir, 'r3', { staleMs: 60_000 })!;
    assert.equal(v.live, false);
    assert.match(v.why, /no heartbeat for 9\d s \(stale after 60 s\)/);
    const { value: c, err } = captureStderr(() => tryClaim(dir, 'r3', { staleMs: 60_000 }));
    assert.ok(c);
    assert.match(err, /from node-17 pid 1 \(job 5_3\): no heartbeat/);
    c!.release();
    fs.rmSync(dir, { recursive: true });
  });

  test('the heartbeat refreshes the mtime; a claim taken over is noticed as lost and not removed by its old owner', async () => {
    const dir = tmp();
    const c = tryClaim(dir, 'r4', { staleMs: 60_000, heartbeatMs: 20 })!;
    const f = claimFile(dir, 'r4');
    const old = new Date(Date.now() - 30_000);
    fs.utimesSync(f, old, old);
    await new Promise((r) => setTimeout(r, 120));
    assert.ok(Date.now() - fs.statSync(f).mtimeMs < 5000, 'heartbeat moved the mtime forward');
    fs.writeFileSync(f, JSON.stringify({ runId: 'r4', host: 'elsewhere', pid: 1, startedAt: '', token: 'theirs' }));
    const { value: beat, err } = captureStderr(() => c.heartbeat());
    assert.equal(beat, false);
    assert.match(err, /claim on run r4 was taken over by another runner/);
    c.release();
    assert.equal(JSON.parse(fs.readFileSync(f, 'utf8')).token, 'theirs', 'the new owner keeps its claim');
    assert.equal(listClaims(dir).get('r4')!.info!.host, 'elsewhere');
    releaseAllClaims();
    fs.rmSync(dir, { recursive: true });
  });

  test('stale time from REPRO_CLAIM_STALE_S, checked', () => {
    const old = process.env.REPRO_CLAIM_STALE_S;
    try {
      process.env.REPRO_CLAIM_STALE_S = '30.5';
      assert.equal(staleMsOf(), 30500);
      process.env.REPRO_CLAIM_STALE_S = 'soon';
      assert.throws(() => staleMsOf(), /REPRO_CLAIM_STALE_S/);
      // issue 31, 16: a stale time shorter than one step let two runners train the same run
      process.env.REPRO_CLAIM_STALE_S = '0.01';
      assert.throws(() => staleMsOf(), (e: Error) => e.name === 'ConfigError' && /REPRO_CLAIM_STALE_S must be a number of seconds ≥ 10 .*got '0\.01'/.test(e.message));
    } finally {
      if (old === undefined) delete process.env.REPRO_CLAIM_STALE_S;
      else process.env.REPRO_CLAIM_STALE_S = old;
    }
    assert.equal(staleMsOf({ staleMs: 5 }), 5);
  });

  test('8 processes racing for the same 10 run ids: every id won by exactly one', async () => {
    const dir = tmp();
    const code = `
      const { tryClaim } = require(${JSON.stringify(CLAIMS_JS)});
      const won = [];
      for (let i = 0; i < 10; i++) if (tryClaim(${JSON.stringify(dir)}, 'run' + i)) won.push(i);
      process.stdout.write(JSON.stringify(won));
      // Hold the claims until every process has tried (a barrier of marker files), then exit.
      require('fs').writeFileSync(${JSON.stringify(dir)} + '/tried-' + process.pid, '');
      const t = setInterval(() => {
        if (require('fs').readdirSync(${JSON.stringify(dir)}).filter((n) => n.startsWith('tried-')).length >= 8) process.exit(0);
      }, 20);`;
    const outs = await Promise.all(
      Array.from({ length: 8 }, () =>
        new Promise<number[]>((resolve, reject) => {
          const c = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
          let out = '';
          let err = '';
          c.stdout.on('data', (d) => (out += d));
          c.stderr.on('data', (d) => (err += d));
          c.on('exit', (s) => (s === 0 ? resolve(JSON.parse(out)) : reject(new Error(err))));
        }),
      ),
    );
    const all = outs.flat().sort((a, b) => a - b);
    assert.deepEqual(all, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'claims')), [], 'each process released its claims on exit');
    fs.rmSync(dir, { recursive: true });
  });
});
