import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import {
  makeWiring,
  validateWiring,
  decayedSchedule,
  WIRING_KINDS,
  type Block,
  type WiringConfig,
} from '../../lib/residual';
import { ConfigError } from '../../lib/errors';
import { initTestEngine } from './engine';
import { readable } from '../../lib/backend/webgpu';
import { arrayOf, scalarOf } from '../backend/compare';

before(initTestEngine);

const close = (a: number, b: number, tol: number, what = '') =>
  assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (tol ${tol})`);

describe('decayed schedule (paper A)', () => {
  test('24 sub-layers, alphaMin 0.6: first 1, last 0.6, linear in between, alphaEff the product', () => {
    const s = decayedSchedule(24, 0.6);
    assert.equal(s.length, 24);
    assert.equal(s[0], 1);
    close(s[23], 0.6, 1e-15, 'last');
    for (let k = 0; k < 24; k++) close(s[k], 1 - (0.4 * k) / 23, 1e-15, `k=${k}`);
    const w = makeWiring({ kind: 'decayed', alphaMin: 0.6 }, 12, 2);
    assert.equal(w.granularity, 'sublayer');
    assert.equal(w.n, 24);
    assert.deepEqual(w.coefficients()[0], s);
    assert.deepEqual(w.coefficients()[1], new Array(24).fill(1));
    let prod = 1;
    for (let k = 0; k < 24; k++) prod *= 1 - (0.4 * k) / 23;
    close(w.alphaEff()!, prod, 1e-12, 'alphaEff');
    assert.ok(prod > 1e-4 && prod < 1e-2, `alpha_eff ${prod} in paper A's useful range`);
    assert.deepEqual(decayedSchedule(1, 0.5), [1]);
    w.dispose();
  });

  test('forward equals x_{k+1} = alpha_k x_k + f_k(x_k) by hand', async () => {
    const w = makeWiring({ kind: 'decayed', alphaMin: 0.5 }, 2, 1); // alphas 1, 0.5
    const out = await arrayOf<number[]>(() => {
      const blocks: Block[] = [[(x) => tf.mul(x, 2)], [(x) => tf.add(x, 1)]];
      return w.run(tf.tensor1d([1, -1]), blocks).out;
    });
    // x1 = 1*x0 + 2x0 = 3x0 = [3, -3]; x2 = 0.5*x1 + (x1 + 1) = [5.5, -3.5]
    assert.deepEqual(out, [5.5, -3.5]);
  });
});

/** softmax(z / tau) in float64. */
function softmax(z: number[], tau: number): number[] {
  const m = Math.max(...z.map((v) => v / tau));
  const e = z.map((v) => Math.exp(v / tau - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

describe('ANCRe routing (paper B)', () => {
  // Fixed K = 3 blocks of 2 sub-layer branches on a 3-vector; scalar maps so the hand computation is exact.
  const w1 = [0.5, -0.25, 0.1, 0.3, -0.2, 0.4];
  const branchFns = (k: number) => (v: number) => w1[k] * v + 0.1 * k;
  const blocks = (): Block[] =>
    [0, 1, 2].map((l) => [0, 1].map((s) => (x: tf.Tensor) => tf.add(tf.mul(x, w1[2 * l + s]), 0.1 * (2 * l + s))));
  const h0 = [1, -2, 0.5];
  const tau = 0.1;
  // Logits chosen so every weight differs (multiplied back by tau below).
  const cIn = [[0], [0.03, -0.05], [0.02, 0.1, -0.04]];
  const cOut = [[0.01, -0.06, 0.05], [0.08, -0.02], [0]];

  function handForward(p: number[][]): number[] {
    const hs: number[][] = [h0];
    for (let l = 0; l < 3; l++) {
      let y = hs[l].slice();
      for (const s of [0, 1]) y = y.map((v) => v + branchFns(2 * l + s)(v)); // internal residuals
      y = y.map((v, j) => v + hs.slice(0, l + 1).reduce((acc, h, i) => acc + p[l][i] * h[j], 0));
      hs.push(y);
    }
    return hs[3];
  }

  for (const normalisation of ['incoming', 'outgoing'] as const) {
    test(`K=3 forward equals the hand-computed mixture (${normalisation})`, async () => {
      const w = makeWiring({ kind: 'ancre', tau, normalisation }, 3, 2);
      assert.equal(w.granularity, 'block');
      assert.equal(w.variables.length, 2); // c_0 (incoming) / the last source (outgoing) is frozen
      const logits = normalisation === 'incoming' ? cIn : cOut;
      const trainableRows = normalisation === 'incoming' ? [1, 2] : [0, 1];
      trainableRows.forEach((r, j) => w.variables[j].assign(tf.tensor1d(logits[r])));
      // hand routing matrix p[l][i]
      const p = [0, 1, 2].map(() => [0, 0, 0]);
      if (normalisation === 'incoming') {
        for (let l = 0; l < 3; l++) softmax(cIn[l], tau).forEach((v, i) => (p[l][i] = v));
      } else {
        for (let i = 0; i < 3; i++) softmax(cOut[i], tau).forEach((v, j) => (p[i + j][i] = v));
      }
      await readable(w.variables);
      const coeffs = w.coefficients();
      for (let l = 0; l < 3; l++) for (let i = 0; i < 3; i++) close(coeffs[l][i], p[l][i], 1e-6, `p[${l}][${i}]`);
      const got = await arrayOf<number[]>(() => w.run(tf.tensor1d(h0), blocks()).out);
      const want = handForward(p);
      got.forEach((g, j) => close(g, want[j], 1e-5 * Math.max(1, Math.abs(want[j])), `out[${j}]`));
      w.dispose();
    });
  }

  test('at c = 0: uniform weights, h_1 = 2 h_0 + F_0(h_0); constant-average the same and frozen', async () => {
    for (const kind of ['ancre', 'constant-average'] as const) {
      const w = makeWiring({ kind }, 3, 1);
      await readable(w.variables);
      assert.deepEqual(
        w.coefficients().map((r) => r.map((v) => +v.toFixed(6))),
        [[1, 0, 0], [0.5, 0.5, 0], [0.333333, 0.333333, 0.333333]],
      );
      const s = await arrayOf(() => w.run(tf.tensor1d([1, 2]), [[(x) => tf.mul(x, 3)], [(x) => x], [(x) => x]]).states[0]);
      assert.deepEqual(s, [5, 10]); // 2·h0 + 3·h0
      w.dispose();
    }
    const out = makeWiring({ kind: 'constant-average', normalisation: 'outgoing' }, 3, 1);
    assert.deepEqual(out.coefficients()[2].map((v) => +v.toFixed(6)), [0.333333, 0.5, 1]);
    assert.equal(out.variables.length, 0);
  });

  test('parameter overhead: K(K+1)/2 stored, trainable = size of variables, K(K-1)/2 free', () => {
    for (const normalisation of ['incoming', 'outgoing'] as const) {
      const K = 8;
      const w = makeWiring({ kind: 'ancre', normalisation }, K, 2);
      const o = w.overhead();
      assert.equal(o.stored, (K * (K + 1)) / 2);
      assert.equal(o.trainable, w.variables.reduce((s, v) => s + v.size, 0));
      assert.equal(o.trainable, o.stored - 1);
      assert.equal(o.free, (K * (K - 1)) / 2);
      assert.ok(w.variables.every((v) => v.name.startsWith('wiring/')));
      w.dispose();
    }
  });
});

describe('gradients reach the wiring scalars', () => {
  const cases: WiringConfig[] = [
    { kind: 'ancre', tau: 0.01 },
    { kind: 'ancre', normalisation: 'outgoing' },
    { kind: 'learnable-alpha' },
    { kind: 'rezero' },
  ];
  for (const config of cases) {
    test(`${config.kind} ${config.normalisation ?? ''}`, async () => {
      const w = makeWiring(config, 3, 2);
      const blocks: Block[] = [0, 1, 2].map((l) => [
        (x) => tf.tanh(tf.add(tf.mul(x, 0.7 + 0.1 * l), 0.2)),
        (x) => tf.mul(tf.sin(x), -0.5 + 0.2 * l),
      ]);
      const before = tf.memory().numTensors;
      const { value, grads } = tf.variableGrads(() =>
        tf.tidy(() => {
          const { out, states } = w.run(tf.tensor2d([[0.3, -1.2, 0.8], [1.1, 0.4, -0.6]]), blocks);
          return tf.add(tf.sum(tf.square(tf.sub(out, 0.25))), tf.sum(tf.mul(states[0], 0.1))) as tf.Scalar;
        }),
      );
      for (const v of w.variables) {
        const g = grads[v.name];
        assert.ok(g, `no gradient for ${v.name}`);
        const a = Array.from(await g.data());
        assert.ok(a.every(Number.isFinite));
        assert.ok(a.some((x) => Math.abs(x) > 1e-6), `zero gradient for ${v.name}: ${a}`);
      }
      tf.dispose([value, ...Object.values(grads)]);
      assert.equal(tf.memory().numTensors, before, 'leaked tensors');
      w.dispose();
    });
  }

  test('ANCRe c-gradient matches a finite difference', async () => {
    const w = makeWiring({ kind: 'ancre', tau: 0.5 }, 3, 1);
    const blocks: Block[] = [0, 1, 2].map((l) => [(x: tf.Tensor) => tf.tanh(tf.mul(x, 0.5 + 0.3 * l))]);
    const loss = () => tf.tidy(() => tf.sum(tf.square(w.run(tf.tensor1d([0.4, -0.9]), blocks).out)) as tf.Scalar);
    const { grads } = tf.variableGrads(loss);
    const v = w.variables[1]; // c_2, 3 logits
    const g = Array.from(await grads[v.name].data());
    const base = Array.from(await v.data());
    const eps = 1e-2;
    for (let i = 0; i < 3; i++) {
      const at = async (d: number) => {
        const c = base.slice();
        c[i] += d;
        v.assign(tf.tensor1d(c));
        return scalarOf(loss);
      };
      const fd = ((await at(eps)) - (await at(-eps))) / (2 * eps);
      close(g[i], fd, 2e-3 * Math.max(1, Math.abs(fd)), `dL/dc_2[${i}]`);
    }
    tf.dispose(Object.values(grads));
    w.dispose();
  });
});

describe('every kind', () => {
  for (const kind of WIRING_KINDS) {
    test(`${kind}: builds, runs, describes itself, leaks nothing`, async () => {
      const w = makeWiring({ kind }, 4, 2);
      assert.equal(w.kind, kind);
      assert.equal(typeof w.describe(), 'string');
      assert.ok(!w.describe().includes('\n'));
      const blocks: Block[] = Array.from({ length: 4 }, () => [(x: tf.Tensor) => tf.mul(x, 0.5), (x: tf.Tensor) => tf.neg(x)]);
      const seen: number[] = [];
      const before = tf.memory().numTensors;
      const r = await scalarOf(() => {
        const { out, states } = w.run(tf.ones([2, 3]), blocks, { beforeBlock: (l, h) => (seen.push(l), h) });
        assert.equal(states.length, 4);
        assert.deepEqual(states[3].shape, [2, 3]);
        return out;
      });
      assert.ok(Number.isFinite(r));
      assert.deepEqual(seen, [0, 1, 2, 3]);
      assert.equal(tf.memory().numTensors, before);
      await readable(w.variables);
      const coeffs = w.coefficients();
      if (w.granularity === 'sublayer') {
        assert.equal(coeffs.length, 2);
        assert.equal(coeffs[0].length, 8);
        assert.equal(typeof w.alphaEff(), 'number');
      } else {
        assert.equal(coeffs.length, 4);
        coeffs.forEach((row, l) => close(row.reduce((a, b) => a + b, 0), 1, 1e-6, `row ${l} sums to 1 (incoming)`));
        assert.equal(w.alphaEff(), null);
      }
      w.dispose();
    });
  }

  test('sub-layer kinds by hand on one branch f(x) = 2x', async () => {
    const want: Record<string, number> = {
      residual: 3, // x + 2x
      plain: 2,
      scaled: Math.SQRT1_2 * 3,
      decayed: 3, // alpha_0 = 1
      'learnable-alpha': 3,
      rezero: 1, // beta = 0
    };
    for (const [kind, v] of Object.entries(want)) {
      const w = makeWiring({ kind } as WiringConfig, 1, 1);
      const got = await scalarOf(() => w.run(tf.scalar(1), [[(x) => tf.mul(x, 2)]]).out);
      close(got, v, 1e-6, kind);
      w.dispose();
    }
  });
});

describe('validation', () => {
  const rejects = (config: unknown, message: string) =>
    assert.throws(() => validateWiring(config as WiringConfig), (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.equal(e.message, message);
      return true;
    });

  test('bad values are rejected with the value and the valid range', () => {
    rejects({ kind: 'decayed', alphaMin: 1.3 }, 'alphaMin must be in (0, 1]; got 1.3');
    rejects({ kind: 'decayed', alphaMin: 0 }, 'alphaMin must be in (0, 1]; got 0');
    rejects({ kind: 'ancre', tau: 0 }, 'tau must be > 0; got 0');
    rejects({ kind: 'ancre', tau: -0.1 }, 'tau must be > 0; got -0.1');
    rejects(
      { kind: 'decay' },
      "unknown wiring 'decay'; expected one of residual, decayed, ancre, scaled, learnable-alpha, rezero, constant-average, plain",
    );
    rejects({ kind: 'ancre', normalisation: 'both' }, "unknown normalisation 'both'; expected one of incoming, outgoing");
    rejects({ kind: 'ancre', temperature: 1 }, "unknown key 'temperature' in wiring config; expected one of kind, alphaMin, tau, normalisation");
    assert.throws(() => makeWiring({ kind: 'decayed', alphaMin: 1.3 }, 4), ConfigError);
    assert.throws(() => makeWiring({ kind: 'residual' }, 0), /blocks must be an integer >= 1; got 0/);
    validateWiring({ kind: 'decayed', alphaMin: 1 });
  });

  test('the wrong number of blocks is an error, not a silent truncation', () => {
    const w = makeWiring({ kind: 'ancre' }, 3, 2);
    assert.throws(() => w.run(tf.ones([2]), [[(x) => x, (x) => x]]), /built for 3 blocks was given 1/);
    w.dispose();
  });
});
