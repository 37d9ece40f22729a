/**
 * Will a training step fit? An estimate of its memory, checked by the training loop before the
 * first step, so a paper batch too large for the device fails at once with the largest batch
 * that fits (or the accumulation that makes the batch fit), never minutes later in the driver.
 *
 *   bytes = 4 · (params · (1 weights + 1 gradients + 2 AdamW moments [+ 1 EMA shadow])
 *                + micro-batch · activation floats per example)
 *
 * Activations are what the autodiff tape keeps for the backward pass. For a pre-LN transformer
 * block over T tokens of width D, H heads and MLP width M (per example, in floats):
 *   12·D·T   norms, q/k/v, attention output, projections, the residual stream and its gradient
 *   3·H·T²   attention logits, probabilities, their gradient
 *   4·M·T    the MLP hidden and its activation (GELU/SwiGLU keep ~4 tensors of that width)
 * An estimate (TF.js keeps a few more elementwise temporaries at times): its purpose is the order of
 * magnitude and the batch that fits, not the exact peak.
 *
 * Besides the total, one tensor must fit one storage buffer binding on WebGPU
 * (`maxStorageBufferBindingSize`): the largest per-example tensor (attention logits [H, T, T], the
 * MLP hidden [T, M] or an LM's logits [T, V]) bounds the batch too.
 *
 * The limit: `REPRO_GPU_MEMORY` (GiB) on webgpu, since WebGPU does not report a device's memory;
 * without it, the machine's limit (lib/errors.ts memoryLimitBytes: ¾ of RAM, 4 GiB on wasm,
 * `REPRO_MEMORY_LIMIT_GB`), which is also what llvmpipe, a CPU rasteriser, draws on.
 */
import { ConfigError, checkNumber, memoryLimitBytes } from '../errors';

/** A model family's memory per example, in float32 values. */
export interface ActivationEstimate {
  /** What is estimated, for the message: `mae_vit_base_patch16 (ViT-B/16 encoder, 8-block decoder)`. */
  what: string;
  /** Floats the tape keeps per example for the backward pass. */
  perExample: number;
  /** The largest single tensor per example (floats), which one GPU buffer binding must hold. */
  largestPerExample: number;
}

export interface StepMemory {
  params: number;
  grads: number;
  optimizer: number;
  ema: number;
  activations: number;
  total: number;
  /** the largest single tensor (bytes) */
  largestTensor: number;
}

/** One pre-LN transformer block stack: `depth` blocks over `tokens` tokens. */
export function transformerActivations(a: { tokens: number; width: number; heads: number; mlpHidden: number; depth: number }): { perExample: number; largestPerExample: number } {
  const { tokens: T, width: D, heads: H, mlpHidden: M, depth } = a;
  return {
    perExample: depth * (12 * D * T + 3 * H * T * T + 4 * M * T),
    largestPerExample: Math.max(H * T * T, T * M, T * D * 3),
  };
}

/** Bytes of one optimiser step at `microBatch` examples per forward/backward pass. */
export function stepMemory(paramCount: number, act: ActivationEstimate, microBatch: number, ema: boolean): StepMemory {
  const f = 4;
  const m: StepMemory = {
    params: f * paramCount,
    grads: f * paramCount,
    optimizer: 2 * f * paramCount,
    ema: ema ? f * paramCount : 0,
    activations: f * microBatch * act.perExample,
    total: 0,
    largestTensor: f * microBatch * act.largestPerExample,
  };
  m.total = m.params + m.grads + m.optimizer + m.ema + m.activations;
  return m;
}

/** The memory one training process may plan on, and where that number came from. */
export function trainingMemoryLimit(engine: string, binding?: number): { bytes: number; source: string; binding: number | null } {
  const env = process.env.REPRO_GPU_MEMORY;
  if (engine === 'webgpu' && env !== undefined && env !== '') {
    const gb = checkNumber('REPRO_GPU_MEMORY', Number(env), { lo: 0, loOpen: true });
    return { bytes: gb * 2 ** 30, source: `REPRO_GPU_MEMORY=${env}`, binding: binding ?? null };
  }
  const source = process.env.REPRO_MEMORY_LIMIT_GB
    ? `REPRO_MEMORY_LIMIT_GB=${process.env.REPRO_MEMORY_LIMIT_GB}`
    : engine === 'webgpu'
      ? '¾ of RAM: WebGPU does not report the device memory, set REPRO_GPU_MEMORY (GiB)'
      : engine === 'wasm' || engine === 'cpu'
        ? 'the wasm heap (4 GiB) or ¾ of RAM'
        : '¾ of RAM';
  return { bytes: memoryLimitBytes(), source, binding: engine === 'webgpu' ? (binding ?? null) : null };
}

/** The fewest equal micro-batches of at most `fits` examples that make up `batch`. */
function accumFor(batch: number, fits: number): number {
  let k = Math.ceil(batch / fits);
  while (batch % k !== 0) k++;
  return k;
}

const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
const mib = (b: number) => `${Math.round(b / 2 ** 20)} MiB`;

/**
 * Throws a ConfigError before the first step when a step of `batch` examples (in `accumSteps`
 * micro-batches) does not fit: it names the estimate's parts, the limit and its source, and the
 * largest batch that fits (and, where accumulation helps, the accumSteps that make this batch fit).
 */
export function checkStepMemory(a: {
  paramCount: number;
  act: ActivationEstimate;
  batch: number;
  accumSteps: number;
  ema: boolean;
  limit: { bytes: number; source: string; binding: number | null };
}): StepMemory {
  if (a.batch % a.accumSteps !== 0) {
    throw new ConfigError(`batch ${a.batch} must be a multiple of train.accumSteps ${a.accumSteps} (equal micro-batches make the accumulated gradient the batch's)`);
  }
  const micro = a.batch / a.accumSteps;
  const m = stepMemory(a.paramCount, a.act, micro, a.ema);
  const fixed = m.params + m.grads + m.optimizer + m.ema;
  const byTotal = Math.floor((a.limit.bytes - fixed) / (4 * a.act.perExample));
  const byBinding = a.limit.binding == null ? Infinity : Math.floor(a.limit.binding / (4 * a.act.largestPerExample));
  const fitsMicro = Math.min(byTotal, byBinding);
  if (m.total <= a.limit.bytes && (a.limit.binding == null || m.largestTensor <= a.limit.binding)) return m;
  const parts = `parameters ${gib(m.params)}, gradients ${gib(m.grads)}, AdamW moments ${gib(m.optimizer)}${m.ema ? `, EMA ${gib(m.ema)}` : ''}, activations ${gib(m.activations)} for ${micro} example(s) per pass`;
  const why =
    m.total > a.limit.bytes
      ? `needs about ${gib(m.total)} (${parts}); at most ${gib(a.limit.bytes)} is available (${a.limit.source})`
      : `holds a ${mib(m.largestTensor)} tensor (the largest: ${micro} × ${a.act.largestPerExample} floats); one WebGPU buffer binding holds at most ${mib(a.limit.binding!)} (maxStorageBufferBindingSize)`;
  const fix =
    fitsMicro < 1
      ? fixed > a.limit.bytes
        ? 'not even the parameters and optimiser state fit: use a smaller model or a larger device'
        : 'not even one example fits'
      : `the largest batch per pass that fits is ${fitsMicro}${a.batch > fitsMicro ? `; keep batch ${a.batch} with train.accumSteps = ${accumFor(a.batch, fitsMicro)} (micro-batches of ${a.batch / accumFor(a.batch, fitsMicro)})` : ''}`;
  throw new ConfigError(`a training step of ${a.act.what} at batch ${a.batch}${a.accumSteps > 1 ? ` (${a.accumSteps} micro-batches)` : ''} ${why}: ${fix}`);
}
