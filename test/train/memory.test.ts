/**
 * The training-step memory estimate (lib/train/memory.ts) and its check before the first step:
 * the paper models' sizes, the error that names the batch that fits and the accumulation that keeps
 * the batch, WebGPU's one-binding limit, REPRO_GPU_MEMORY, and the loop refusing before any step.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../lib/backend';
import { ConfigError } from '../../lib/errors';
import { maeActivations, MAE_PRESETS } from '../../lib/models/mae';
import { llamaActivations, LLAMA_PRESETS } from '../../lib/models/llama';
import { checkStepMemory, stepMemory, train, trainingMemoryLimit, TRAIN_DEFAULTS } from '../../lib/train';

before(async () => {
  await initEngine({ quiet: true });
});

const GiB = 2 ** 30;
const vitB = MAE_PRESETS.mae_vit_base_patch16_dec512d8b;
const llama60 = LLAMA_PRESETS['llama-60m'];

describe('the estimate', () => {
  test('ViT-B/16 MAE: 117M parameters take 1.7 GiB with AdamW; activations grow linearly with the batch', () => {
    const act = maeActivations(vitB);
    const m1 = stepMemory(117038848, act, 1, false);
    assert.ok(Math.abs(m1.params + m1.grads + m1.optimizer - 4 * 4 * 117038848) < 1);
    const m64 = stepMemory(117038848, act, 64, false);
    assert.ok(Math.abs(m64.activations - 64 * m1.activations) < 64);
    // 50 visible tokens of 768 and 197 decoder tokens of 512: a few tens of MB per image, not KB nor GB
    assert.ok(act.perExample * 4 > 20e6 && act.perExample * 4 < 400e6, `${(act.perExample * 4) / 1e6} MB per image`);
    assert.ok(stepMemory(117038848, act, 1, true).ema === 4 * 117038848);
  });

  test("LLaMA-60M at 256 tokens: the logits [T, V] are the largest tensor", () => {
    const act = llamaActivations(llama60, 256);
    assert.equal(act.largestPerExample, 256 * 32000);
    assert.ok(act.perExample > 3 * 256 * 32000);
  });
});

describe('the check', () => {
  test('too large: names the parts, the limit and its source, the largest batch and the accumulation that keeps the batch', () => {
    const act = maeActivations(vitB, 'mae-sweep paper');
    const limit = { bytes: 16 * GiB, source: 'REPRO_GPU_MEMORY=16', binding: null };
    const fits = Math.floor((16 * GiB - 16 * 117038848) / (4 * act.perExample));
    assert.throws(
      () => checkStepMemory({ paramCount: 117038848, act, batch: 4096, accumSteps: 1, ema: false, limit }),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        const msg = (e as Error).message;
        assert.match(msg, /^a training step of mae-sweep paper \(ViT 768×12 on 224² images, patch 16; decoder 512×8\) at batch 4096 needs about [\d.]+ GiB \(parameters 0\.44 GiB, gradients 0\.44 GiB, AdamW moments 0\.87 GiB, activations [\d.]+ GiB for 4096 example\(s\) per pass\); at most 16\.00 GiB is available \(REPRO_GPU_MEMORY=16\)/);
        assert.ok(msg.includes(`the largest batch per pass that fits is ${fits}; keep batch 4096 with train.accumSteps = `), msg);
        const k = Number(/accumSteps = (\d+)/.exec(msg)![1]);
        assert.ok(4096 % k === 0 && 4096 / k <= fits, `accumSteps ${k}`);
        return true;
      },
    );
    // that advice fits
    const k = (() => {
      let k = Math.ceil(4096 / fits);
      while (4096 % k) k++;
      return k;
    })();
    checkStepMemory({ paramCount: 117038848, act, batch: 4096, accumSteps: k, ema: false, limit });
  });

  test('one tensor beyond maxStorageBufferBindingSize: LLaMA-60M at 64 × 256 on a 128 MiB binding', () => {
    const act = llamaActivations(llama60, 256);
    const limit = { bytes: 80 * GiB, source: 'REPRO_GPU_MEMORY=80', binding: 128 * 2 ** 20 };
    assert.throws(
      () => checkStepMemory({ paramCount: 58e6, act, batch: 64, accumSteps: 1, ema: false, limit }),
      /holds a 2000 MiB tensor \(the largest: 64 × 8192000 floats\); one WebGPU buffer binding holds at most 128 MiB \(maxStorageBufferBindingSize\): the largest batch per pass that fits is 4; keep batch 64 with train.accumSteps = 16 \(micro-batches of 4\)/,
    );
    checkStepMemory({ paramCount: 58e6, act, batch: 64, accumSteps: 16, ema: false, limit });
  });

  test('parameters alone too large; a batch not divisible by accumSteps', () => {
    const act = maeActivations(vitB);
    assert.throws(() => checkStepMemory({ paramCount: 117038848, act, batch: 8, accumSteps: 1, ema: false, limit: { bytes: GiB, source: 's', binding: null } }), /not even the parameters and optimiser state fit/);
    assert.throws(() => checkStepMemory({ paramCount: 10, act, batch: 10, accumSteps: 4, ema: false, limit: { bytes: GiB, source: 's', binding: null } }), /batch 10 must be a multiple of train.accumSteps 4/);
  });

  test('REPRO_GPU_MEMORY sets the webgpu limit; a bad value is a ConfigError; other engines keep the machine limit', () => {
    const saved = process.env.REPRO_GPU_MEMORY;
    try {
      process.env.REPRO_GPU_MEMORY = '24';
      assert.deepEqual(trainingMemoryLimit('webgpu', 1024), { bytes: 24 * GiB, source: 'REPRO_GPU_MEMORY=24', binding: 1024 });
      assert.notEqual(trainingMemoryLimit('wasm').source, 'REPRO_GPU_MEMORY=24');
      assert.equal(trainingMemoryLimit('wasm').binding, null);
      process.env.REPRO_GPU_MEMORY = 'lots';
      assert.throws(() => trainingMemoryLimit('webgpu'), /REPRO_GPU_MEMORY must be/);
    } finally {
      if (saved === undefined) delete process.env.REPRO_GPU_MEMORY;
      else process.env.REPRO_GPU_MEMORY = saved;
    }
  });

  test('train() refuses before the first step', async () => {
    const w = tf.variable(tf.zeros([1000, 1000]));
    let calls = 0;
    const saved = process.env.REPRO_MEMORY_LIMIT_GB;
    process.env.REPRO_MEMORY_LIMIT_GB = '0.01';
    try {
      await assert.rejects(
        train({ ...TRAIN_DEFAULTS, steps: 2, checkpointEvery: 0 }, {
          params: [{ name: 'w', variable: w, decay: true }],
          memory: { act: { what: 'a 1M-parameter toy', perExample: 1e5, largestPerExample: 1e4 }, batch: 64 },
          loss: () => (calls++, tf.sum(w) as tf.Scalar),
        }),
        (e: unknown) => e instanceof ConfigError && /a training step of a 1M-parameter toy at batch 64 needs about .*REPRO_MEMORY_LIMIT_GB=0\.01/.test((e as Error).message),
      );
      assert.equal(calls, 0);
    } finally {
      if (saved === undefined) delete process.env.REPRO_MEMORY_LIMIT_GB;
      else process.env.REPRO_MEMORY_LIMIT_GB = saved;
      w.dispose();
    }
  });
});
