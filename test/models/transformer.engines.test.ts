import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  TransformerStack,
  TRANSFORMER_DEFAULTS,
  LLAMA_STACK,
  type TransformerStackConfig,
  type ModulationHook,
} from '../../lib/models/transformer';
import { WIRING_KINDS, type WiringConfig } from '../../lib/residual';
import { initTestEngine } from '../residual/engine';
import { arrayOf, scalarOf, scalarsOf, snapshot } from '../backend/compare';

before(initTestEngine);

const small = (over: Partial<TransformerStackConfig> = {}): TransformerStackConfig => ({
  ...TRANSFORMER_DEFAULTS,
  width: 16,
  depth: 2,
  heads: 2,
  mlpHidden: 32,
  seed: 3,
  ...over,
});

function input(B: number, T: number, D: number, seed = 1): tf.Tensor3D {
  return tf.randomNormal([B, T, D], 0, 1, 'float32', seed) as tf.Tensor3D;
}

/** One plain SGD step on mean((out − target)²); returns [loss before, loss after]. */
async function sgdStep(stack: TransformerStack, x: tf.Tensor, target: tf.Tensor, lr: number): Promise<[number, number]> {
  const vars = stack.params().map((p) => p.variable);
  const lossFn = () => tf.tidy(() => tf.mean(tf.square(tf.sub(stack.forward(x).out, target))) as tf.Scalar);
  const { value, grads } = tf.variableGrads(lossFn, vars);
  for (const v of vars) {
    assert.ok(grads[v.name], `no gradient for ${v.name}`);
    tf.tidy(() => v.assign(tf.sub(v, tf.mul(grads[v.name], lr))));
  }
  const l0 = (await value.data())[0];
  tf.dispose([value, ...Object.values(grads)]);
  const l1 = await scalarOf(lossFn);
  return [l0, l1];
}

describe('TransformerStack with every wiring', () => {
  for (const kind of WIRING_KINDS) {
    test(`${kind}: one training step is finite, changes the parameters (wiring scalars too), leaks nothing`, async () => {
      const stack = new TransformerStack(small({ wiring: { kind } as WiringConfig }), `t-${kind}`);
      const x = input(2, 5, 16);
      const target = input(2, 5, 16, 7);
      const snap = await snapshot(stack.params().map((p) => p.variable));
      // ANCRe's logits get gradients ~1/τ = 100× larger than the weights': plain SGD saturates the softmax
      // in one step (AdamW's normalised steps do not), so the step is small.
      const [l0, l1] = await sgdStep(stack, x, target, 0.01);
      assert.ok(Number.isFinite(l0) && Number.isFinite(l1), `loss ${l0} -> ${l1}`);
      assert.ok(l1 < l0, `one small step lowers the loss: ${l0} -> ${l1}`);
      const before = tf.memory().numTensors; // the first step built the caches (masks, rotary tables)
      await sgdStep(stack, x, target, 0.01);
      assert.equal(tf.memory().numTensors, before, 'leaked tensors');
      // Zero-initialised output projections: step 1 moves only them; after step 2 everything upstream moves too.
      const now = await snapshot(stack.params().map((p) => p.variable));
      const changed = now.map((vals, i) => vals.some((v, j) => v !== snap[i][j]));
      assert.ok(changed.filter(Boolean).length >= stack.params().length / 2, 'most parameters move');
      stack.wiring.variables.forEach((v) => {
        const i = stack.params().findIndex((p) => p.variable === v);
        assert.ok(changed[i], `wiring scalar ${v.name} moved`);
      });
      tf.dispose([x, target]);
      stack.dispose();
    });
  }
});

describe('TransformerStack structure', () => {
  test('states = every block output; zero-initialised branches make a residual stack the identity at init', async () => {
    const stack = new TransformerStack(small({ depth: 3 }), 't-identity');
    const x = input(2, 4, 16);
    const d = await scalarOf(() => {
      const { out, states } = stack.forward(x);
      assert.equal(states.length, 3);
      return tf.max(tf.abs(tf.sub(out, x)));
    });
    assert.ok(d < 1e-6);
    x.dispose();
    stack.dispose();
  });

  test('params: decay on weights only; wiring scalars prefixed wiring/ and without decay; names unique', () => {
    const stack = new TransformerStack(small({ wiring: { kind: 'ancre' } }), 't-params');
    const ps = stack.params();
    assert.equal(new Set(ps.map((p) => p.name)).size, ps.length);
    for (const p of ps) {
      const isWeight = /\/w(#\d+)?$/.test(p.name);
      assert.equal(p.decay, isWeight, p.name);
      if (p.name.startsWith('wiring/')) assert.equal(p.decay, false);
    }
    assert.equal(ps.filter((p) => p.name.startsWith('wiring/')).length, 1); // K = 2: only c_1 is free
    stack.dispose();
  });

  test('ANCRe overhead is under 1% of a transformer of width 128, depth 8', () => {
    const stack = new TransformerStack({ ...TRANSFORMER_DEFAULTS, wiring: { kind: 'ancre' } }, 't-overhead');
    const o = stack.wiring.overhead();
    assert.equal(o.stored, 36);
    const total = stack.paramCount();
    // 8 blocks × (qkv 128·384+384, proj 128²+128, fc1 128·512+512, fc2 512·128+128, 2 LN 4·128) + 35 logits
    assert.equal(total, 8 * (128 * 384 + 384 + 128 * 128 + 128 + 128 * 512 + 512 + 512 * 128 + 128 + 4 * 128) + 35);
    assert.ok(o.stored / total < 0.01, `${o.stored} / ${total}`);
    stack.dispose();
  });

  test('LLaMA settings: causal (future tokens do not change the past), RMSNorm, SwiGLU, rotary', async () => {
    const stack = new TransformerStack(small({ ...LLAMA_STACK, zeroInitBranches: false, wiring: { kind: 'ancre' } }), 't-llama');
    assert.ok(stack.params().every((p) => !p.name.endsWith('/b')), 'no biases');
    const { past, future } = await scalarsOf(() => {
      const x = input(1, 6, 16);
      const x2 = tf.concat([x.slice([0, 0, 0], [1, 4, 16]), input(1, 2, 16, 9)], 1); // change tokens 4, 5
      const a = stack.forward(x).out;
      const b = stack.forward(x2).out;
      return {
        past: tf.max(tf.abs(tf.sub(a.slice([0, 0, 0], [1, 4, 16]), b.slice([0, 0, 0], [1, 4, 16])))),
        future: tf.max(tf.abs(tf.sub(a.slice([0, 4, 0], [1, 2, 16]), b.slice([0, 4, 0], [1, 2, 16])))),
      };
    });
    assert.ok(past < 1e-5, `past changed by ${past}`);
    assert.ok(future > 1e-3, `future unchanged (${future})`);
    stack.dispose();
  });

  test('rotary: attention scores depend on relative position only', async () => {
    const stack = new TransformerStack(small({ ...LLAMA_STACK, heads: 1 }), 't-rope');
    const s = await arrayOf<number[][]>(() => {
      // q·k after rotation at positions (p, p+2) is the same for every p when q, k are fixed vectors.
      const v = tf.randomNormal([16], 0, 1, 'float32', 4);
      const w = tf.randomNormal([16], 0, 1, 'float32', 5);
      const seqQ = tf.stack(Array.from({ length: 8 }, () => v)).reshape([1, 1, 8, 16]) as tf.Tensor4D;
      const seqK = tf.stack(Array.from({ length: 8 }, () => w)).reshape([1, 1, 8, 16]) as tf.Tensor4D;
      const q = stack.rotary!.apply(seqQ).reshape([8, 16]);
      const k = stack.rotary!.apply(seqK).reshape([8, 16]);
      return tf.matMul(q, k, false, true);
    });
    for (let p = 0; p + 2 < 8; p++) assert.ok(Math.abs(s[p][p + 2] - s[0][2]) < 1e-4, `${s[p][p + 2]} vs ${s[0][2]}`);
    stack.dispose();
  });

  test('modulation hook (DiT adaLN): gate 0 turns every branch off; called once per block', async () => {
    const calls: number[] = [];
    const hook: ModulationHook = (block, cond) => {
      calls.push(block);
      const zeros = tf.zerosLike(cond);
      return { attn: { shift: cond, scale: cond, gate: zeros }, mlp: { gate: zeros } };
    };
    const stack = new TransformerStack(small({ zeroInitBranches: false, normAffine: false }), 't-dit', { modulation: hook });
    const d = await scalarOf(() => {
      const x = input(2, 3, 16);
      const cond = tf.ones([2, 16]);
      const { out } = stack.forward(x, { cond });
      return tf.max(tf.abs(tf.sub(out, x)));
    });
    assert.ok(d < 1e-6);
    assert.deepEqual(calls, [0, 1]);
    assert.throws(() => stack.forward(tf.zeros([1, 1, 16])), /needs opts.cond/);
    stack.dispose();
  });

  test('the same seed gives the same parameters', async () => {
    const a = new TransformerStack(small(), 't-seed');
    const b = new TransformerStack(small(), 't-seed');
    assert.deepEqual(await snapshot(a.params().map((p) => p.variable)), await snapshot(b.params().map((p) => p.variable)));
    // TF.js variable names are unique in the process; the Param names (checkpoint keys) are the
    // logical ones, equal across models, so a checkpoint loads whatever was built before it.
    assert.notEqual(a.params()[0].variable.name, b.params()[0].variable.name);
    assert.equal(a.params()[0].name, b.params()[0].name);
    a.dispose();
    b.dispose();
  });
});
