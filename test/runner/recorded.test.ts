/**
 * recordedRuns / studyRuns (lib/runner/recorded.ts): a notebook on cpu tables finished runs only and
 * lists the missing ones; on smoke, or with REPRO_RUN_MISSING=1, the missing runs are trained first.
 * Runs linear-theory's smoke preset (seconds) into the test's temporary results folder.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { experiment } from '../../lib/studies/linear-theory';
import { recordedRuns, studyRuns, runsMissing, missingLine, setArgs, trainCommand } from '../../lib/runner/recorded';
import { parseSet } from '../../lib/runner/cli';
import { execFileSync } from 'node:child_process';
import { ConfigError } from '../../lib/errors';

const overrides = { layouts: ['3L cascaded', '3L 0:2'], dims: [4], seeds: [0], steps: 50 };

describe('recorded runs for notebooks', () => {
  test('runsMissing: smoke always, cpu and paper only with REPRO_RUN_MISSING=1, other values rejected', () => {
    assert.equal(runsMissing('smoke', {}), true);
    assert.equal(runsMissing('cpu', {}), false);
    assert.equal(runsMissing('cpu', { REPRO_RUN_MISSING: '0' }), false);
    assert.equal(runsMissing('paper', { REPRO_RUN_MISSING: '1' }), true);
    assert.throws(() => runsMissing('cpu', { REPRO_RUN_MISSING: 'yes' }), (e: unknown) => e instanceof ConfigError && /REPRO_RUN_MISSING must be 1 .* got 'yes'/.test(e.message));
  });

  test('before any run every planned run is missing; studyRuns on smoke trains them; the records then match', async () => {
    const before = recordedRuns(experiment, 'smoke', overrides);
    assert.equal(before.total, 2);
    // nothing finished in this results folder yet unless an earlier test ran the same config
    const line0 = missingLine(before);
    if (before.records.length === 0) {
      assert.deepEqual(before.missing.map((m) => m.row), ['3L cascaded d=4', '3L 0:2 d=4']);
      assert.match(line0, /0 of 2 runs finished; missing 2 \(3L cascaded d=4; 3L 0:2 d=4\).*REPRO_RUN_MISSING=1/);
    }
    const after = await studyRuns(experiment, 'smoke', overrides);
    assert.equal(after.missing.length, 0);
    assert.equal(after.records.length, 2);
    assert.deepEqual(after.records.map((r) => r.row), ['3L cascaded d=4', '3L 0:2 d=4']);
    assert.match(missingLine(after), /all 2 runs finished/);
    // a config with one more layout: the finished two are found, the new one listed as missing
    const more = recordedRuns(experiment, 'smoke', { ...overrides, layouts: [...overrides.layouts, '3L 0:1'] });
    assert.equal(more.records.length, 2);
    assert.deepEqual(more.missing, [{ row: '3L 0:1 d=4', seed: 0 }]);
  });

  test('on cpu without REPRO_RUN_MISSING nothing trains: missing runs are listed, no records invented', async () => {
    const saved = process.env.REPRO_RUN_MISSING;
    delete process.env.REPRO_RUN_MISSING;
    try {
      const t0 = Date.now();
      const r = await studyRuns(experiment, 'cpu', { ...overrides, steps: 77 }); // a config no run has used
      assert.equal(r.records.length, 0);
      assert.equal(r.missing.length, 2);
      assert.ok(Date.now() - t0 < 5000, 'studyRuns on cpu must not train');
    } finally {
      if (saved !== undefined) process.env.REPRO_RUN_MISSING = saved;
    }
  });

  test("the missing-runs line gives the cell's own overrides as --set arguments; the shell hands them back to parseSet unchanged", () => {
    const r = recordedRuns(experiment, 'cpu', { ...overrides, steps: 77 });
    const line = missingLine(r);
    assert.match(line, /node build\/scripts\/run-experiment\.js linear-theory --preset cpu --set 'layouts=\["3L cascaded","3L 0:2"\]' --set 'dims=\[4\]' --set 'seeds=\[0\]' --set steps=77$/);
    // nested keys, arrays of objects and a quote inside a string survive the shell
    const tricky = { train: { lr: 0.003, steps: 10 }, wirings: [{ kind: 'ancre', tau: 0.1, label: "it's" }], name: 'a b' };
    const args = setArgs(tricky);
    const split = execFileSync('bash', ['-c', `printf '%s\\0' ${args.join(' ')}`]).toString().split('\0').filter(Boolean);
    const back: Record<string, unknown> = {};
    for (let i = 0; i < split.length; i += 2) {
      assert.equal(split[i], '--set');
      parseSet(split[i + 1], back);
    }
    assert.deepEqual(back, tricky);
    assert.equal(trainCommand({ ...r, overrides: undefined }), 'node build/scripts/run-experiment.js linear-theory --preset cpu');
  });
});
