/**
 * The training steps `npm run bench` times (scripts/bench.ts), each with the loss, the model's
 * parameters and the AdamW settings of the configuration it stands for:
 *
 *  - 'transformer': the benchmark model, TransformerStack (4 pre-LN layers, width 128, 4 heads,
 *    MLP 512, causal), batch 64 × 50 tokens, MSE loss, ADAMW_DEFAULTS; PyTorch runs the same.
 *  - 'ancre-lm': the ancre-lm experiment's cpu preset, its deepest model (8 LLaMA layers, width
 *    64, SwiGLU 176, vocab 4096) with the ancre-in wiring, batch 16 × 64 tokens of random ids
 *    (the step's cost does not depend on the text), the preset's AdamW.
 *  - 'mae': the mae-sweep experiment's cpu preset model (ViT encoder + decoder on 28×28 images,
 *    75% masking), batch 128 random images, the preset's AdamW.
 *
 * It imports only library code that predates the fused kernels, so the benchmark can compile it
 * inside a copy of an earlier commit and time "before" in the same run
 * (`node build/scripts/bench-steps.js --child '{"net":"mae","warmup":1,"steps":5}'`).
 */
import * as tf from '@tensorflow/tfjs';
import { describeEngine, initEngine } from '../lib/backend';
import { resolveConfig } from '../lib/runner/run';
import { experiment as ancreLm, modelConfig, ANCRE_LM_WIRINGS } from '../lib/studies/ancre-lm';
import { experiment as maeSweep, maskSeed } from '../lib/studies/mae-sweep';
import { Llama } from '../lib/models/llama';
import { Mae } from '../lib/models/mae';
import { TransformerStack, TRANSFORMER_DEFAULTS, TransformerStackConfig } from '../lib/models/transformer';
import { AdamW, ADAMW_DEFAULTS, AdamWConfig } from '../lib/train/adamw';
import type { Param } from '../lib/train/params';

export type StepModel = 'transformer' | 'ancre-lm' | 'mae';
export const STEP_MODELS: readonly StepModel[] = ['transformer', 'ancre-lm', 'mae'];

export interface ModelShape {
  B: number;
  T: number;
  D: number;
  H: number;
  F: number;
  L: number;
}

export const MODEL: ModelShape = { B: 64, T: 50, D: 128, H: 4, F: 512, L: 4 };

export interface BenchStep {
  /** one training step; returns the loss */
  step(): number;
  /** one line: what this step is */
  describe: string;
  params: number;
  dispose(): void;
}

function withOptimizer(params: Param[], opt: AdamWConfig, loss: () => tf.Scalar, describe: string, dispose: () => void, lr = 1e-3): BenchStep {
  const adam = new AdamW(params, opt);
  const vars = params.map((p) => p.variable);
  return {
    step: () => {
      const { value, grads } = tf.variableGrads(loss, vars);
      adam.step(grads, lr);
      const l = value.dataSync()[0];
      value.dispose();
      tf.dispose(grads);
      return l;
    },
    describe,
    params: params.reduce((n, p) => n + p.variable.size, 0),
    dispose: () => {
      adam.dispose();
      dispose();
    },
  };
}

/** Builds the step of `model`; `m` sets the transformer's shape (ignored by the others). */
export function buildStep(model: StepModel, m: ModelShape = MODEL): BenchStep {
  if (model === 'transformer') {
    const config: TransformerStackConfig = {
      ...TRANSFORMER_DEFAULTS, width: m.D, depth: m.L, heads: m.H, mlpHidden: m.F, causal: true, zeroInitBranches: false, wiring: { kind: 'residual' }, seed: 1,
    };
    const stack = new TransformerStack(config, 'bench');
    const x = tf.randomNormal([m.B, m.T, m.D], 0, 1, 'float32', 3);
    const y = tf.randomNormal([m.B, m.T, m.D], 0, 1, 'float32', 4);
    const loss = () => tf.tidy(() => tf.mean(tf.square(tf.sub(stack.forward(x).out, y)))) as tf.Scalar;
    return withOptimizer(stack.params(), ADAMW_DEFAULTS, loss, `TransformerStack ${m.L}×${m.D}, batch ${m.B}×${m.T}`, () => {
      tf.dispose([x, y]);
      for (const p of stack.params()) p.variable.dispose();
    });
  }
  if (model === 'ancre-lm') {
    const c = resolveConfig(ancreLm, 'cpu');
    const depth = Math.max(...c.depths);
    const row = ANCRE_LM_WIRINGS.find((w) => w.label === 'ancre-in') ?? ANCRE_LM_WIRINGS[0];
    const llama = new Llama(modelConfig(c, depth, row.wiring, 0), 'bench-llama');
    const ids = (seed: number) => tf.tidy(() => tf.cast(tf.floor(tf.randomUniform([c.batch, c.seqLen], 0, c.tokenizerVocab, 'float32', seed)), 'int32')) as tf.Tensor2D;
    const inputs = ids(5);
    const targets = ids(6);
    return withOptimizer(llama.params(), c.train.optimizer, () => llama.loss(inputs, targets), `ancre-lm cpu: LLaMA ${depth}×${c.width} ${row.label}, batch ${c.batch}×${c.seqLen}`, () => {
      tf.dispose([inputs, targets]);
      llama.dispose();
    });
  }
  const c = resolveConfig(maeSweep, 'cpu');
  const mae = new Mae(c.model, 'bench-mae');
  const imgs = tf.randomUniform([c.batch, 28, 28], 0, 1, 'float32', 7);
  let k = 0;
  const e = c.model.encoder;
  return withOptimizer(mae.params(), c.train.optimizer, () => mae.loss(imgs, maskSeed(0, k++)), `mae cpu: ViT ${e.depth}×${e.width} + decoder ${c.model.decoderDepth}×${c.model.decoderWidth}, batch ${c.batch}`, () => {
    imgs.dispose();
    mae.dispose();
  });
}

export interface StepTiming {
  /** wall ms per step */
  ms: number;
  /** CPU ms (user + system) per step */
  cpuMs: number;
  /** epoch ms of the timed window */
  start: number;
  end: number;
  leaked: number;
  loss: number[];
  describe: string;
}

/** Times `steps` steps after `warmup` (the first fills per-model caches: tensors counted from the second on), from `startAt` (epoch ms) when given. */
export function timeSteps(net: BenchStep, warmup: number, steps: number, startAt?: number): StepTiming {
  const loss: number[] = [];
  for (let i = 0; i < Math.max(1, warmup); i++) loss.push(net.step());
  // a start barrier (epoch ms) so that processes timed together time the same window: sleep until then
  if (startAt !== undefined && startAt > Date.now()) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, startAt - Date.now());
  const before = tf.memory().numTensors;
  const start = Date.now();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) loss.push(net.step());
  const ms = (performance.now() - t0) / steps;
  const cu = process.cpuUsage(c0);
  return { ms, cpuMs: (cu.user + cu.system) / 1000 / steps, start, end: Date.now(), leaked: tf.memory().numTensors - before, loss, describe: net.describe };
}

if (require.main === module && process.argv[2] === '--child') {
  const task = JSON.parse(process.argv[3]) as { net: StepModel; warmup: number; steps: number; model?: ModelShape };
  initEngine({ quiet: true })
    .then((engine) => {
      const net = buildStep(task.net, task.model ?? MODEL);
      const r = timeSteps(net, task.warmup, task.steps);
      net.dispose();
      process.stdout.write(`BENCH ${JSON.stringify({ ...r, engine: describeEngine(engine) })}\n`);
    })
    .catch((e) => {
      console.error(e instanceof Error ? e.stack : e);
      process.exit(1);
    });
}
