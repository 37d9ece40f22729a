/** One run of the language-model study: build the LLaMA with its wiring, train on the token stream, evaluate. */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from '../../errors';
import { SequenceSampler, type SequenceSamplerState } from '../../data/batches';
import { sequenceBatchTensors } from '../../data/tensors';
import { DocumentSampler, splitDocuments, type DocumentSamplerState } from '../../data/documents';
import { Llama, llamaActivations } from '../../models/llama';
import { perplexityAsync } from '../../metrics/perplexity';
import { readable } from '../../backend/webgpu';
import { train } from '../../train/loop';
import type { Json, RunContext, RunResult, RunSpec } from '../../runner/types';
import { corpusTokenizer, corpusTokens } from './tokens';
import { modelConfig, type RunCfg } from './spec';
// ---------------------------------------------------------------------------------------------
// One run
// ---------------------------------------------------------------------------------------------

/** At most one progress report per `ms` (and always the last): fewer writes to a notebook's output socket. */
function throttled(progress: RunContext['progress'], ms: number): RunContext['progress'] {
  let last = 0;
  return (done, total, info) => {
    const now = Date.now();
    if (done === total || now - last >= ms) {
      last = now;
      progress(done, total, info);
    }
  };
}

export async function runOne(spec: RunSpec, ctx: RunContext): Promise<RunResult> {
  const c = spec.config as unknown as RunCfg;
  const tok = corpusTokenizer(c);
  const trainTokens = await corpusTokens(c, tok, 'train');
  const valTokens = await corpusTokens(c, tok, 'validation');
  for (const [split, ids] of [['train', trainTokens], ['validation', valTokens]] as const) {
    let max = 0;
    for (let i = 0; i < ids.length; i++) if (ids[i] > max) max = ids[i];
    if (max >= c.vocabSize) throw new ConfigError(`the ${split} tokens reach id ${max} (tokenizer ${tok.file ?? 'learned'}, ${tok.vocabSize} tokens) but the model has vocabSize ${c.vocabSize} rows: raise vocabSize`);
  }
  const model = new Llama(modelConfig(c, c.depth, c.wiring, spec.seed), 'llama');
  // Same seed ⇒ same windows in the same order for every wiring and depth.
  let sampler = SequenceSampler.create(trainTokens, c.seqLen, c.batch, spec.seed);
  const docs = c.packing === 'document' ? splitDocuments(trainTokens) : null;
  let docSampler = docs ? DocumentSampler.create(docs, c.seqLen, c.batch, spec.seed) : null;
  let stepSeqs: ReturnType<SequenceSampler['next']> | null = null;
  let stepDocs: ReturnType<DocumentSampler['next']> | null = null;
  // The routing matrix p[l][i] every routingEvery steps (kept in the checkpoint so a resumed run keeps it).
  let routing: { step: number[]; p: number[][][] } = { step: [], p: [] };
  const routingEvery = c.routingEvery ?? 0;
  const evalWith = async (windows: number | null) => {
    const r = await perplexityAsync((x) => model.logits(x), valTokens, { seqLen: c.seqLen, windows, batch: c.evalBatch });
    return r;
  };
  try {
    const result = await train(
      c.train,
      {
        params: model.params(),
        memory: { act: llamaActivations(model.config, c.seqLen, `ancre-lm ${spec.row}`), batch: c.batch },
        loss: (_step, micro) => {
          // train.accumSteps > 1: one batch per step, drawn at its first micro-batch, then its rows sliced
          const rows = <T extends tf.Tensor>(t: T): T => {
            if (!micro || micro.count === 1) return t;
            const per = t.shape[0] / micro.count;
            return tf.slice(t, [micro.index * per, 0], [per, -1]) as T;
          };
          const fresh = !micro || micro.index === 0;
          if (docSampler) {
            if (fresh) stepDocs = docSampler.next();
            const b = stepDocs!;
            return tf.tidy(() => model.loss(rows(tf.tensor2d(b.inputs, [b.batchSize, b.seqLen], 'int32')), rows(tf.tensor2d(b.targets, [b.batchSize, b.seqLen], 'int32')), rows(tf.tensor2d(b.mask, [b.batchSize, b.seqLen]))));
          }
          if (fresh) stepSeqs = sampler.next();
          const { inputs, targets } = sequenceBatchTensors(stepSeqs!);
          try {
            return tf.tidy(() => model.loss(rows(inputs), rows(targets)));
          } finally {
            tf.dispose([inputs, targets]);
          }
        },
        getState: () =>
          (docSampler ? { docSampler: docSampler.state(), routing } : routingEvery ? { sampler: sampler.state(), routing } : sampler.state()) as unknown as Json,
        setState: (s) => {
          const st = s as unknown as { sampler?: SequenceSamplerState; docSampler?: DocumentSamplerState; routing?: typeof routing };
          if (st.sampler || st.docSampler) routing = st.routing ?? routing;
          if (st.docSampler) docSampler = DocumentSampler.fromState(docs!, st.docSampler);
          else sampler = SequenceSampler.fromState(trainTokens, (st.sampler ?? s) as unknown as SequenceSamplerState);
        },
        evaluate: {
          every: c.evalEvery,
          fn: async (step: number) => {
            if (routingEvery && step % routingEvery === 0) {
              await readable(model.wiring.variables);
              routing.step.push(step);
              routing.p.push(model.wiring.coefficients());
            }
            // The shared loop awaits only here: let the event loop run (when the runner executes inside the
            // notebook's kernel, a loop that never yields starves tslab's output socket and the kernel dies).
            await new Promise((resolve) => setImmediate(resolve));
            const r = await evalWith(c.evalWindows);
            return { valLoss: r.loss, valPerplexity: r.perplexity };
          },
        },
      },
      { checkpointFile: path.join(ctx.checkpointDir, 'ckpt.bin'), progress: throttled(ctx.progress, 1000), log: ctx.log },
    );
    const final = await evalWith(c.finalEvalWindows === 0 ? null : c.finalEvalWindows);
    await readable(model.wiring.variables);
    result.dispose();
    const { step, loss } = result.history;
    const ov = model.wiring.overhead();
    return {
      metrics: {
        depth: c.depth,
        wiring: c.label,
        lr: c.train.schedule.lr,
        recipe: c.recipe ?? 'project',
        packing: c.packing ?? 'stream',
        valPerplexity: final.perplexity,
        valLoss: final.loss,
        valTokens: final.tokens,
        curveFinalPerplexity: result.evals.valPerplexity?.[result.evals.valPerplexity.length - 1] ?? null,
        finalTrainLoss: loss[loss.length - 1],
        params: model.paramCount(),
        wiringParams: ov.trainable,
        wiringStored: ov.stored,
        trainSeconds: result.trainSeconds,
        msPerStep: (1000 * result.trainSeconds) / c.train.steps,
        trainTokens: trainTokens.length,
        epochs: (c.train.steps * c.batch * c.seqLen) / trainTokens.length,
      },
      history: { step, loss, evalStep: result.evals.step, valPerplexity: result.evals.valPerplexity ?? [] },
      extra: {
        coefficients: model.wiring.coefficients(),
        wiring: model.wiring.describe(),
        tokenizer: tok.file ?? '',
        ...(routingEvery ? { routing: routing as unknown as Json } : {}),
      },
    };
  } finally {
    model.dispose();
  }
}
