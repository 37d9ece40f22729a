import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../lib/backend';
import { ConfigError, DataError, NonFiniteLossError } from '../../lib/errors';
import { AdamW, ADAMW_DEFAULTS, learningRate, Param, train, TrainConfig, TRAIN_DEFAULTS } from '../../lib/train';
import { loadCheckpoint, parseCheckpoint, saveCheckpoint } from '../../lib/train/checkpoint';
import { ProgressBar, formatDuration } from '../../lib/train/progress';

const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'repro-loop-'));

/** Logistic regression on two Gaussian blobs: a real model whose loss must fall. */
function blobTask(seed: number) {
  const n = 256;
  const x = tf.tidy(() => tf.concat([tf.randomNormal([n / 2, 4], -1, 1, 'float32', seed), tf.randomNormal([n / 2, 4], 1, 1, 'float32', seed + 1)]));
  const y = tf.concat([tf.zeros([n / 2, 1]), tf.ones([n / 2, 1])]);
  const w = tf.variable(tf.randomNormal([4, 1], 0, 0.1, 'float32', seed + 2));
  const b = tf.variable(tf.zeros([1]));
  const params: Param[] = [
    { name: 'w', variable: w, decay: true },
    { name: 'b', variable: b, decay: false },
  ];
  let calls = 0;
  return {
    params,
    loss: (step: number) => {
      calls++;
      // a batch chosen by the step only: deterministic and resumable
      const idx = tf.tensor1d(Array.from({ length: 32 }, (_, i) => (step * 37 + i * 11) % n), 'int32');
      return tf.losses.sigmoidCrossEntropy(tf.gather(y, idx), tf.add(tf.matMul(tf.gather(x, idx), w), b)) as tf.Scalar;
    },
    calls: () => calls,
    dispose: () => tf.dispose([x, y, w, b]),
  };
}

const cfg = (over: Partial<TrainConfig> = {}): TrainConfig => ({
  ...TRAIN_DEFAULTS,
  steps: 40,
  logEvery: 5,
  checkpointEvery: 10,
  schedule: { lr: 0.05, warmupFraction: 0.1, minRatio: 0.1 },
  ...over,
});

before(async () => {
  await initEngine({ quiet: true });
});

describe('schedule', () => {
  test('linear warm-up then cosine to minRatio × peak', () => {
    const s = { lr: 1, warmupFraction: 0.1, minRatio: 0.1 };
    assert.equal(learningRate(s, 0, 100), 0.1);
    assert.equal(learningRate(s, 9, 100), 1);
    assert.equal(learningRate(s, 10, 100), 1);
    assert.ok(Math.abs(learningRate(s, 99, 100) - 0.1) < 1e-12);
    const mid = learningRate(s, 10 + 89 / 2, 100);
    assert.ok(Math.abs(mid - 0.55) < 1e-12, `midpoint ${mid}`);
  });
});

describe('AdamW', () => {
  test('first step moves each weight by lr·sign(g); decay only on flagged params', () => {
    const a = tf.variable(tf.tensor1d([1, -2]));
    const b = tf.variable(tf.tensor1d([3]));
    const opt = new AdamW(
      [
        { name: 'a', variable: a, decay: true },
        { name: 'b', variable: b, decay: false },
      ],
      { ...ADAMW_DEFAULTS, eps: 0, weightDecay: 0.5, clipNorm: 0 },
    );
    const g = { [a.name]: tf.tensor1d([0.3, -4]), [b.name]: tf.tensor1d([2]) };
    const norm = opt.step(g, 0.1);
    assert.ok(Math.abs(norm - Math.sqrt(0.09 + 16 + 4)) < 1e-5);
    // m̂ = g, v̂ = g², update = sign(g); decoupled decay: p -= lr·λ·p
    const av = a.dataSync();
    assert.ok(Math.abs(av[0] - (1 - 0.1 - 0.1 * 0.5 * 1)) < 1e-6, `a0 ${av[0]}`);
    assert.ok(Math.abs(av[1] - (-2 + 0.1 - 0.1 * 0.5 * -2)) < 1e-6, `a1 ${av[1]}`);
    assert.ok(Math.abs(b.dataSync()[0] - (3 - 0.1)) < 1e-6);
    tf.dispose([a, b, ...Object.values(g)]);
    opt.dispose();
  });

  test('clipping scales the gradient to the global norm', () => {
    const a = tf.variable(tf.tensor1d([0, 0]));
    const opt = new AdamW([{ name: 'a', variable: a, decay: false }], { ...ADAMW_DEFAULTS, clipNorm: 1 });
    const g = { [a.name]: tf.tensor1d([3, 4]) };
    assert.ok(Math.abs(opt.step(g, 0.1) - 5) < 1e-5); // returns the norm before clipping
    // Adam normalises the step, so check the stored first moment: (1-β1)·g·(1/5)
    const m = opt.m[0].dataSync();
    assert.ok(Math.abs(m[0] - 0.1 * 0.6) < 1e-5 && Math.abs(m[1] - 0.1 * 0.8) < 1e-5, `m ${m}`);
    tf.dispose([a, ...Object.values(g)]);
    opt.dispose();
  });
});

describe('train', () => {
  test('the loss of a real model falls, and no tensor leaks', async () => {
    const task = blobTask(1);
    const before = tf.memory().numTensors;
    const r = await train(cfg({ steps: 60 }), task);
    r.dispose();
    assert.equal(tf.memory().numTensors, before, 'tensors leaked by the loop');
    const { loss } = r.history;
    assert.equal(r.history.step.length, 12);
    assert.ok(loss[loss.length - 1] < 0.5 * loss[0], `loss ${loss[0]} -> ${loss[loss.length - 1]}`);
    task.dispose();
  });

  test('an interrupted run resumes from its checkpoint exactly', async () => {
    const dir = tmpDir();
    const full = blobTask(2);
    const r1 = await train(cfg(), full, { checkpointFile: path.join(dir, 'a.bin') });
    const w1 = full.params[0].variable.dataSync().slice();
    r1.dispose();

    const part = blobTask(2);
    const file = path.join(dir, 'b.bin');
    const p1 = await train(cfg(), part, { checkpointFile: file, stopAfter: 23 }); // last checkpoint at 20
    p1.dispose();
    part.dispose();
    const again = blobTask(2); // a fresh process would build the model anew
    const r2 = await train(cfg(), again, { checkpointFile: file });
    assert.equal(r2.resumedFrom, 20);
    assert.deepEqual(Array.from(again.params[0].variable.dataSync()), Array.from(w1));
    assert.deepEqual(r2.history.loss, r1.history.loss);
    assert.equal(again.calls(), 20, 'only the unfinished steps ran');
    r2.dispose();
    // A finished run is reused: no step runs again.
    const done = blobTask(2);
    const r3 = await train(cfg(), done, { checkpointFile: file });
    assert.equal(done.calls(), 0);
    r3.dispose();
    [full, again, done].forEach((t) => t.dispose());
  });

  test('evaluations at listed steps (and the last) survive an interruption: the resumed curve equals the uninterrupted one', async () => {
    const dir = tmpDir();
    const evalTask = (seed: number) => {
      const t = blobTask(seed);
      const seen: number[] = [];
      const w = t.params[0].variable;
      return { ...t, seen, evaluate: { every: 0, at: [5, 17, 30], fn: (step: number) => (seen.push(step), { wsum: Array.from(w.dataSync()).reduce((a, b) => a + b, 0) }) } };
    };
    const full = evalTask(5);
    const r1 = await train(cfg(), full);
    assert.deepEqual(r1.evals.step, [5, 17, 30, 40]);
    assert.deepEqual(full.seen, [5, 17, 30, 40]);
    r1.dispose();
    const file = path.join(dir, 'e.bin');
    const part = evalTask(5);
    (await train(cfg(), part, { checkpointFile: file, stopAfter: 25 })).dispose(); // checkpoint at 20 holds evals 5, 17
    part.dispose();
    const again = evalTask(5);
    const r2 = await train(cfg(), again, { checkpointFile: file });
    assert.equal(r2.resumedFrom, 20);
    assert.deepEqual(again.seen, [30, 40], 'only the evaluations after the checkpoint ran again');
    assert.deepEqual(r2.evals, r1.evals);
    r2.dispose();
    for (const [at, msg] of [[[0, 5], /evaluate.at\[0\] must be an integer step in \[1, 40\] \(the run's steps\); got 0/], [[5, 41], /evaluate.at\[1\] must be an integer step in \[1, 40\].*got 41/], [[9, 5], /evaluate.at must be ascending without repeats; evaluate.at\[1\] = 5 follows 9/], [[2.5], /got 2.5/]] as const) {
      const bad = evalTask(6);
      await assert.rejects(train(cfg(), { ...bad, evaluate: { ...bad.evaluate, at } }), (e: unknown) => e instanceof ConfigError && msg.test((e as Error).message));
      assert.equal(bad.calls(), 0, 'nothing ran');
      bad.dispose();
    }
    [full, again].forEach((t) => t.dispose());
  });

  test('issue 31, 6: with train.ema > 0 the finished model holds the EMA weights (unless the task owns them), also when reused', async () => {
    const dir = tmpDir();
    const plain = blobTask(7);
    (await train(cfg(), plain)).dispose();
    const live = Array.from(plain.params[0].variable.dataSync());
    const withEma = blobTask(7);
    const file = path.join(dir, 'ema.bin');
    const r = await train(cfg({ ema: 0.9 }), withEma, { checkpointFile: file });
    const shadow = Array.from(r.ema!.shadow[0].dataSync());
    assert.deepEqual(Array.from(withEma.params[0].variable.dataSync()), shadow, 'the model holds the EMA weights');
    assert.notDeepEqual(shadow, live, 'and they differ from the live weights');
    r.dispose();
    // a finished run reused from its checkpoint ends the same way
    const again = blobTask(7);
    (await train(cfg({ ema: 0.9 }), again, { checkpointFile: file })).dispose();
    assert.deepEqual(Array.from(again.params[0].variable.dataSync()), shadow);
    // a task that evaluates with result.ema itself keeps the live weights
    const owns = blobTask(7);
    const r2 = await train(cfg({ ema: 0.9 }), { ...owns, ownsEma: true });
    assert.deepEqual(Array.from(owns.params[0].variable.dataSync()), live);
    r2.dispose();
    [plain, withEma, again, owns].forEach((t) => t.dispose());
  });

  test('a non-finite loss stops with the step and the intact last checkpoint', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'ck.bin');
    const task = blobTask(3);
    const loss = task.loss;
    task.loss = (step: number) => (step === 13 ? tf.mul(loss(step), NaN) : loss(step));
    await assert.rejects(train(cfg(), task, { checkpointFile: file }), (e: unknown) => {
      assert.ok(e instanceof NonFiniteLossError);
      assert.equal(e.step, 13);
      assert.match(e.message, /training stopped at step 13: loss is NaN; the last good checkpoint .*ck\.bin \(step 10\) is intact/);
      return true;
    });
    assert.equal((loadCheckpoint(file)!.state as { step: number }).step, 10);
    task.dispose();
  });

  test('invalid settings are rejected before any step', async () => {
    const task = blobTask(4);
    await assert.rejects(train(cfg({ steps: 0 }), task), /train.steps must be an integer in \[1, 10000000\]; got 0/);
    // issue 31, 12: a typo of a step count is refused, not started
    await assert.rejects(train(cfg({ steps: 1e12 }), task), /train.steps must be an integer in \[1, 10000000\]; got 1000000000000/);
    await assert.rejects(train(cfg({ schedule: { lr: -1, warmupFraction: 0, minRatio: 0 } }), task), /train.schedule.lr must be \(0, inf\); got -1/);
    await assert.rejects(train(cfg({ checkpointEvery: 7 }), task), ConfigError);
    assert.equal(task.calls(), 0);
    task.dispose();
  });
});

describe('checkpoint files', () => {
  const file = path.join(tmpDir(), 'ck.bin');
  const t = tf.tensor2d([[1, 2], [3, 4]]);
  saveCheckpoint(file, [{ name: 'x', tensor: t }], { step: 5 });
  const bytes = fs.readFileSync(file);

  test('round trip', () => {
    const ck = loadCheckpoint(file)!;
    assert.deepEqual(Array.from(ck.tensors.get('x')!.values), [1, 2, 3, 4]);
    assert.deepEqual(ck.state, { step: 5 });
  });

  test('corruption is a DataError naming the file and the fault', () => {
    assert.throws(() => parseCheckpoint(bytes.subarray(0, bytes.length - 3), 'f.bin'), /corrupt checkpoint f\.bin: checksum mismatch \(truncated or damaged\); delete it to restart this run from scratch/);
    const bad = Buffer.from(bytes);
    bad[0] ^= 1;
    assert.throws(() => parseCheckpoint(bad, 'f.bin'), /wrong magic bytes/);
    const flip = Buffer.from(bytes);
    flip[flip.length - 1] ^= 0x40;
    assert.throws(() => parseCheckpoint(flip, 'f.bin'), /checksum mismatch/);
    assert.throws(() => parseCheckpoint(bytes.subarray(0, 20), 'f.bin'), /shorter than the smallest checkpoint/);
    assert.ok(DataError);
  });
});

describe('progress', () => {
  test('renders count, percentage, elapsed<ETA and the info', () => {
    const lines: string[] = [];
    const bar = new ProgressBar('run', 10, { write: (s) => lines.push(s), inPlace: false, every: 0 });
    bar.update(5, 'loss 0.5');
    assert.match(lines[0], /^run \[#{12}\.{12}\] 5\/10 50% \d\d:\d\d<(\d\d:\d\d|--:--) .*loss 0\.5\n$/);
    assert.equal(formatDuration(3725), '1:02:05');
    assert.equal(formatDuration(65), '01:05');
  });
});
