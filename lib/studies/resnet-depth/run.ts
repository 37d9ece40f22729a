/**
 * One run of resnet-depth: a residual MLP of the row's wiring and depth trained on the teacher task or on
 * Fashion-MNIST; both record the same cost columns (parameters, time per step) and the wiring's routing.
 */
import * as tf from '@tensorflow/tfjs';
import * as path from 'path';
import { BatchSampler, BatchSamplerState, gatherImages, gatherLabels, limitSet, loadFashionMnist } from '../../data';
import { Teacher, teacherInputs } from '../../data/teacher';
import { ResMlpClassifier } from '../../models/resmlp';
import { train, type TrainResult, type TrainTask } from '../../train/loop';
import type { Json, RunContext, RunResult, RunSpec } from '../../runner/types';
import { wiringLabel, type ResnetDepthRunConfig } from './spec';

export async function runOne(spec: RunSpec, ctx: RunContext): Promise<RunResult> {
  const c = spec.config as unknown as ResnetDepthRunConfig;
  return c.task === 'teacher' ? runTeacher(spec, c, ctx) : runFashion(spec, c, ctx);
}

/** The teacher task: fresh inputs each step (seeded by the run's seed and the step), MSE on standardised targets. */
async function runTeacher(spec: RunSpec, c: ResnetDepthRunConfig, ctx: RunContext): Promise<RunResult> {
  const t = c.teacher!;
  const teacher = new Teacher(t);
  // Test inputs from the teacher's seed: the same test set for every run of the study.
  const testX = teacherInputs(t.inputs, c.testExamples, t.seed + 2);
  const testY = teacher.targets(testX);
  const model = new ResMlpClassifier({ inputs: t.inputs, width: c.width, blocks: c.blocks, layersPerBlock: c.layersPerBlock, classes: t.outputs, wiring: c.wiring }, spec.seed);
  const mse = (x: tf.Tensor2D, y: tf.Tensor2D) => tf.tidy(() => tf.mean(tf.square(tf.sub(model.logits(x), y))) as tf.Scalar);
  const testMse = () =>
    tf.tidy(() => mse(tf.tensor2d(testX, [c.testExamples, t.inputs]), tf.tensor2d(testY, [c.testExamples, t.outputs])).dataSync()[0]);
  const task: TrainTask = {
    params: model.params,
    loss: (step) => {
      // Batch `step` of seed s is drawn from (s, step) alone: a resumed run sees the same batches.
      const x = teacherInputs(t.inputs, c.batch, 1_000_003 * (spec.seed + 1) + step);
      const y = teacher.targets(x);
      return tf.tidy(() => mse(tf.tensor2d(x, [c.batch, t.inputs]), tf.tensor2d(y, [c.batch, t.outputs])));
    },
    evaluate: { every: Math.max(c.train.logEvery, Math.floor(c.train.steps / 12 / c.train.logEvery) * c.train.logEvery), fn: () => ({ testMse: testMse() }) },
  };
  return trainDepthRun(c, ctx, model, task, (result) => ({
    lead: { task: 'teacher' },
    scores: { testMse: result.evals.testMse[result.evals.testMse.length - 1] },
    history: { evalStep: result.evals.step, testMse: result.evals.testMse },
  }));
}

async function runFashion(spec: RunSpec, c: ResnetDepthRunConfig, ctx: RunContext): Promise<RunResult> {
  const trainSet = limitSet(loadFashionMnist('train'), c.trainExamples);
  const testSet = limitSet(loadFashionMnist('test'), c.testExamples);
  const P = trainSet.height * trainSet.width;
  const model = new ResMlpClassifier(
    { inputs: P, width: c.width, blocks: c.blocks, layersPerBlock: c.layersPerBlock, classes: trainSet.classes.length, wiring: c.wiring },
    spec.seed,
  );
  let sampler = new BatchSampler(trainSet.n, c.batch, spec.seed);
  const task: TrainTask = {
    params: model.params,
    loss: () => {
      const idx = sampler.next();
      const x = tf.tensor2d(gatherImages(trainSet, idx), [idx.length, P]); // [B, P]
      const y = tf.tensor1d(gatherLabels(trainSet, idx), 'int32'); // [B]
      return model.loss(x, y);
    },
    getState: () => sampler.state() as unknown as Json,
    setState: (s) => {
      sampler = BatchSampler.fromState(s as unknown as BatchSamplerState);
    },
  };
  return trainDepthRun(c, ctx, model, task, () => {
    const testAccuracy = model.accuracy(testSet.images, testSet.labels);
    const nTrainEval = Math.min(trainSet.n, 10000);
    const trainAccuracy = model.accuracy(trainSet.images.subarray(0, nTrainEval * P), trainSet.labels.subarray(0, nTrainEval));
    return { lead: {}, scores: { testAccuracy, trainAccuracy }, history: {} };
  });
}

/** What a task adds to the shared record: metrics before and after the shape columns, and curves. */
interface TaskScores {
  /** Metrics placed first (the teacher task's name). */
  lead: { [k: string]: string };
  /** The task's scores, after wiring, blocks and layers. */
  scores: { [k: string]: number };
  /** Curves beside the loss. */
  history: { [k: string]: number[] };
}

/**
 * Trains `model` on `task` (resuming from the run's checkpoint), scores it, and returns the record both tasks
 * share: the row's shape, the task's scores, the final loss, parameter counts, wall and CPU time per step,
 * and the wiring's routing. Disposes of the model.
 */
async function trainDepthRun(c: ResnetDepthRunConfig, ctx: RunContext, model: ResMlpClassifier, task: TrainTask, score: (result: TrainResult) => TaskScores): Promise<RunResult> {
  try {
    const cpu0 = process.cpuUsage();
    const result = await train(c.train, task, { checkpointFile: path.join(ctx.checkpointDir, 'ckpt.bin'), progress: ctx.progress, log: ctx.log });
    const cpu = process.cpuUsage(cpu0);
    const stepsThisSession = c.train.steps - (result.resumedFrom ?? 0);
    const s = score(result);
    const overhead = model.wiring.overhead();
    const coefficients = model.wiring.coefficients();
    result.dispose();
    const { step, loss } = result.history;
    return {
      metrics: {
        ...s.lead,
        wiring: wiringLabel(c.wiring),
        blocks: c.blocks,
        layers: c.blocks * c.layersPerBlock,
        ...s.scores,
        finalLoss: loss[loss.length - 1],
        params: model.paramCount(),
        wiringParams: overhead.trainable,
        msPerStep: (1000 * result.trainSeconds) / c.train.steps,
        // One core's CPU time per step in this session (wall time is inflated when the cores are shared).
        cpuMsPerStep: stepsThisSession > 0 ? (cpu.user + cpu.system) / 1000 / stepsThisSession : null,
        trainSeconds: result.trainSeconds,
      },
      history: { step, loss, ...s.history },
      extra: { routing: coefficients, wiringDescription: model.wiring.describe() },
    };
  } finally {
    model.dispose();
  }
}
