import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { experiment, parseRow, curveMetrics, slope, type LinearTheoryConfig } from '../../../lib/studies/linear-theory';
import { mergeChecked } from '../../../lib/config';
import { ConfigError } from '../../../lib/errors';
import type { RunContext } from '../../../lib/runner/types';

const smoke = (): LinearTheoryConfig => mergeChecked(experiment.defaults, experiment.presets.smoke, 'smoke');

function ctx(): RunContext {
  return {
    preset: 'smoke',
    runId: 'test',
    checkpointDir: fs.mkdtempSync(path.join(os.tmpdir(), 'lt-')),
    progress: () => {},
    log: () => {},
  };
}

describe('linear-theory experiment', () => {
  test('every preset validates and expands into rows x dims x seeds', () => {
    for (const p of ['smoke', 'cpu', 'paper'] as const) {
      const c = mergeChecked(experiment.defaults, experiment.presets[p], p);
      experiment.validate(c);
      assert.equal(experiment.runs(c).length, c.layouts.length * c.dims.length * c.seeds.length);
    }
  });

  test('bad rows and values are rejected with the value', () => {
    assert.deepEqual(parseRow('4L ancre tau=0.01'), { depth: 4, layout: 'ancre', tau: 0.01 });
    assert.throws(() => parseRow('3 layers 0:2'), (e: unknown) => e instanceof ConfigError && /bad layout row '3 layers 0:2'/.test(e.message));
    assert.throws(() => parseRow('3L 0:4'), /0 <= i < j <= 3/);
    assert.throws(() => experiment.validate({ ...smoke(), tau: 0 }), /tau must be > 0; got 0/);
    assert.throws(() => experiment.validate({ ...smoke(), lr: 2 }), /lr must be/);
  });

  test('curve metrics: a linear curve gives its rate, a 1/t² curve a log-log slope of −2', () => {
    const lr = 0.01;
    const lin = Array.from({ length: 1001 }, (_, s) => Math.exp(-2 * lr * s));
    const m = curveMetrics(lin, lr, 0.3, 1e-30);
    assert.ok(Math.abs(m.rate - 2) < 1e-9);
    assert.equal(m.regime, 'linear');
    assert.equal(m.stepsTo1e3, Math.ceil(Math.log(1e3) / (2 * lr)));
    const pow = Array.from({ length: 100001 }, (_, s) => 1 / (1 + lr * s) ** 2);
    const p = curveMetrics(pow, lr, 0.3, 1e-30);
    assert.ok(Math.abs(p.loglogSlope + 2) < 0.01, String(p.loglogSlope));
    assert.equal(p.regime, 'sublinear');
    assert.ok(Math.abs(p.lossT2 - (1000 / 1001) ** 2) < 1e-9);
    assert.equal(slope([0, 1, 2], [1, 3, 5]), 2);
  });

  test('runOne at smoke size: losses fall, 0:2 converges linearly and faster than 0:1; ANCRe reports its routing', async () => {
    const c = smoke();
    const specs = experiment.runs(c);
    const results = new Map<string, Awaited<ReturnType<typeof experiment.runOne>>>();
    for (const s of specs) results.set(s.row, await experiment.runOne(s, ctx()));
    for (const [row, r] of results) {
      const loss = r.history!.loss;
      assert.ok(loss.length <= 300 && loss.length >= 2);
      assert.ok(loss[loss.length - 1] < loss[0], `${row}: ${loss[0]} -> ${loss[loss.length - 1]}`);
      assert.ok(Number.isFinite(r.metrics.rate as number));
    }
    const r02 = results.get('3L 0:2 d=4')!.metrics;
    const r01 = results.get('3L 0:1 d=4')!.metrics;
    assert.equal(r02.regime, 'linear');
    assert.ok((r02.stepsTo1e3 as number) < ((r01.stepsTo1e3 as number | null) ?? Infinity), 'paper B: 0:2 beats 0:1');
    const ancre = results.get('4L ancre τ=1 d=4')!;
    const p = ancre.extra!.routing as number[][];
    assert.equal(p.length, 4);
    p.forEach((row) => assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-9));
  });
});
