/**
 * recordedRuns / studyRuns (lib/experiments/recorded.ts): a notebook on cpu tables finished runs only and
 * lists the missing ones; on smoke, or with REPRO_RUN_MISSING=1, the missing runs are trained first.
 * Runs linear-theory's smoke preset (seconds) into the test's temporary results folder.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { experiment } from '../../lib/experiments/linear-theory';
import { recordedRuns, studyRuns, runsMissing, missingLine } from '../../lib/experiments/recorded';
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
});
