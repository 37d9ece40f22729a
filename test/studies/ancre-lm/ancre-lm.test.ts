import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { experiment, loadC4, stepsToReach, ANCRE_LM_WIRINGS, ANCRE_LM_OFFICIAL_WIRINGS, PROJECT_STUDY, OFFICIAL_V4096_STUDY, V4096_MORE_TOKENS_PILOT, modelConfig, recipeTrain } from '../../../lib/studies/ancre-lm';
import type { TrainConfig } from '../../../lib/train/loop';
import { resolveConfig, runExperiment } from '../../../lib/runner/run';
import { llamaParamCount, LLAMA_PRESETS } from '../../../lib/models/llama';
import { ConfigError, DataError } from '../../../lib/errors';
import { initTestEngine } from '../../residual/engine';

let tmp: string;
before(async () => {
  await initTestEngine();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ancre-lm-test-'));
  process.env.REPRO_RESULTS ??= path.join(tmp, 'results');
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('ancre-lm experiment', () => {
  test('smoke: runs end to end; perplexity finite and below the vocabulary; routing matrix recorded', async () => {
    const r = await runExperiment(experiment, { preset: 'smoke', workers: 1, verbose: false, overrides: { depths: [2], lrs: [2e-2] } });
    assert.equal(r.records.length, 2);
    for (const rec of r.records) {
      const m = rec.metrics;
      assert.ok(typeof m.valPerplexity === 'number' && m.valPerplexity > 1 && m.valPerplexity < 512, `${rec.row}: ${m.valPerplexity}`);
      assert.equal(rec.history!.evalStep.join(), '10,20');
      assert.equal(rec.history!.valPerplexity.length, 2);
      const p = rec.extra!.coefficients as number[][];
      if (m.wiring === 'ancre-in') {
        assert.equal(p.length, 2);
        assert.equal(p[0][0], 1); // c_0 is frozen: h_1 = Block_0(h_0) + h_0
        assert.ok(Math.abs(p[1][0] + p[1][1] - 1) < 1e-6, 'incoming weights sum to 1');
        assert.equal(m.wiringParams, 2);
      }
    }
    const [res, anc] = r.records;
    assert.equal((anc.metrics.params as number) - (res.metrics.params as number), 2, 'ANCRe adds K(K+1)/2 − 1 trainable scalars');
    // The routing matrix every routingEvery (10) steps, the last one equal to the final matrix.
    const log = anc.extra!.routing as { step: number[]; p: number[][][] };
    assert.deepEqual(log.step, [10, 20]);
    assert.deepEqual(log.p[1], anc.extra!.coefficients);
    assert.equal(anc.metrics.recipe, 'official');
    assert.equal(anc.metrics.lr, 2e-2);
  });

  test('document packing: one document per row, pads masked; its runs have their own run ids', async () => {
    const r = await runExperiment(experiment, { preset: 'smoke', workers: 1, verbose: false, overrides: { depths: [1], lrs: [2e-2], wirings: [ANCRE_LM_WIRINGS[0]], packing: 'document' } });
    assert.equal(r.records.length, 1);
    const m = r.records[0].metrics;
    assert.equal(m.packing, 'document');
    assert.ok(typeof m.valPerplexity === 'number' && m.valPerplexity > 1 && m.valPerplexity < 512, `${m.valPerplexity}`);
    const c = resolveConfig(experiment, 'smoke', { packing: 'document' });
    assert.ok(experiment.runs(c).every((s) => (s.config as { packing?: string }).packing === 'document'));
    assert.ok(experiment.runs(resolveConfig(experiment, 'smoke')).every((s) => !('packing' in s.config)));
    assert.throws(() => resolveConfig(experiment, 'smoke', { packing: 'rows' as never }), /unknown packing 'rows'; expected one of stream, document/);
  });

  test('cpu preset: the official recipe, residual lr sweep rows, per-run lr; project study keeps the first records\' run ids', () => {
    const c = resolveConfig(experiment, 'cpu');
    assert.equal(c.recipe, 'official');
    const specs = experiment.runs(c);
    assert.equal(specs.length, c.depths.length * ANCRE_LM_OFFICIAL_WIRINGS.length * c.lrs.length * c.seeds.length);
    assert.ok(c.lrs.length >= 3 && c.seeds.length >= 3 && c.depths.join() === '2,4,8');
    for (const s of specs) {
      const t = (s.config as unknown as { train: TrainConfig; recipe: string }).train;
      assert.deepEqual(t.optimizer, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, clipNorm: 0 });
      assert.equal(t.schedule.warmupFraction, 0.1);
      assert.equal(t.schedule.minRatio, 0.1);
      assert.ok(c.lrs.includes(t.schedule.lr));
      assert.match(s.row, new RegExp(` lr=${t.schedule.lr.toExponential()}$`));
      assert.equal((s.config as { recipe?: string }).recipe, 'official');
    }
    assert.ok(ANCRE_LM_OFFICIAL_WIRINGS.some((w) => w.label === 'ancre-out (extra)' && w.wiring.normalisation === 'outgoing'));
    // The setting where depth paid in the pilot: 512-token BPE, 128-token rows; the first official sweep's stays selectable.
    assert.deepEqual([c.tokenizerVocab, c.vocabSize, c.seqLen, c.batch], [512, 512, 128, 16]);
    const v = resolveConfig(experiment, 'cpu', OFFICIAL_V4096_STUDY);
    assert.deepEqual([v.tokenizerVocab, v.vocabSize, v.seqLen, v.batch, v.train.steps], [4096, 4096, 64, 16, 1000]);
    assert.deepEqual(experiment.runs(v).map((s) => s.row), specs.map((s) => s.row));
    const pilot = resolveConfig(experiment, 'cpu', V4096_MORE_TOKENS_PILOT);
    assert.deepEqual(experiment.runs(pilot).map((s) => `${s.row}/${s.seed}`), ['d2 residual lr=3e-3/0', 'd8 residual lr=3e-3/0']);
    assert.equal(pilot.batch, 64);
    // The first study: no recipe field in its run configs, the project's optimiser, one lr.
    const p = resolveConfig(experiment, 'cpu', PROJECT_STUDY);
    assert.deepEqual([p.tokenizerVocab, p.vocabSize, p.seqLen], [4096, 4096, 64]);
    const ps = experiment.runs(p);
    assert.equal(ps.length, 3 * ANCRE_LM_WIRINGS.length * 2);
    for (const s of ps) {
      assert.equal('recipe' in s.config, false);
      const t = (s.config as unknown as { train: TrainConfig }).train;
      assert.deepEqual([t.optimizer.beta2, t.optimizer.clipNorm, t.schedule.lr, t.steps], [0.95, 1, 3e-3, 1500]);
      assert.doesNotMatch(s.row, /lr=/);
    }
    // Official init in the model config of the official recipe only.
    assert.equal(modelConfig(c, 2, { kind: 'residual' }, 0).linearInitStd, 0.02);
    assert.equal(modelConfig(p, 2, { kind: 'residual' }, 0).linearInitStd, 0);
    assert.deepEqual(recipeTrain('official', p.train).optimizer, { ...p.train.optimizer, beta2: 0.999, clipNorm: 0 });
  });

  test('paper preset: LLaMA-60M on C4 (its parameter count); a missing C4 folder is a DataError naming it', () => {
    const c = resolveConfig(experiment, 'paper');
    const m = modelConfig(c, 8, { kind: 'residual' }, 0);
    assert.equal(llamaParamCount(m).total, llamaParamCount(LLAMA_PRESETS['llama-60m']).total);
    assert.equal(c.seqLen, 256);
    assert.equal(c.batch, 512);
    assert.throws(() => loadC4('', 'train', 10), (e: Error) => e instanceof DataError && /c4Dir/.test(e.message));
    const missing = path.join(tmp, 'no-such-c4');
    assert.throws(() => loadC4(missing, 'train', 10), (e: Error) => e instanceof DataError && e.message.includes(missing));
    assert.throws(() => resolveConfig(experiment, 'paper', { depths: [12] }), (e: Error) => e instanceof ConfigError && /depths holds 12/.test(e.message));
  });

  test('C4 shards: JSON lines, gzip, bad lines named by file and line', () => {
    const dir = path.join(tmp, 'c4');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'c4-train.00000-of-01024.json'), '{"text":"one"}\n{"text":"two","url":"x"}\n');
    fs.writeFileSync(path.join(dir, 'c4-train.00001-of-01024.json.gz'), zlib.gzipSync('{"text":"three"}\n'));
    fs.writeFileSync(path.join(dir, 'c4-validation.00000-of-00008.json'), '{"text":"v"}\n');
    assert.deepEqual(loadC4(dir, 'train', 10).map((d) => d.text), ['one', 'two', 'three']);
    assert.deepEqual(loadC4(dir, 'train', 2).map((d) => d.text), ['one', 'two']);
    assert.equal(loadC4(dir, 'validation', 10).length, 1);
    fs.writeFileSync(path.join(dir, 'c4-validation.00001-of-00008.json'), '{"text":"ok"}\n{"txt":1}\n');
    assert.throws(() => loadC4(dir, 'validation', 10), /c4-validation\.00001-of-00008\.json:2: no "text" string in this document/);
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty);
    assert.throws(() => loadC4(empty, 'train', 10), (e: Error) => e instanceof DataError && /no 'train' shards/.test(e.message));
  });

  test('bad configs: ConfigError naming the value', () => {
    assert.throws(() => resolveConfig(experiment, 'cpu', { depths: [] }), /depths must be a non-empty list/);
    assert.throws(() => resolveConfig(experiment, 'cpu', { tokenizerVocab: 40000 }), /tokenizerVocab must be .*got 40000/);
    assert.throws(() => resolveConfig(experiment, 'cpu', { vocabSize: 100 }), /vocabSize must be .*got 100/);
    assert.throws(() => resolveConfig(experiment, 'cpu', { wirings: [ANCRE_LM_WIRINGS[0], ANCRE_LM_WIRINGS[0]] }), /used twice/);
    assert.throws(() => resolveConfig(experiment, 'cpu', { width: 65 }), /divisible by heads/);
    const cfg = (e: unknown, re: RegExp) => e instanceof ConfigError && re.test(e.message);
    assert.throws(() => resolveConfig(experiment, 'cpu', { recipe: 'galore' as never }), (e) => cfg(e, /unknown recipe 'galore'; expected one of official, project/));
    assert.throws(() => resolveConfig(experiment, 'cpu', { lrs: [1e-3, 0] }), (e) => cfg(e, /lrs\[1\] must be .*got 0/));
    assert.throws(() => resolveConfig(experiment, 'cpu', { lrs: [-1e-3] }), (e) => cfg(e, /lrs\[0\] must be .*got -0\.001/));
    assert.throws(() => resolveConfig(experiment, 'cpu', { lrs: [1e-3, 1e-3] }), (e) => cfg(e, /lrs holds a value twice/));
    assert.throws(() => resolveConfig(experiment, 'cpu', { routingEvery: 75 }), (e) => cfg(e, /routingEvery must be a multiple of evalEvery \(50\); got 75/));
  });

  test('stepsToReach interpolates between evaluations; null when never reached', () => {
    assert.equal(stepsToReach([10, 20, 30], [100, 50, 40], 50), 20);
    assert.equal(stepsToReach([10, 20, 30], [100, 50, 40], 75), 15);
    assert.equal(stepsToReach([10, 20, 30], [100, 50, 40], 200), 10);
    assert.equal(stepsToReach([10, 20, 30], [100, 50, 40], 39), null);
  });
});

describe('ancre-lm verdict', () => {
  // Two depths × three wirings × two seeds with known perplexities, curves and routing matrices.
  const rec = (depth: number, wiring: string, seed: number, ppl: number, p: number[][] | null) => ({
    experiment: 'ancre-lm', preset: 'cpu', runId: `${depth}${wiring}${seed}`, row: `d${depth} ${wiring}`, seed, config: {},
    metrics: { depth, wiring, valPerplexity: ppl, params: 1000 + (p ? 3 : 0), msPerStep: 100 },
    history: { evalStep: [50, 100], valPerplexity: [2 * ppl, ppl] },
    extra: p ? { coefficients: p } : {},
    wallTimeSec: 1, engine: {}, commit: 'x', host: 'h', finishedAt: '',
  });
  const oneHot = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
  const soft = [[1, 0, 0], [0.5, 0.5, 0], [0.2, 0.3, 0.5]];
  const records = [0, 1].flatMap((s) => [
    rec(2, 'residual', s, 100 + s, null), rec(2, 'ancre-in', s, 90 + s, oneHot), rec(2, 'ancre-in τ=0.1', s, 95 + s, soft),
    rec(4, 'residual', s, 80 + s, null), rec(4, 'ancre-in', s, 85 + s, oneHot), rec(4, 'ancre-in τ=0.1', s, 70 + s, soft),
  ]);

  test('counts depths where ANCRe is lower, names every other row, reads routing and depth from the records', async () => {
    const { ancreLmVerdict } = await import('../../../lib/studies/ancre-lm');
    const c = resolveConfig(experiment, 'cpu');
    const v = ancreLmVerdict(records as never, c, '1% at 2 layers');
    assert.match(v, /lower final validation perplexity than standard residuals at 1 of 2 depths, higher at 1, and no difference these seeds detect \(or too few seeds\) at 0/);
    // paired by seed: −10 at both seeds (a point interval)
    assert.match(v, /- 2 layers: ANCRe \(incoming\) 90\.5 vs residual 100\.5 \(-10\.0%; paired Δ −10\.00 \[−10\.00, −10\.00\], better\): \*\*lower\*\*/);
    assert.match(v, /\*\*ancre-in τ=0\.1\*\* against residual: -5\.0% at 2 layers, -12\.4% at 4 layers/);
    // Rows after the first: one-hot gives 1; the soft matrix gives mean(0.5, 0.5) = 0.5.
    assert.match(v, /ancre-in: 1\.00 at 2 layers, 1\.00 at 4 layers; ancre-in τ=0\.1: 0\.50 at 2 layers, 0\.50 at 4 layers/);
    assert.match(v, /\*\*Best row\*\* per depth: ancre-in at 2 layers \(90\.5\), ancre-in τ=0\.1 at 4 layers \(70\.5\)/);
    assert.match(v, new RegExp(`width-${c.width} models`));
    assert.match(v, /deeper residual models are better \(80\.5 at 4 layers vs 100\.5 at 2; ANCRe-in 85\.5 vs 90\.5\)/);
    assert.doesNotMatch(v, /Learned or fixed routing/, 'no constant-average row, no comparison');
    const withUniform = [...records, ...[0, 1].flatMap((s) => [rec(2, 'constant-average', s, 90.2 + s, null), rec(4, 'constant-average', s, 95 + s, null)])];
    assert.match(ancreLmVerdict(withUniform as never, c, ''), /ANCRe-in against `constant-average`[^:]*: 90\.5 vs 90\.7 at 2 layers \(paired Δ −0\.20 \[−0\.20, −0\.20\], better\), 85\.5 vs 95\.5 at 4 layers \(paired Δ −10\.00 \[−10\.00, −10\.00\], better\)/);
    const flipped = records.map((r) => (r.metrics.wiring === 'residual' ? { ...r, metrics: { ...r.metrics, valPerplexity: r.metrics.depth === 4 ? 200 : 100 } } : r));
    assert.match(ancreLmVerdict(flipped as never, c, ''), /deeper residual models are not better \(200\.0 at 4 layers vs 100\.0 at 2;/);
  });
});
