import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { BatchSampler, SequenceSampler, sequenceBatches, gatherImages, gatherLabels } from '../../lib/data/batches';
import { imageBatch, labelBatch, sequenceBatchTensors } from '../../lib/data/tensors';
import type { ImageSet } from '../../lib/data/image-set';
import { ConfigError, DataError } from '../../lib/errors';

function draw(s: { next(): Int32Array }, k: number): number[][] {
  return Array.from({ length: k }, () => Array.from(s.next()));
}

describe('BatchSampler', () => {
  test('deterministic per seed; each epoch is a permutation; epochs differ', () => {
    const a = draw(new BatchSampler(10, 3, 1), 9);
    assert.deepEqual(a, draw(new BatchSampler(10, 3, 1), 9));
    assert.notDeepEqual(a, draw(new BatchSampler(10, 3, 2), 9));
    // dropLast (default): 3 batches of 3 per epoch, the 10th example of each epoch skipped
    for (let e = 0; e < 3; e++) {
      const ep = a.slice(3 * e, 3 * e + 3).flat();
      assert.equal(new Set(ep).size, 9);
      assert.ok(ep.every((i) => i >= 0 && i < 10));
    }
    assert.notDeepEqual(a.slice(0, 3), a.slice(3, 6));
    const s = new BatchSampler(10, 3, 1);
    assert.equal(s.batchesPerEpoch, 3);
    draw(s, 3);
    assert.equal(s.epoch, 0);
    s.next();
    assert.equal(s.epoch, 1);
  });

  test('without dropLast the last batch of an epoch is partial and every example is seen once', () => {
    const s = new BatchSampler(10, 4, 5, { dropLast: false });
    const b = draw(s, 3);
    assert.deepEqual(b.map((x) => x.length), [4, 4, 2]);
    assert.deepEqual(b.flat().sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(s.batchesPerEpoch, 3);
  });

  test('state round trip mid-epoch (through JSON) continues with exactly the same batches', () => {
    const ref = draw(new BatchSampler(50, 7, 123), 20);
    const s = new BatchSampler(50, 7, 123);
    draw(s, 9); // epoch 1 (7 batches per epoch), position 14
    const saved = JSON.parse(JSON.stringify(s.state()));
    assert.deepEqual(saved, { n: 50, batchSize: 7, seed: 123, epoch: 1, position: 14, dropLast: true });
    const resumed = BatchSampler.fromState(saved);
    assert.deepEqual(draw(resumed, 11), ref.slice(9));
  });

  test('bad arguments are ConfigErrors, bad states DataErrors, both naming the value', () => {
    assert.throws(() => new BatchSampler(0, 1, 1), (e: unknown) => e instanceof ConfigError && /n must be an integer in \[1, 2147483647\]; got 0/.test((e as Error).message));
    assert.throws(() => new BatchSampler(5, 8, 1), (e: unknown) => e instanceof ConfigError && /batchSize 8 is larger than n = 5 with dropLast/.test((e as Error).message));
    assert.throws(() => BatchSampler.fromState({ n: 5, batchSize: 2, seed: 1, epoch: 0, position: 6, dropLast: true }), (e: unknown) => e instanceof DataError && /position must be an integer in \[0, 5\]; got 6/.test((e as Error).message));
    assert.throws(() => BatchSampler.fromState(null as never), DataError);
    assert.throws(() => BatchSampler.fromState({ n: 5, batchSize: 2, seed: 1, epoch: 0, position: 0, dropLast: 'yes' } as never), /dropLast must be true or false/);
  });
});

describe('gather and tensors', () => {
  const set: ImageSet = {
    name: 'tiny', n: 3, height: 2, width: 2, classes: ['a', 'b'], source: 'test',
    images: Float32Array.from([0, 0.1, 0.2, 0.3, 1, 1.1, 1.2, 1.3, 2, 2.1, 2.2, 2.3]),
    labels: Int32Array.from([0, 1, 1]),
  };
  before(async () => {
    try {
      // the project's engine when it exists; otherwise the pure-JS backend
      const backend = require('../../lib/backend');
      await backend.initEngine();
    } catch {
      await tf.setBackend('cpu');
    }
  });

  test('gatherImages / gatherLabels copy the right rows and reject bad indices', () => {
    assert.deepEqual(Array.from(gatherImages(set, [2, 0])), Array.from(Float32Array.from([2, 2.1, 2.2, 2.3, 0, 0.1, 0.2, 0.3])));
    assert.deepEqual(Array.from(gatherLabels(set, [2, 0])), [1, 0]);
    assert.throws(() => gatherImages(set, [3]), /index 3 is outside tiny \[0, 3\)/);
    assert.throws(() => gatherLabels(set, [-1]), ConfigError);
  });

  test('imageBatch [B, H, W, 1], labelBatch [B] int32, sequenceBatchTensors shift by one; no leaks', () => {
    const before = tf.memory().numTensors;
    const x = imageBatch(set, [1, 2]);
    const y = labelBatch(set, [1, 2]);
    assert.deepEqual(x.shape, [2, 2, 2, 1]);
    assert.equal(y.dtype, 'int32');
    assert.deepEqual(Array.from(x.dataSync()), Array.from(Float32Array.from([1, 1.1, 1.2, 1.3, 2, 2.1, 2.2, 2.3])));
    const { inputs, targets } = sequenceBatchTensors({ data: Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), batchSize: 2, seqLen: 3 });
    assert.deepEqual(inputs.arraySync(), [[1, 2, 3], [5, 6, 7]]);
    assert.deepEqual(targets.arraySync(), [[2, 3, 4], [6, 7, 8]]);
    tf.dispose([x, y, inputs, targets]);
    assert.equal(tf.memory().numTensors, before);
  });
});

describe('SequenceSampler', () => {
  const tokens = Int32Array.from({ length: 101 }, (_, i) => i);

  test('[B, T+1] windows at multiples of T, shuffled per epoch, deterministic', () => {
    const s = sequenceBatches(tokens, 10, 4, 9);
    assert.equal(s.batchesPerEpoch, 2); // 10 windows, batches of 4, dropLast
    const b = s.next();
    assert.equal(b.data.length, 4 * 11);
    for (let r = 0; r < 4; r++) {
      const w = Array.from(b.data.subarray(r * 11, (r + 1) * 11));
      assert.equal(w[0] % 10, 0);
      assert.deepEqual(w, Array.from({ length: 11 }, (_, i) => w[0] + i)); // contiguous, includes the next window's first token
    }
    const again = sequenceBatches(tokens, 10, 4, 9).next();
    assert.deepEqual(again.data, b.data);
    assert.throws(() => sequenceBatches(tokens, 50, 3, 1), /101 tokens make 2 windows of 50\+1; need at least batchSize = 3/);
  });

  test('state round trip mid-epoch; a different token stream is refused', () => {
    const ref = sequenceBatches(tokens, 7, 3, 4);
    const all = Array.from({ length: 10 }, () => Array.from(ref.next().data));
    const s = sequenceBatches(tokens, 7, 3, 4);
    for (let i = 0; i < 3; i++) s.next(); // 14 windows -> 4 batches per epoch: stop mid-epoch
    const saved = JSON.parse(JSON.stringify(s.state()));
    const resumed = SequenceSampler.fromState(tokens, saved);
    assert.deepEqual(Array.from({ length: 7 }, () => Array.from(resumed.next().data)), all.slice(3));
    const other = tokens.slice();
    other[50] = -1;
    assert.throws(() => SequenceSampler.fromState(other, saved), (e: unknown) => e instanceof DataError && /made for a different token stream/.test((e as Error).message));
    assert.throws(() => SequenceSampler.fromState(tokens.subarray(0, 100), saved), /made for 101 tokens; got 100/);
  });
});
