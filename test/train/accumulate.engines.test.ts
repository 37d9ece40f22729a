/**
 * Gradient accumulation in the training loop (`accumSteps`): k equal micro-batches per step give
 * the full batch's gradients, so the trajectory equals one-batch training; and a lost GPU device
 * stops the loop with a clear error naming the step and the intact checkpoint.
 * An engines file: it runs on every engine pass, webgpu included.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../lib/backend';
import { DeviceLostError, simulateDeviceLost, simulateGpuError } from '../../lib/backend/webgpu';
import { ConfigError } from '../../lib/errors';
import { Param, train, TrainConfig, TRAIN_DEFAULTS } from '../../lib/train';
import { randn } from '../backend/compare';

before(async () => {
  await initEngine({ quiet: true });
});

const B = 32;

/** A two-layer tanh regression on fixed data; step s uses batch rows chosen by s only. */
function task(seed: number) {
  const n = 128;
  const x = tf.tensor2d(randn(n * 6, seed), [n, 6]);
  const y = tf.tensor2d(randn(n * 2, seed + 1), [n, 2]);
  const w1 = tf.tidy(() => tf.variable(tf.mul(tf.tensor2d(randn(6 * 8, seed + 2), [6, 8]), 0.3)));
  const w2 = tf.tidy(() => tf.variable(tf.mul(tf.tensor2d(randn(8 * 2, seed + 3), [8, 2]), 0.3)));
  const b = tf.tidy(() => tf.variable(tf.zeros([2])));
  const params: Param[] = [
    { name: 'w1', variable: w1, decay: true },
    { name: 'w2', variable: w2, decay: true },
    { name: 'b', variable: b, decay: false },
  ];
  const rows = (step: number) => Array.from({ length: B }, (_, i) => (step * 29 + i * 7) % n);
  return {
    params,
    loss: (step: number, micro?: { index: number; count: number }) => {
      let r = rows(step);
      if (micro) r = r.slice((micro.index * B) / micro.count, ((micro.index + 1) * B) / micro.count);
      const idx = tf.tensor1d(r, 'int32');
      const pred = tf.add(tf.matMul(tf.tanh(tf.matMul(tf.gather(x, idx), w1)), w2), b);
      return tf.mean(tf.square(tf.sub(pred, tf.gather(y, idx)))) as tf.Scalar;
    },
    dispose: () => tf.dispose([x, y, w1, w2, b]),
  };
}

const cfg = (over: Partial<TrainConfig> = {}): TrainConfig => ({
  ...TRAIN_DEFAULTS,
  steps: 6,
  logEvery: 1,
  checkpointEvery: 0,
  schedule: { lr: 0.02, warmupFraction: 0, minRatio: 1 },
  ...over,
});

async function trained(accumSteps: number | undefined): Promise<{ params: Float32Array[]; loss: number[]; norm: number[] }> {
  const t = task(5);
  const r = await train(cfg(accumSteps === undefined ? {} : { accumSteps }), t);
  const params = await Promise.all(t.params.map(async (p) => Float32Array.from(await p.variable.data())));
  const out = { params, loss: r.history.loss, norm: r.history.gradNorm };
  r.dispose();
  t.dispose();
  return out;
}

function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol * Math.max(1, Math.abs(b[i])), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

describe('gradient accumulation (accumSteps)', () => {
  test('4 and 2 micro-batches follow the one-batch trajectory: losses, gradient norms, weights', async () => {
    const before = tf.memory().numTensors;
    const one = await trained(undefined);
    for (const k of [2, 4]) {
      const acc = await trained(k);
      assertClose(acc.loss, one.loss, 1e-5, `accumSteps ${k} loss`);
      assertClose(acc.norm, one.norm, 1e-4, `accumSteps ${k} gradient norm`);
      acc.params.forEach((p, i) => assertClose(p, one.params[i], 1e-4, `accumSteps ${k} parameter ${i}`));
    }
    assert.ok(one.loss[one.loss.length - 1] < one.loss[0], `the loss falls: ${one.loss.join(', ')}`);
    assert.equal(tf.memory().numTensors, before, 'leaked tensors');
  });

  test('accumSteps 1 is the plain loop, and a micro-batch index reaches the task', async () => {
    const plain = await trained(undefined);
    const one = await trained(1);
    assert.deepEqual(one.loss, plain.loss);
    const seen: string[] = [];
    const t = task(6);
    const r = await train(cfg({ steps: 1, accumSteps: 4 }), { params: t.params, loss: (s, m) => (seen.push(`${s}:${m?.index}/${m?.count}`), t.loss(s, m)) });
    assert.deepEqual(seen, ['0:0/4', '0:1/4', '0:2/4', '0:3/4']);
    r.dispose();
    t.dispose();
  });

  test('an invalid accumSteps is a ConfigError before any step', async () => {
    const t = task(7);
    for (const bad of [0, 1.5, -2]) {
      await assert.rejects(train(cfg({ accumSteps: bad }), t), (e: unknown) => e instanceof ConfigError && /train\.accumSteps must be/.test((e as Error).message) && (e as Error).message.includes(String(bad)));
    }
    t.dispose();
  });
});

describe('a lost device', () => {
  test('a WebGPU validation error stops training at once: the step it hit computed nothing', async () => {
    const t = task(9);
    simulateGpuError('The number of storage buffers (52) in the Compute stage exceeds the maximum per-stage limit (8).');
    try {
      await assert.rejects(train(cfg({ steps: 3 }), t), /a WebGPU validation error \(The number of storage buffers \(52\).*\) at step 0; no checkpoint was written yet: the GPU dropped work of this step/);
    } finally {
      simulateGpuError(null);
    }
    t.dispose();
  });

  test('stops training with the step and the intact checkpoint; rerunning resumes from it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-lost-'));
    const file = path.join(dir, 'ck.bin');
    const t = task(8);
    const r1 = await train(cfg({ steps: 4, checkpointEvery: 2 }), t, { checkpointFile: file, stopAfter: 2 });
    r1.dispose();
    simulateDeviceLost('unknown: GPU hang (simulated)');
    try {
      await assert.rejects(train(cfg({ steps: 4, checkpointEvery: 2 }), t, { checkpointFile: file }), (e: unknown) => {
        assert.ok(e instanceof DeviceLostError, String(e));
        assert.match((e as Error).message, /the WebGPU device was lost \(unknown: GPU hang \(simulated\)\) at step 2; the last good checkpoint .*ck\.bin \(step 2\) is intact; rerun to resume/);
        return true;
      });
    } finally {
      simulateDeviceLost(null);
    }
    const r2 = await train(cfg({ steps: 4, checkpointEvery: 2 }), t, { checkpointFile: file });
    assert.equal(r2.resumedFrom, 2);
    assert.equal(r2.stepsDone, 4);
    r2.dispose();
    t.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
