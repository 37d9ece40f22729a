import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { DocumentSampler, splitDocuments, EOD_ID } from '../../lib/data/documents';
import { maskedTokenCrossEntropy, tokenCrossEntropy } from '../../lib/metrics/perplexity';
import { ConfigError, DataError } from '../../lib/errors';
import { initTestEngine } from '../residual/engine';

before(initTestEngine);

describe('document-per-row batches (the official LLaMA loader)', () => {
  const stream = Int32Array.from([5, 6, 7, 1, 8, 9, 1, 10, 11, 12, 13, 14, 1]);

  test('splitDocuments keeps each <eod>; rows are truncated or padded to T+1 with pads masked', () => {
    const docs = splitDocuments(stream);
    assert.deepEqual(docs.map((d) => Array.from(d)), [[5, 6, 7, 1], [8, 9, 1], [10, 11, 12, 13, 14, 1]]);
    const s = DocumentSampler.create(docs, 4, 3, 0);
    const b = s.next();
    assert.equal(b.batchSize, 3);
    const rows = [0, 1, 2].map((r) => ({
      inputs: Array.from(b.inputs.subarray(4 * r, 4 * r + 4)), targets: Array.from(b.targets.subarray(4 * r, 4 * r + 4)), mask: Array.from(b.mask.subarray(4 * r, 4 * r + 4)),
    }));
    const byFirst = new Map(rows.map((r) => [r.inputs[0], r]));
    assert.deepEqual(byFirst.get(5), { inputs: [5, 6, 7, 1], targets: [6, 7, 1, EOD_ID], mask: [1, 1, 1, 0] });
    assert.deepEqual(byFirst.get(8), { inputs: [8, 9, 1, EOD_ID], targets: [9, 1, EOD_ID, EOD_ID], mask: [1, 1, 0, 0] });
    // Longer than T+1 = 5: truncated, every target real.
    assert.deepEqual(byFirst.get(10), { inputs: [10, 11, 12, 13], targets: [11, 12, 13, 14], mask: [1, 1, 1, 1] });
  });

  test('resumes exactly from its state; bad input named', () => {
    const docs = splitDocuments(stream);
    const a = DocumentSampler.create(docs, 3, 1, 7);
    a.next();
    const b = DocumentSampler.fromState(docs, JSON.parse(JSON.stringify(a.state())));
    for (let i = 0; i < 5; i++) assert.deepEqual(Array.from(b.next().inputs), Array.from(a.next().inputs));
    assert.throws(() => DocumentSampler.create(docs, 3, 4, 0), (e: unknown) => e instanceof ConfigError && /3 documents cannot fill a batch of 4/.test((e as Error).message));
    assert.throws(() => DocumentSampler.fromState(docs.slice(1), a.state()), (e: unknown) => e instanceof DataError && /made for 3 documents; got 2/.test((e as Error).message));
    assert.throws(() => DocumentSampler.create([Int32Array.from([1])], 3, 1, 0), DataError);
  });

  test('masked cross-entropy: equals the unmasked one on the kept positions, gradient zero on pads, no leaks', () => {
    const n0 = tf.memory().numTensors;
    const logits = tf.tensor2d([[1, 2, 0.5], [0.1, -1, 2], [3, 0, 0], [0.2, 0.3, 0.4]]);
    const t = tf.tensor1d([1, 2, 0, 1], 'int32');
    const mask = tf.tensor1d([1, 0, 1, 0]);
    const kept = tf.tidy(() => tokenCrossEntropy(tf.gather(logits, [0, 2]), tf.tensor1d([1, 0], 'int32')).dataSync()[0]);
    const got = tf.tidy(() => maskedTokenCrossEntropy(logits, t, mask).dataSync()[0]);
    assert.ok(Math.abs(got - kept) < 1e-6, `${got} vs ${kept}`);
    const g = tf.tidy(() => tf.grad((l: tf.Tensor) => maskedTokenCrossEntropy(l, t, mask))(logits).arraySync() as number[][]);
    assert.ok(g[1].every((v) => v === 0), `pad row gradient ${g[1]}`);
    assert.ok(g[3].every((v) => v === 0), `pad row gradient ${g[3]}`);
    const ref = tf.tidy(() => tf.grad((l: tf.Tensor) => tf.neg(tf.sum(tf.mul(tf.gather(tf.logSoftmax(l).reshape([12]), [1, 6]), 1))))(logits).arraySync() as number[][]);
    for (const r of [0, 2]) ref[r].forEach((v, j) => assert.ok(Math.abs(g[r][j] - v) < 1e-6, `row ${r} col ${j}: ${g[r][j]} vs ${v}`));
    tf.dispose([logits, t, mask]);
    assert.equal(tf.memory().numTensors, n0);
  });
});
