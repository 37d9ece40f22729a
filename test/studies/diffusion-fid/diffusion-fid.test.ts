import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { experiment, cyclingLabels, encodeGrid, decodeGrid } from '../../../lib/studies/diffusion-fid';
import { resolveConfig } from '../../../lib/runner/run';
import { ditParamCount, DIT_PAPER_CONFIGS } from '../../../lib/models/dit';

describe('diffusion-fid experiment spec', () => {
  test('cpu preset: 6 rows × 3 seeds, same steps and schedule for every row', () => {
    const c = resolveConfig(experiment, 'cpu');
    const specs = experiment.runs(c);
    assert.equal(specs.length, 18);
    assert.deepEqual([...new Set(specs.map((s) => s.row))], [
      'standard',
      'long skips (α_min=1)',
      'decayed α_min=0.8 + skips',
      'decayed α_min=0.6 + skips',
      'ANCRe τ=0.01',
      'ANCRe τ=0.1',
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

describe('diffusion-fid verdict', () => {
  const rec = (row: string, seed: number, fid: number, knn: number) => ({
    experiment: 'diffusion-fid', preset: 'cpu', runId: `${row}${seed}`, row, seed, config: {},
    metrics: { fid, fidFloor: 2, knn, lp: knn, params: 484165 },
    history: { fidStep: [200, 400], fid: [2 * fid, 1.1 * fid] },
    wallTimeSec: 1, engine: {}, commit: 'x', host: 'h', finishedAt: '',
  });
  test('rows found by wiring, not order; held / within noise / did not hold; curve trend and chance level', async () => {
    const { diffusionVerdict, judge } = await import('../../../lib/studies/diffusion-fid/verdict');
    const c = resolveConfig(experiment, 'cpu');
    const shuffled = { ...c, rows: [...c.rows].reverse() };
    const records = [0, 1, 2].flatMap((s) => [
      rec('standard', s, 80 + s, 0.6),
      rec('long skips (α_min=1)', s, 81 + s, 0.6),
      rec('decayed α_min=0.8 + skips', s, 70 + s, 0.7),
      rec('decayed α_min=0.6 + skips', s, 79.5 + s, 0.5),
      rec('ANCRe τ=0.01', s, 90 + s, 0.6),
      rec('ANCRe τ=0.1', s, 79 - s / 10, 0.61),
    ]);
    const v = diffusionVerdict(records as never, shuffled);
    assert.match(v, /- Paper B \(DiT-S\/2 −4\.9%, DiT-B\/2 −6\.0%\): ANCRe τ=0\.01 vs standard, fid/);
    // paired by seed: −1.0, −2.1, −3.2 → −2.1 ± 4.303·1.1/√3 = [−4.83, +0.63]: every seed lower, but 3 seeds do not detect it
    assert.match(v, /- Paper B at τ = 0\.1 \(the latest official DiT scripts\): ANCRe τ=0\.1 vs standard, fid: 78\.90 ± 0\.10 vs 81\.00 ± 1\.00 \(-2\.6%; paired Δ −2\.10 \[−4\.83, \+0\.63\]\) → \*\*no detectable difference \(3 seeds detect [\d.]+\)\*\*/);
    assert.match(v, /decayed α_min=0\.8 \+ skips vs standard, fid: 71\.00 ± 1\.00 vs 81\.00 ± 1\.00 \(-12\.3%; paired Δ −10\.00 \[−10\.00, −10\.00\]\) → \*\*held\*\*/);
    // −0.5 at every seed: a point interval below 0 (held); ANCRe τ=0.01 +10 at every seed (reversed)
    assert.match(v, /decayed α_min=0\.6 \+ skips vs standard, fid: [^→]*→ \*\*held\*\*/);
    assert.match(v, /ANCRe τ=0\.01 vs standard, fid: [^→]*→ \*\*reversed\*\*/);
    assert.match(v, /decayed α_min=0\.6 \+ skips vs standard, knn: [^→]*→ \*\*reversed\*\*/);
    assert.match(v, /by chance in 5 % of comparisons/);
    // Curve: 162 → 89.1 over the last 200 steps: still falling.
    assert.match(v, /went from 162\.0 at step 200 to 89\.1 at step 400, still falling \(−45\.0% over the last 200 steps\)/);
    assert.match(judge(records.filter((r) => r.seed === 0) as never, 'standard', 'ANCRe τ=0.01', 'fid', 'lower'), /one seed: not better, not judged/);
    assert.match(diffusionVerdict(records as never, { ...c, rows: c.rows.filter((r) => r.name !== 'standard') }), /no standard row/);
  });
});
