/**
 * The one training loop every experiment uses: AdamW with a warm-up + cosine schedule, gradient
 * clipping, optional EMA of weights, progress with ETA, a metrics line every `logEvery` steps,
 * periodic evaluation, atomic checkpoints with exact resume, and a clear stop on a non-finite loss.
 *
 * Resumability contract: `task.loss(step)` must draw all its randomness (batch order, masks, noise)
 * from the run's seed and `step` (or from state exposed through getState/setState), so a run that
 * resumes from a checkpoint at step s continues exactly as if it had never stopped.
 */
import * as fs from 'fs';
import * as tf from '@tensorflow/tfjs';
import { checkNumber, checkPositiveInt, ConfigError, NonFiniteLossError } from '../errors';
import { AdamW, ADAMW_DEFAULTS, AdamWConfig, validateAdamW } from './adamw';
import { loadCheckpoint, restoreVariables, saveCheckpoint, Json } from './checkpoint';
import { Ema } from './ema';
import { InterruptedError, stopRequested } from './interrupt';
import { checkDevice, currentAdapter, readable } from '../backend/webgpu';
import { ActivationEstimate, checkStepMemory, trainingMemoryLimit } from './memory';
import { checkUniqueNames, Param } from './params';
import { learningRate, ScheduleConfig, validateSchedule } from './schedule';

export interface TrainConfig {
  /** Number of optimiser steps. */
  steps: number;
  /** Learning-rate schedule (peak lr, warm-up fraction, final ratio). */
  schedule: ScheduleConfig;
  /** AdamW hyperparameters. */
  optimizer: AdamWConfig;
  /** EMA decay of the weights; 0 disables EMA. */
  ema: number;
  /** Record the mean training loss (and emit a log line) every this many steps. */
  logEvery: number;
  /** Write a checkpoint every this many steps (and always at the end); 0 = only at the end. */
  checkpointEvery: number;
  /**
   * Gradient accumulation: each optimiser step averages the gradients of this many equal
   * micro-batches (`task.loss(step, { index, count })`), so a batch too large for the device
   * still runs (the official MAE accumulates 4). Absent = 1: one batch per step. Kept out of
   * TRAIN_DEFAULTS so existing resolved configs (and their run ids) do not change.
   */
  accumSteps?: number;
}

export const TRAIN_DEFAULTS: TrainConfig = {
  steps: 1000,
  schedule: { lr: 1e-3, warmupFraction: 0.05, minRatio: 0 },
  optimizer: ADAMW_DEFAULTS,
  ema: 0,
  logEvery: 10,
  checkpointEvery: 200,
};

/**
 * `c` without `accumSteps` when it is 1 (one batch per step): an experiment may offer the field in its
 * defaults while its run configs, and so its run ids, stay those of the records made before it existed.
 */
export function withoutUnitAccum(c: TrainConfig): TrainConfig {
  if (c.accumSteps !== 1) return c;
  const { accumSteps: _one, ...rest } = c;
  return rest;
}

/** The most steps a run may ask for (10⁷: years on this machine; a typo such as 1e12 is refused, not started). */
export const MAX_TRAIN_STEPS = 10_000_000;

export function validateTrain(c: TrainConfig, where = 'train'): void {
  checkNumber(`${where}.steps`, c.steps, { lo: 1, hi: MAX_TRAIN_STEPS, integer: true });
  validateSchedule(c.schedule, `${where}.schedule`);
  validateAdamW(c.optimizer, `${where}.optimizer`);
  checkNumber(`${where}.ema`, c.ema, { lo: 0, hi: 1, hiOpen: true });
  checkPositiveInt(`${where}.logEvery`, c.logEvery);
  checkNumber(`${where}.checkpointEvery`, c.checkpointEvery, { lo: 0, integer: true });
  if (c.accumSteps !== undefined) checkPositiveInt(`${where}.accumSteps`, c.accumSteps);
  // Resumed runs must log exactly the windows an uninterrupted run logs.
  if (c.checkpointEvery % c.logEvery !== 0) {
    throw new ConfigError(`${where}.checkpointEvery must be a multiple of ${where}.logEvery (${c.logEvery}); got ${c.checkpointEvery}`);
  }
}

/** What the loop trains. */
export interface TrainTask {
  params: Param[];
  /**
   * The scalar loss of training step `step` (0-based). Called inside tf.variableGrads. With
   * `accumSteps` k > 1 it is called k times per step with `micro` = { index: 0..k-1, count: k }
   * and must return the mean loss of the index-th of k equal slices of that step's batch.
   */
  loss(step: number, micro?: { index: number; count: number }): tf.Scalar;
  /**
   * Called (and awaited) before each step's loss: asynchronous input work such as decoding the
   * step's images in a worker pool (lib/data/imagefolder.ts), which `loss` then reads synchronously.
   */
  prepare?(step: number): Promise<void>;
  /** Extra state to checkpoint (data sampler position, RNG state). */
  getState?(): Json;
  setState?(state: Json): void;
  /**
   * The step's memory, checked before the first step (memory.ts): activations per example and the
   * batch of one optimiser step. A step that does not fit is a ConfigError naming the batch that fits.
   */
  memory?: { act: ActivationEstimate; batch: number };
  /**
   * With train.ema > 0 the finished model's weights are replaced by their EMA (every study's final evaluation then
   * uses the EMA weights); true: the caller keeps the live weights and uses `result.ema` itself (diffusion).
   */
  ownsEma?: boolean;
  /**
   * Evaluation (e.g. validation perplexity) every `every` steps (0: none periodic), at the steps listed in
   * `at`, and after the last step. `fn` returns the same metric names at every call (the curves stay aligned).
   */
  evaluate?: { every: number; at?: readonly number[]; fn(step: number): Promise<Record<string, number>> | Record<string, number> };
}

export interface TrainOptions {
  /** Where to checkpoint; null = no checkpoints (tests). */
  checkpointFile?: string | null;
  /** Called after every step. */
  progress?: (done: number, total: number, info: string) => void;
  /** Called every `logEvery` steps and after each evaluation with a JSON metrics line. */
  log?: (line: { [k: string]: Json }) => void;
  /** Stop after this many steps of this call (simulates an interruption in tests). */
  stopAfter?: number;
}

export interface TrainResult {
  /** Mean training loss over each logging window: `step` is the window's last step (1-based count). */
  history: { step: number[]; loss: number[]; lr: number[]; gradNorm: number[] };
  /** Evaluation metrics by step. */
  evals: { step: number[]; [metric: string]: number[] };
  /** Steps completed (equals config.steps unless stopped early). */
  stepsDone: number;
  /** Training wall time in seconds, summed over resumed sessions. */
  trainSeconds: number;
  /** The step the run resumed from, or null when it started fresh. */
  resumedFrom: number | null;
  /** EMA weights, when enabled (the caller disposes the result). */
  ema: Ema | null;
  optimizer: AdamW;
  dispose(): void;
}

interface LoopState {
  step: number;
  adamT: number;
  trainSeconds: number;
  history: TrainResult['history'];
  evals: TrainResult['evals'];
  task: Json;
  /** The open logging window (a checkpoint written on a signal falls between two log steps). */
  window?: { loss: number; norm: number; n: number };
}

export async function train(config: TrainConfig, task: TrainTask, opts: TrainOptions = {}): Promise<TrainResult> {
  validateTrain(config);
  if (task.evaluate) checkEvalSteps('evaluate.at', task.evaluate.at ?? [], config.steps);
  checkUniqueNames(task.params);
  if (task.memory) {
    const adapter = tf.getBackend() === 'webgpu' ? currentAdapter() : null;
    checkStepMemory({
      paramCount: task.params.reduce((s, p) => s + p.variable.size, 0),
      act: task.memory.act,
      batch: task.memory.batch,
      accumSteps: config.accumSteps ?? 1,
      ema: config.ema > 0,
      limit: trainingMemoryLimit(tf.getBackend(), adapter?.limits.maxStorageBufferBindingSize),
    });
  }
  const optimizer = new AdamW(task.params, config.optimizer);
  const ema = config.ema > 0 ? new Ema(task.params, config.ema) : null;
  const file = opts.checkpointFile ?? null;
  const tensorsOf = () => [
    ...task.params.map((p) => ({ name: p.name, variable: p.variable })),
    ...task.params.map((p, i) => ({ name: `adam_m/${p.name}`, variable: optimizer.m[i] })),
    ...task.params.map((p, i) => ({ name: `adam_v/${p.name}`, variable: optimizer.v[i] })),
    ...(ema ? task.params.map((p, i) => ({ name: `ema/${p.name}`, variable: ema.shadow[i] })) : []),
  ];

  let s: LoopState = {
    step: 0,
    adamT: 0,
    trainSeconds: 0,
    history: { step: [], loss: [], lr: [], gradNorm: [] },
    evals: { step: [] },
    task: null,
  };
  let windowLoss = 0;
  let windowNorm = 0;
  let windowN = 0;
  let resumedFrom: number | null = null;
  let lastGood: string | null = null;
  if (file) {
    const ck = loadCheckpoint(file);
    if (ck) {
      restoreVariables(ck, tensorsOf(), file);
      s = ck.state as unknown as LoopState;
      optimizer.t = s.adamT;
      if (task.setState && s.task !== null) task.setState(s.task);
      resumedFrom = s.step;
      lastGood = file;
      // Said once, in the log the runner reads (it prints "resumed from step N of M"; issue 30, 4).
      if (s.step < config.steps) opts.log?.({ resumedFrom: s.step, steps: config.steps });
      if (s.window) ({ loss: windowLoss, norm: windowNorm, n: windowN } = s.window);
    }
  }
  const save = () => {
    if (!file) return;
    s.adamT = optimizer.t;
    s.task = task.getState ? task.getState() : null;
    s.window = windowN > 0 ? { loss: windowLoss, norm: windowNorm, n: windowN } : undefined;
    saveCheckpoint(file, tensorsOf().map((t) => ({ name: t.name, tensor: t.variable })), s as unknown as Json);
    lastGood = file;
  };
  /** `save` after making every tensor readable synchronously (webgpu reads GPU memory only with await). */
  const saveReadable = async () => {
    if (!file) return;
    await readable(tensorsOf().map((t) => t.variable));
    save();
  };
  const varList = task.params.map((p) => p.variable);
  const accum = config.accumSteps ?? 1;
  /** Loss and gradients of one step: one batch, or the mean over `accum` micro-batches. */
  const lossAndGrads = async (step: number): Promise<{ loss: number; grads: tf.NamedTensorMap }> => {
    if (accum === 1) {
      const { value, grads } = tf.variableGrads(() => task.loss(step), varList);
      const loss = (await value.data())[0];
      value.dispose();
      return { loss, grads };
    }
    let sum: tf.NamedTensorMap | null = null;
    let lossSum = 0;
    for (let j = 0; j < accum; j++) {
      const { value, grads } = tf.variableGrads(() => task.loss(step, { index: j, count: accum }), varList);
      lossSum += (await value.data())[0];
      value.dispose();
      const prev: tf.NamedTensorMap | null = sum;
      // mean of the micro-batch means = the full batch's mean (equal slices)
      sum = tf.tidy(() => {
        const out: tf.NamedTensorMap = {};
        for (const [name, g] of Object.entries(grads)) out[name] = prev ? tf.add(prev[name], tf.mul(g, 1 / accum)) : tf.mul(g, 1 / accum);
        return out;
      });
      tf.dispose(grads);
      if (prev) tf.dispose(prev);
    }
    return { loss: lossSum / accum, grads: sum! };
  };
  const result = (): TrainResult => ({
    history: s.history,
    evals: s.evals,
    stepsDone: s.step,
    trainSeconds: s.trainSeconds,
    resumedFrom,
    ema,
    optimizer,
    dispose: () => {
      optimizer.dispose();
      ema?.dispose();
    },
  });
  const evaluate = async (step: number) => {
    if (!task.evaluate) return;
    const m = ema ? await ema.withEmaWeights(() => task.evaluate!.fn(step)) : await task.evaluate.fn(step);
    s.evals.step.push(step);
    for (const [k, v] of Object.entries(m)) (s.evals[k] ??= []).push(v);
    opts.log?.({ step, ...m });
  };

  let sessionStart = Date.now();
  let stepsThisCall = 0;
  let lastYield = Date.now();
  try {
    while (s.step < config.steps) {
      // Let the event loop breathe every ~100 ms: inside a Jupyter kernel the progress output and
      // the kernel's own messages travel through it.
      if (Date.now() - lastYield > 100) {
        await new Promise((r) => setImmediate(r));
        lastYield = Date.now();
      }
      if (opts.stopAfter !== undefined && stepsThisCall >= opts.stopAfter) break;
      const signal = stopRequested();
      if (signal) {
        // SIGINT/SIGTERM/SIGHUP: save where we are (the contract makes the resume exact), then stop.
        s.trainSeconds += (Date.now() - sessionStart) / 1000;
        sessionStart = Date.now();
        if (file && stepsThisCall > 0) await saveReadable();
        const where = lastGood ? `checkpoint ${lastGood} holds step ${file && stepsThisCall > 0 ? s.step : lastCheckpointStep(lastGood)} of ${config.steps}` : 'no checkpoint was written (nothing to save yet)';
        throw new InterruptedError(`interrupted by ${signal} at step ${s.step} of ${config.steps}; ${where}`, signal, s.step, lastGood);
      }
      const step = s.step;
      const lr = learningRate(config.schedule, step, config.steps);
      if (task.prepare) await task.prepare(step);
      const { loss, grads } = await lossAndGrads(step);
      let norm = NaN;
      if (Number.isFinite(loss)) norm = await optimizer.stepAsync(grads, lr);
      tf.dispose(grads);
      checkDevice(`at step ${step}; ${lastGood ? `the last good checkpoint ${lastGood} (step ${lastCheckpointStep(lastGood)}) is intact` : 'no checkpoint was written yet'}`);
      if (!Number.isFinite(loss) || !Number.isFinite(norm)) {
        const what = !Number.isFinite(loss) ? `loss is ${loss}` : `gradient norm is ${norm} (loss ${loss.toPrecision(4)})`;
        const ck = lastGood ? `the last good checkpoint ${lastGood} (step ${lastCheckpointStep(lastGood)}) is intact` : 'no checkpoint was written yet';
        throw new NonFiniteLossError(`training stopped at step ${step}: ${what}; ${ck}. Lower the learning rate or check the inputs.`, step, Number.isFinite(loss) ? norm : loss, lastGood);
      }
      ema?.update();
      s.step += 1;
      stepsThisCall += 1;
      windowLoss += loss;
      windowNorm += norm;
      windowN += 1;
      if (s.step % config.logEvery === 0 || s.step === config.steps) {
        s.history.step.push(s.step);
        s.history.loss.push(windowLoss / windowN);
        s.history.lr.push(lr);
        s.history.gradNorm.push(windowNorm / windowN);
        opts.log?.({ step: s.step, loss: windowLoss / windowN, lr, gradNorm: windowNorm / windowN });
        windowLoss = windowNorm = windowN = 0;
      }
      opts.progress?.(s.step, config.steps, `loss ${loss.toFixed(4)}`);
      const ev = task.evaluate;
      const evalNow = !!ev && ((ev.every > 0 && s.step % ev.every === 0) || (ev.at?.includes(s.step) ?? false) || s.step === config.steps);
      const ckNow = s.step === config.steps || (config.checkpointEvery > 0 && s.step % config.checkpointEvery === 0);
      if (evalNow || ckNow) {
        s.trainSeconds += (Date.now() - sessionStart) / 1000;
        if (evalNow) await evaluate(s.step);
        if (ckNow) await saveReadable();
        sessionStart = Date.now();
      }
    }
  } catch (e) {
    optimizer.dispose();
    ema?.dispose();
    throw e;
  }
  if (s.step < config.steps) s.trainSeconds += (Date.now() - sessionStart) / 1000;
  // train.ema > 0: a finished run's model holds the EMA weights (after the last checkpoint, which keeps both),
  // so a study's final evaluation uses them; a task that evaluates with result.ema itself says so (ownsEma).
  if (ema && !task.ownsEma && s.step === config.steps) task.params.forEach((p, i) => p.variable.assign(ema.shadow[i]));
  return result();
}

/** Evaluation steps: integers in [1, steps], ascending, no repeats; a ConfigError names the first that is not. */
export function checkEvalSteps(name: string, at: readonly number[], steps: number): void {
  if (!Array.isArray(at)) throw new ConfigError(`${name} must be a list of steps in [1, ${steps}]; got ${JSON.stringify(at)}`);
  at.forEach((x, i) => {
    if (!Number.isInteger(x) || x < 1 || x > steps) throw new ConfigError(`${name}[${i}] must be an integer step in [1, ${steps}] (the run's steps); got ${JSON.stringify(x)}`);
    if (i > 0 && x <= at[i - 1]) throw new ConfigError(`${name} must be ascending without repeats; ${name}[${i}] = ${x} follows ${at[i - 1]}`);
  });
}

function lastCheckpointStep(file: string): string {
  try {
    const ck = loadCheckpoint(file);
    return String((ck?.state as { step?: number } | null)?.step ?? '?');
  } catch {
    return '?';
  }
}

/** True when `file` holds a checkpoint of a finished run of `steps` steps. */
export function checkpointDone(file: string, steps: number): boolean {
  if (!fs.existsSync(file)) return false;
  const ck = loadCheckpoint(file);
  return ((ck?.state as { step?: number } | null)?.step ?? 0) >= steps;
}
