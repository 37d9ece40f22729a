/**
 * Issue 31: what an adversarial pass broke, one test per case (throwaway results folders, smoke sizes).
 * Each fails on the code before the fix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO_ROOT, resultsRoot, dataRoot } from '../../lib/paths';
import { ConfigError } from '../../lib/errors';

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
