/**
 * The GPU check in one command (`npm run gpu-check`, < 8 minutes on one GPU): what a researcher runs
 * first on a GPU machine, and what this project runs on an NVIDIA machine when one is available.
 *
 *   1. the engine line (adapter, Dawn backend, limits)
 *   2. matmul throughput: an N×N·N×N float32 product, TFLOP/s over a few repetitions after a warm-up
 *   3. one training step (forward, backward, AdamW) of paper A's ViT-B/16 MAE at batch 64 and of paper
 *      B's LLaMA-60M at batch 64 × 256: ms per step and memory (the loop's estimate, and what the engine
 *      holds after the step)
 *   4. a few hundred steps of the smallest paper model (LLaMA-60M) on real text (the Brown corpus,
 *      a BPE learned on its training split): the loss (mean of a logging window) must fall by at least
 *      0.3 nats from the first window to the last, or the check fails
 *
 * `tiny`: the same four parts at sizes llvmpipe runs in under a minute (the test runs it).
 * Reads GPU memory only with await (webgpu). Returns the report; `log` gets each line as it comes.
 */
import * as tf from '@tensorflow/tfjs';
import { describeEngine, initEngine, type EngineInfo } from '../../backend';
import { loadBrown } from '../../data/brown';
import { SequenceSampler } from '../../data/batches';
import { sequenceBatchTensors } from '../../data/tensors';
import { brownTokenizer } from '../../data/tokenizer';
import { Llama, llamaActivations, LLAMA_PRESETS, type LlamaConfig } from '../../models/llama';
import { Mae, maeActivations, MAE_PRESETS, type MaeConfig } from '../../models/mae';
import { AdamW, ADAMW_DEFAULTS } from '../../train/adamw';
import { stepMemory, type ActivationEstimate } from '../../train/memory';
import type { Param } from '../../train/params';
import { train, TRAIN_DEFAULTS } from '../../train/loop';

export interface GpuCheckReport {
  engine: string;
  info: EngineInfo;
  matmul: { n: number; seconds: number; tflops: number; relError: number };
  steps: { model: string; batch: string; msPerStep: number; estimateGiB: number; engineGiB: number | null }[];
  convergence: { model: string; steps: number; firstLoss: number; lastLoss: number; fell: boolean; seconds: number };
  seconds: number;
}

const gib = (b: number) => b / 2 ** 30;

async function timeIt(f: () => Promise<void>, reps: number): Promise<number> {
  await f(); // warm-up: shader compilation, buffer pools
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await f();
  return (performance.now() - t0) / 1000 / reps;
}

async function matmulCheck(n: number): Promise<GpuCheckReport['matmul']> {
  const a = tf.randomUniform([n, n], -1, 1, 'float32', 1);
  const b = tf.randomUniform([n, n], -1, 1, 'float32', 2);
  const seconds = await timeIt(async () => {
    const c = tf.matMul(a, b);
    await c.data();
    c.dispose();
  }, 3);
  // correctness of a corner against float64 on the host
  const k = Math.min(n, 64);
  const [ah, bh, ch] = await Promise.all([a.slice([0, 0], [k, n]).data(), b.slice([0, 0], [n, k]).data(), tf.matMul(a.slice([0, 0], [k, n]), b.slice([0, 0], [n, k])).data()]);
  let worst = 0;
  let scale = 1;
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let t = 0; t < n; t++) s += ah[i * n + t] * bh[t * k + j];
      worst = Math.max(worst, Math.abs(s - ch[i * k + j]));
      scale = Math.max(scale, Math.abs(s));
    }
  tf.dispose([a, b]);
  return { n, seconds, tflops: (2 * n ** 3) / seconds / 1e12, relError: worst / scale };
}

/** ms per training step (forward, backward, AdamW) after a warm-up step, and memory. */
async function stepCheck(
  name: string,
  batch: string,
  examples: number,
  act: ActivationEstimate,
  build: () => { vars: Param[]; loss: () => tf.Scalar; dispose(): void },
): Promise<GpuCheckReport['steps'][number]> {
  const m = build();
  const estimate = stepMemory(m.vars.reduce((n, p) => n + p.variable.size, 0), act, examples, false).total;
  const opt = new AdamW(m.vars, { ...ADAMW_DEFAULTS });
  try {
    const seconds = await timeIt(async () => {
      const { value, grads } = tf.variableGrads(m.loss, m.vars.map((p) => p.variable));
      await opt.stepAsync(grads, 1e-4);
      await value.data();
      tf.dispose([value, ...Object.values(grads)]);
    }, 2);
    const mem = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
    return { model: name, batch, msPerStep: 1000 * seconds, estimateGiB: gib(estimate), engineGiB: mem.numBytesInGPU != null ? gib(mem.numBytesInGPU) : gib(mem.numBytes) };
  } finally {
    opt.dispose();
    m.dispose();
  }
}

export async function gpuCheck(opts: { tiny?: boolean; log?: (line: string) => void } = {}): Promise<GpuCheckReport> {
  const t0 = Date.now();
  const tiny = !!opts.tiny;
  const log = opts.log ?? (() => {});
  const info = await initEngine();
  log(`engine: ${describeEngine(info)}`);

  const matmul = await matmulCheck(tiny ? 256 : 4096);
  log(`matmul ${matmul.n}³ float32: ${(matmul.seconds * 1000).toFixed(1)} ms, ${matmul.tflops.toFixed(3)} TFLOP/s (relative error ${matmul.relError.toExponential(1)} vs float64)`);

  const steps: GpuCheckReport['steps'] = [];
  // paper A: ViT-B/16 MAE (mae_vit_base_patch16_dec512d8b) at batch 64
  const vit = MAE_PRESETS.mae_vit_base_patch16_dec512d8b;
  const maeCfg: MaeConfig = tiny
    ? { ...vit, encoder: { ...vit.encoder, image: 32, patch: 8, width: 64, depth: 2, heads: 2 }, decoderWidth: 32, decoderDepth: 1, decoderHeads: 2 }
    : vit;
  const maeBatch = tiny ? 4 : 64;
  {
    const S = maeCfg.encoder.image;
    steps.push(
      await stepCheck(tiny ? 'MAE (tiny ViT)' : 'ViT-B/16 MAE', `${maeBatch}`, maeBatch, maeActivations(maeCfg), () => {
        const model = new Mae(maeCfg, 'gpu-check-mae');
        const x = tf.randomUniform([maeBatch, S, S, maeCfg.encoder.channels], 0, 1, 'float32', 3);
        return { vars: model.params(), loss: () => model.loss(x, 7), dispose: () => (x.dispose(), model.dispose()) };
      }),
    );
  }
  // paper B: LLaMA-60M at batch 64 × 256
  const l60 = LLAMA_PRESETS['llama-60m'];
  const lmCfg: LlamaConfig = tiny ? { ...l60, vocabSize: 512, width: 64, depth: 2, heads: 2, mlpHidden: 128, maxSeqLen: 32 } : l60;
  const [B, T] = tiny ? [4, 16] : [64, 256];
  steps.push(
    await stepCheck(tiny ? 'LLaMA (tiny)' : 'LLaMA-60M', `${B}×${T}`, B, llamaActivations(lmCfg, T), () => {
      const model = new Llama(lmCfg, 'gpu-check-llama');
      const x = tf.randomUniform([B, T], 0, lmCfg.vocabSize, 'int32', 4) as tf.Tensor2D;
      const y = tf.randomUniform([B, T], 0, lmCfg.vocabSize, 'int32', 5) as tf.Tensor2D;
      return { vars: model.params(), loss: () => model.loss(x, y), dispose: () => (tf.dispose([x, y]), model.dispose()) };
    }),
  );
  const size = (g: number | null) => (g == null ? '?' : g < 1 ? `${(g * 1024).toFixed(1)} MiB` : `${g.toFixed(2)} GiB`);
  for (const s of steps) log(`step ${s.model} at batch ${s.batch}: ${s.msPerStep.toFixed(1)} ms; memory estimated ${size(s.estimateGiB)} (lib/train/memory.ts); the engine held ${size(s.engineGiB)} after the step`);

  // a few hundred steps of the smallest paper model on real text: the loss must fall
  const nSteps = tiny ? 24 : 300;
  const vocab = tiny ? 256 : 8192;
  const corpus = loadBrown();
  const tok = brownTokenizer(vocab, { docs: corpus.train });
  const tokens = await tok.encodeDocs(tiny ? corpus.train.slice(0, 20) : corpus.train);
  const convCfg: LlamaConfig = tiny ? { ...lmCfg, vocabSize: vocab } : l60;
  const model = new Llama(convCfg, 'gpu-check-converge');
  const sampler = SequenceSampler.create(tokens, T, B, 0);
  const tc = Date.now();
  try {
    const result = await train(
      { ...TRAIN_DEFAULTS, steps: nSteps, logEvery: tiny ? 4 : 25, checkpointEvery: 0, schedule: { lr: tiny ? 1e-2 : 1e-3, warmupFraction: 0.1, minRatio: 0.1 }, optimizer: { ...ADAMW_DEFAULTS, weightDecay: 0, clipNorm: 1 } },
      {
        params: model.params(),
        memory: { act: llamaActivations(convCfg, T, 'gpu-check LLaMA'), batch: B },
        loss: () => {
          const { inputs, targets } = sequenceBatchTensors(sampler.next());
          try {
            return model.loss(inputs, targets);
          } finally {
            tf.dispose([inputs, targets]);
          }
        },
      },
      { log: (l) => log(`  step ${l.step}: loss ${(l.loss as number).toFixed(3)}`) },
    );
    const loss = result.history.loss;
    result.dispose();
    const convergence = { model: tiny ? 'LLaMA (tiny)' : 'LLaMA-60M', steps: nSteps, firstLoss: loss[0], lastLoss: loss[loss.length - 1], fell: loss[loss.length - 1] <= loss[0] - 0.3, seconds: (Date.now() - tc) / 1000 };
    log(`${convergence.model}, ${nSteps} steps on Brown (${tokens.length} tokens, BPE ${vocab}): loss ${convergence.firstLoss.toFixed(3)} → ${convergence.lastLoss.toFixed(3)} (${convergence.fell ? 'falls' : 'DOES NOT FALL'}) in ${convergence.seconds.toFixed(1)} s`);
    return { engine: info.engine, info, matmul, steps, convergence, seconds: (Date.now() - t0) / 1000 };
  } finally {
    model.dispose();
  }
}
