import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../lib/backend';
import { top1Accuracy } from '../../lib/metrics/accuracy';

test('top1Accuracy counts argmax hits across batch boundaries, leaking nothing', async () => {
  await initEngine({ quiet: true });
  // Inputs are the logits themselves (P = C = 3): rows 0..4 predict classes 0,1,2,0,1.
  const images = new Float32Array([5, 0, 0, 0, 5, 0, 0, 0, 5, 9, 1, 1, 0, 2, 1]);
  const labels = new Int32Array([0, 1, 1, 0, 2]);
  const before = tf.memory().numTensors;
  assert.equal(top1Accuracy((x) => x.clone(), images, labels, 3, 2), 3 / 5);
  assert.equal(top1Accuracy((x) => x.clone(), images, labels, 3, 1000), 3 / 5);
  assert.equal(tf.memory().numTensors, before);
});
