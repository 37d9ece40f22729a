import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { LinearNet, parseLayout, randomMatrix, normalRng, identity } from '../../lib/models/linear';
import { ConfigError } from '../../lib/errors';

const d = 3;
const rand = normalRng(42);
const A = randomMatrix(d, 0.6, rand);
const init = (K: number) => Array.from({ length: K }, () => randomMatrix(d, 0.4, rand));

function mm(a: Float64Array, b: Float64Array): Float64Array {
  const o = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let k = 0; k < d; k++) for (let j = 0; j < d; j++) o[i * d + j] += a[i * d + k] * b[k * d + j];
  return o;
}
const add = (a: Float64Array, b: Float64Array) => a.map((v, i) => v + b[i]);
const half = (m: Float64Array) => m.reduce((s, v, i) => s + (v - A[i]) ** 2, 0) / 2;

describe('deep linear networks', () => {
  test('layouts parse; bad ones are rejected with the valid range', () => {
    assert.deepEqual(parseLayout('cascaded', 3), [[0, 1], [1, 2], [2, 3]]);
    assert.deepEqual(parseLayout('none', 3), []);
    assert.deepEqual(parseLayout('0:2+2:3', 4), [[0, 2], [2, 3]]);
    assert.throws(() => parseLayout('2:1', 3), (e: unknown) => e instanceof ConfigError && /expected 'i:j' with 0 <= i < j <= 3/.test(e.message));
    assert.throws(() => parseLayout('0:5', 4), ConfigError);
    assert.throws(() => parseLayout('0:1+0:1', 3), /repeated/);
  });

  test("losses equal the paper's formulas: L_0:1 = ½‖W3 W2 (W1 + I) − A‖², L_0:2 = ½‖W3 (W2 W1 + I) − A‖²", () => {
    const W = init(3);
    const I = identity(d);
    const l01 = new LinearNet({ depth: 3, dim: d, layout: parseLayout('0:1', 3), init: W }).loss(A);
    const l02 = new LinearNet({ depth: 3, dim: d, layout: parseLayout('0:2', 3), init: W }).loss(A);
    const lcas = new LinearNet({ depth: 3, dim: d, layout: parseLayout('cascaded', 3), init: W }).loss(A);
    assert.ok(Math.abs(l01 - half(mm(W[2], mm(W[1], add(W[0], I))))) < 1e-12);
    assert.ok(Math.abs(l02 - half(mm(W[2], add(mm(W[1], W[0]), I)))) < 1e-12);
    assert.ok(Math.abs(lcas - half(mm(add(W[2], I), mm(add(W[1], I), add(W[0], I))))) < 1e-12);
  });

  const cases: [string, number, ConstructorParameters<typeof LinearNet>[0]['layout'], 'incoming' | 'outgoing'][] = [
    ['cascaded', 3, parseLayout('cascaded', 3), 'incoming'],
    ['0:2+2:3', 4, parseLayout('0:2+2:3', 4), 'incoming'],
    ['ancre incoming', 4, 'ancre', 'incoming'],
    ['ancre outgoing', 4, 'ancre', 'outgoing'],
  ];
  for (const [name, K, layout, normalisation] of cases) {
    test(`gradients match central finite differences (${name})`, () => {
      const net = new LinearNet({ depth: K, dim: d, layout, init: init(K), tau: 0.7, normalisation });
      // Move the logits off 0 so the softmax Jacobian is not the symmetric special case.
      net.c.forEach((row, r) => row.forEach((_, m) => (row[m] = row.length > 1 ? 0.3 * Math.sin(3 * r + m) : 0)));
      const g = net.gradients(A);
      const eps = 1e-6;
      const fd = (get: () => number, set: (v: number) => void) => {
        const v0 = get();
        set(v0 + eps);
        const lp = net.loss(A);
        set(v0 - eps);
        const lm = net.loss(A);
        set(v0);
        return (lp - lm) / (2 * eps);
      };
      for (let j = 0; j < K; j++) {
        for (const e of [0, 4, 8]) {
          const num = fd(() => net.W[j][e], (v) => (net.W[j][e] = v));
          assert.ok(Math.abs(num - g.dW[j][e]) < 1e-6 * Math.max(1, Math.abs(num)), `dW${j + 1}[${e}] ${g.dW[j][e]} vs ${num}`);
        }
      }
      net.c.forEach((row, r) =>
        row.forEach((_, m) => {
          const num = row.length > 1 ? fd(() => row[m], (v) => (row[m] = v)) : 0; // single logits are frozen
          assert.ok(Math.abs(num - g.dc[r][m]) < 1e-6 * Math.max(1, Math.abs(num)), `dc[${r}][${m}] ${g.dc[r][m]} vs ${num}`);
        }),
      );
      if (layout === 'ancre') assert.ok(g.dc.flat().some((v) => Math.abs(v) > 1e-4), 'c gets a gradient');
    });
  }

  test('ANCRe at c = 0: uniform routing like lib/residual (incoming and outgoing)', () => {
    const inc = new LinearNet({ depth: 3, dim: d, layout: 'ancre', init: init(3) }).routing();
    assert.deepEqual(inc.map((r) => r.map((v) => +v.toFixed(4))), [[1, 0, 0], [0.5, 0.5, 0], [0.3333, 0.3333, 0.3333]]);
    const out = new LinearNet({ depth: 3, dim: d, layout: 'ancre', init: init(3), normalisation: 'outgoing' }).routing();
    assert.deepEqual(out.map((r) => r.map((v) => +v.toFixed(4))), [[0.3333, 0, 0], [0.3333, 0.5, 0], [0.3333, 0.5, 1]]);
  });

  test('gradient descent lowers the loss for every layout', () => {
    for (const spec of ['cascaded', '0:1', '0:2', 'ancre'] as const) {
      const net = new LinearNet({ depth: 3, dim: d, layout: spec === 'ancre' ? 'ancre' : parseLayout(spec, 3), init: init(3), tau: 1 });
      const l0 = net.loss(A);
      for (let s = 0; s < 200; s++) net.step(A, 0.02);
      assert.ok(net.loss(A) < 0.5 * l0, `${spec}: ${l0} -> ${net.loss(A)}`);
    }
  });
});
