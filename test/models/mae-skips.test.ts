/**
 * Paper A's encoder→decoder skips (lib/models/mae.ts, issue 28): one skip from every second encoder block
 * (2, 4, …, L), deepest first, one per decoder block. The records made before `skipLayout` cut that list to
 * the decoder's depth (a 12-block encoder with a 4-block decoder lost the skips from blocks 2 and 4).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Mae, maeSkipSources, officialMaeParamCount, validateMae, MAE_DEFAULTS, type MaeConfig } from '../../lib/models/mae';
import { initEngine } from '../../lib/backend';

const small = (decoderDepth: number, skipLayout?: 'paper'): MaeConfig => ({
  ...MAE_DEFAULTS,
  encoder: { ...MAE_DEFAULTS.encoder, image: 28, patch: 7, width: 16, depth: 12, heads: 2 },
  decoderWidth: 16,
  decoderHeads: 2,
  decoderDepth,
  ...(skipLayout ? { skipLayout } : {}),
});

test('a 12-block encoder: the paper layout takes blocks 12, 10, …, 2; the earlier records took only the deepest four', () => {
  assert.deepEqual(maeSkipSources(small(8, 'paper')), [11, 9, 7, 5, 3, 1]);
  assert.deepEqual(maeSkipSources(small(4)), [11, 9, 7, 5], 'without skipLayout: cut to the decoder depth (the earlier records)');
  assert.deepEqual(maeSkipSources(small(8)), [11, 9, 7, 5, 3, 1]);
  assert.deepEqual(maeSkipSources({ ...small(8, 'paper'), skips: false }), []);
});

test("skipLayout 'paper' with a decoder shallower than the skips is a ConfigError that says what fits", () => {
  assert.throws(() => validateMae(small(4, 'paper')), /mae\.decoderDepth 4 cannot take the 6 skips of a 12-block encoder \(skipLayout 'paper': one skip per decoder block, from encoder blocks 2, 4, …, 12\); use decoderDepth ≥ 6/);
  assert.throws(() => validateMae({ ...small(8), skipLayout: 'all' as never }), /mae\.skipLayout must be one of paper \(or absent\); got "all"/);
});

test('the built model has the documented skips and its parameter count is the official formula', async () => {
  await initEngine({ quiet: true });
  const before = tf.memory().numTensors;
  for (const [c, n] of [[small(8, 'paper'), 6], [small(6, 'paper'), 6], [small(4), 4]] as const) {
    const mae = new Mae(c, `mae-skips-${c.decoderDepth}-${c.skipLayout ?? 'legacy'}`);
    assert.equal(mae.skipLayers.length, n);
    assert.deepEqual(mae.skipFrom, maeSkipSources(c));
    if (c.skipLayout === 'paper') assert.equal(mae.paramCount(), officialMaeParamCount(c));
    else {
      // the legacy model lacks 2 of the official 6 skip layers: exactly their parameters fewer
      const De = c.encoder.width, Dd = c.decoderWidth;
      const skip = (De + Dd) * Dd + Dd + (Dd * Dd + Dd) + De;
      assert.equal(mae.paramCount(), officialMaeParamCount(c) - 2 * skip);
    }
    mae.dispose();
  }
  assert.equal(tf.memory().numTensors, before, 'no leaked tensors');
});
