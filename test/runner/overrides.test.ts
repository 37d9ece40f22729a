/** addRows (lib/runner/overrides.ts): a config cell adds rows to a study's list and keeps the preset's. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addRows, overridesFor } from '../../lib/runner/overrides';
import { resolveConfig } from '../../lib/runner/run';
import { runIdOf } from '../../lib/runner/execute';
import { experiment as maeSweep } from '../../lib/studies/mae-sweep';
import { experiment as ancreLm } from '../../lib/studies/ancre-lm';
import { runTimeLine } from '../../lib/report';

test('addRows appends to the preset rows: the old rows keep their run ids, the new one adds runs', () => {
  const base = resolveConfig(maeSweep, 'smoke');
  const extra = { name: 'α_min=0.65', wiring: { kind: 'decayed' as const, alphaMin: 0.65 }, skips: true };
  const o = addRows(maeSweep, 'smoke', 'rows', [extra], overridesFor(maeSweep, { seeds: [0] }));
  const c = resolveConfig(maeSweep, 'smoke', o);
  assert.deepEqual(c.rows.map((r) => r.name), [...base.rows.map((r) => r.name), 'α_min=0.65']);
  const ids = (cfg: typeof c) => maeSweep.runs(cfg).map((s) => runIdOf('mae-sweep', s));
  const before = ids(resolveConfig(maeSweep, 'smoke', { seeds: [0] }));
  const after = ids(c);
  assert.deepEqual(after.slice(0, before.length), before);
  assert.equal(after.length, before.length + 1);
});

test('addRows with nothing to add returns the overrides unchanged (the preset plans the same runs)', () => {
  const o = overridesFor(ancreLm, {});
  assert.equal(addRows(ancreLm, 'cpu', 'wirings', [], o), o);
});

test('addRows: an unknown preset, a non-list or an invalid added row is a ConfigError naming it', () => {
  assert.throws(() => addRows(maeSweep, 'fast' as never, 'rows', []), /unknown preset 'fast'/);
  assert.throws(() => addRows(maeSweep, 'smoke', 'rows', { name: 'x' } as never), /rows to add to 'rows' must be a list/);
  const bad = addRows(maeSweep, 'smoke', 'rows', [{ name: 'bad', wiring: { kind: 'decayed', alphaMin: 1.3 }, skips: true }]);
  assert.throws(() => resolveConfig(maeSweep, 'smoke', bad), /alphaMin must be in \(0, 1\]; got 1\.3/);
});

test('runTimeLine: baselines without ms per step never give NaN', () => {
  const rec = (m: { [k: string]: number | null }, wall: number) => ({ metrics: m, wallTimeSec: wall }) as never;
  const line = runTimeLine([rec({ trainSeconds: 60, evalSeconds: 30, msPerStep: 100 }, 120), rec({ evalSeconds: 6 }, 6)]);
  assert.equal(line, '2 runs: 2.1 min wall in total (training 1.0 min, evaluation 0.6 min); 100 ms per training step on average over the 1 trained run');
  assert.doesNotMatch(runTimeLine([rec({ evalSeconds: 6 }, 6)]), /NaN/);
});

test('an invalid added row names the row it is in (rows[i] and its name)', () => {
  const bad = addRows(maeSweep, 'smoke', 'rows', [{ name: 'α_min=1.3', wiring: { kind: 'decayed', alphaMin: 1.3 }, skips: true }]);
  const i = resolveConfig(maeSweep, 'smoke').rows.length;
  assert.throws(() => resolveConfig(maeSweep, 'smoke', bad), new RegExp(`^ConfigError: rows\\[${i}\\] 'α_min=1\\.3'\\.wiring: alphaMin must be in \\(0, 1\\]; got 1\\.3$`));
  assert.throws(() => resolveConfig(ancreLm, 'smoke', { wirings: [{ label: 'x', wiring: { kind: 'ancre', tau: -1 } }] }), /^ConfigError: wirings\[0\] 'x'\.wiring: /);
});

test('issue 30, 3: a tweak exports its tables and figures under tweaks/<config hash>, never over the reference ones', async () => {
  const fs = await import('fs');
  const os = await import('os');
  const path = await import('path');
  const { runExperiment } = await import('../../lib/runner/run');
  const { recordedRuns } = await import('../../lib/runner/recorded');
  const { writeTable, summarise } = await import('../../lib/report');
  const { experiment: setupCheck } = await import('../../lib/studies/setup-check');
  const { isTweak } = await import('../../lib/runner/overrides');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-tweak-'));
  const old = process.env.REPRO_RESULTS;
  process.env.REPRO_RESULTS = dir;
  try {
    const ref = await runExperiment(setupCheck, { preset: 'smoke', workers: 1, verbose: false, overrides: overridesFor(setupCheck, {}) });
    assert.equal(ref.exportDir, ref.dir, 'the reference config exports where it always did');
    // every finished run also gets its TensorBoard event file (lib/runner/store/tensorboard.ts)
    const tb = path.join(ref.dir, 'tensorboard');
    assert.equal(fs.readdirSync(tb).length, ref.records.length);
    const table = (rs: typeof ref) => summarise(rs.records, { metrics: ['testAccuracy'] });
    const refFile = writeTable(table(ref), ref.exportDir, 'table').md;
    const before = fs.readFileSync(refFile);
    const tweak = overridesFor(setupCheck, { train: { steps: 20, logEvery: 10, checkpointEvery: 10 } });
    assert.ok(isTweak(tweak) && isTweak({ ...tweak, seeds: [0] }), 'a spread keeps the mark');
    const t = await runExperiment(setupCheck, { preset: 'smoke', workers: 1, verbose: false, overrides: tweak });
    assert.match(t.exportDir, new RegExp(`^${ref.dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/tweaks/[0-9a-f]{12}$`));
    writeTable(table(t), t.exportDir, 'table');
    assert.deepEqual(fs.readFileSync(refFile), before, 'the reference table is unchanged');
    assert.equal(recordedRuns(setupCheck, 'smoke', tweak).exportDir, t.exportDir);
    // rows added by addRows are a tweak too; reference overrides written in code are not
    assert.ok(isTweak(addRows(maeSweep, 'smoke', 'rows', [{ name: 'α_min=0.65', wiring: { kind: 'decayed', alphaMin: 0.65 }, skips: true }])));
    assert.ok(!isTweak({ seeds: [0] }));
  } finally {
    if (old === undefined) delete process.env.REPRO_RESULTS;
    else process.env.REPRO_RESULTS = old;
  }
});
