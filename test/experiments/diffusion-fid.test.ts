import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { experiment, cyclingLabels, encodeGrid, decodeGrid } from '../../lib/experiments/diffusion-fid';
import { resolveConfig } from '../../lib/experiments/run';
import { ditParamCount, DIT_PAPER_CONFIGS } from '../../lib/models/dit';

describe('diffusion-fid experiment spec', () => {
  test('cpu preset: 5 rows × 2 seeds, same steps and schedule for every row, one core budget stated in the config', () => {
    const c = resolveConfig(experiment, 'cpu');
    const specs = experiment.runs(c);
    assert.equal(specs.length, 10);
    assert.deepEqual([...new Set(specs.map((s) => s.row))], [
      'standard',
      'long skips (α_min=1)',
      'decayed α_min=0.8 + skips',
      'decayed α_min=0.6 + skips',
      'ANCRe τ=0.01',
    ]);
    const trainJson = new Set(specs.map((s) => JSON.stringify(s.config.train)));
    assert.equal(trainJson.size, 1, 'every row trains with the same loop settings');
    assert.ok(c.seeds.length >= 2);
  });

  test('smoke and paper presets resolve; the paper preset is DiT-B/2 on 32×32×4 latents', () => {
    resolveConfig(experiment, 'smoke');
    const p = resolveConfig(experiment, 'paper');
    assert.equal(p.model.imageSize, 32);
    assert.equal(p.model.channels, 4);
    assert.ok(Math.abs(ditParamCount({ ...p.model, wiring: { kind: 'residual' }, longSkips: false, seed: 0 }) / 1e6 - 130) < 1.5);
    assert.equal(DIT_PAPER_CONFIGS['SiT-XL/2'].depth, 28);
  });

  test('the paper preset stops with a message naming what is out of scope', async () => {
    const p = resolveConfig(experiment, 'paper');
    const spec = experiment.runs(p)[0];
    const ctx = { preset: 'paper' as const, runId: 'x', checkpointDir: '/nonexistent', progress: () => {}, log: () => {} };
    await assert.rejects(() => experiment.runOne(spec, ctx), /latents need an autoencoder and ImageNet, out of scope/);
  });

  test('config errors name the field and value', () => {
    assert.throws(() => resolveConfig(experiment, 'smoke', { model: { depth: 3 } }), /depth must be even; got 3/);
    assert.throws(() => resolveConfig(experiment, 'smoke', { featureT: 1 }), /featureT/);
    assert.throws(() => resolveConfig(experiment, 'smoke', { rows: [{ name: 'a', wiring: { kind: 'residual' }, longSkips: false }, { name: 'a', wiring: { kind: 'residual' }, longSkips: false }] }), /'a' is used twice/);
    assert.throws(() => resolveConfig(experiment, 'smoke', { nope: 1 } as never), /nope/);
  });

  test('balanced labels and the sample-grid encoding', () => {
    assert.deepEqual(Array.from(cyclingLabels(7, 3)), [0, 1, 2, 0, 1, 2, 0]);
    const px = Float32Array.from([0, 1, 0.5, -0.2, 1.3]);
    const back = decodeGrid(encodeGrid(px));
    assert.deepEqual(Array.from(back, (v) => Math.round(v * 255)), [0, 255, 128, 0, 255]);
  });
});
