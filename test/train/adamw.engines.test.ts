/**
 * The fused AdamW (lib/train/adamw-fused.ts) against the per-tensor TF.js ops: same p, m, v after
 * several steps on random parameters and gradients, with and without clipping and weight decay,
 * weight-decay exclusions included; the norm; non-finite gradients; no leaked tensors. Runs on
 * every engine pass of `npm test` (native addon loop, wasm-heap JS loop, cpu JS loop); on wasm
 * with the native path both wasm loops run.
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine, matmulPath, setMatmulPath } from '../../lib/backend';
import { AdamW, AdamWConfig, ADAMW_DEFAULTS } from '../../lib/train/adamw';
import { fusedAdamWEngine } from '../../lib/train/adamw-fused';
import type { Param } from '../../lib/train/params';
import { randn } from '../backend/compare';

const SHAPES = [[7, 5], [5], [3, 4, 6], [1], [33, 17]];
const DECAY = [true, false, true, false, true];

function makeParams(tag: string): Param[] {
  return SHAPES.map((s, i) => ({
    name: `${tag}/p${i}`,
    variable: tf.tidy(() => tf.variable(tf.tensor(randn(s.reduce((a, b) => a * b, 1), 10 + i), s), true, `${tag}-p${i}-${Math.random()}`)),
    decay: DECAY[i],
  }));
}

function gradsFor(params: Param[], step: number, mult: number): tf.NamedTensorMap {
  const g: tf.NamedTensorMap = {};
  params.forEach((p, i) => {
    g[p.variable.name] = tf.tidy(() => tf.mul(tf.tensor(randn(p.variable.size, 100 * step + i), p.variable.shape), mult));
  });
  return g;
}

/** max |a − b| / max |b| */
function maxRelDiff(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync();
  const y = b.dataSync();
  let worst = 0;
  let scale = 1e-30;
  for (let i = 0; i < x.length; i++) {
    worst = Math.max(worst, Math.abs(x[i] - y[i]));
    scale = Math.max(scale, Math.abs(y[i]));
  }
  return worst / scale;
}

/** Runs `steps` updates with the fused and the per-tensor step; returns the worst relative difference. */
function compare(config: AdamWConfig, mult: number, steps = 4): { diff: number; norms: [number, number][] } {
  const pa = makeParams('fused');
  const pb = makeParams('ops');
  const oa = new AdamW(pa, config);
  const ob = new AdamW(pb, config);
  const norms: [number, number][] = [];
  try {
    for (let s = 1; s <= steps; s++) {
      const ga = gradsFor(pa, s, mult);
      const gb = gradsFor(pb, s, mult);
      norms.push([oa.stepFused(ga, 1e-2 * s), ob.stepPerTensor(gb, 1e-2 * s)]);
      tf.dispose([...Object.values(ga), ...Object.values(gb)]);
    }
    let diff = 0;
    pa.forEach((p, i) => {
      diff = Math.max(diff, maxRelDiff(p.variable, pb[i].variable), maxRelDiff(oa.m[i], ob.m[i]), maxRelDiff(oa.v[i], ob.v[i]));
    });
    assert.equal(oa.t, ob.t);
    return { diff, norms };
  } finally {
    oa.dispose();
    ob.dispose();
    for (const p of [...pa, ...pb]) p.variable.dispose();
  }
}

let wasmPaths: ('native' | 'repaired')[] = [];

before(async () => {
  const info = await initEngine({ quiet: true });
  wasmPaths = info.engine === 'wasm' ? (matmulPath() === 'native' ? ['native', 'repaired'] : ['repaired']) : [];
});

async function forEachFused(body: (label: string) => void): Promise<void> {
  if (!wasmPaths.length) return body(String(fusedAdamWEngine()));
  const start = matmulPath();
  try {
    for (const p of wasmPaths) {
      setMatmulPath(p);
      body(String(fusedAdamWEngine()));
    }
  } finally {
    setMatmulPath(start);
  }
}

/** Registered: adamw-fused.ts has loops for the wasm heap and the cpu engine's arrays only. */
const NO_FUSED = 'no fused AdamW on this engine (webgpu: the per-tensor step serves, compared with the cpu engine below)';

describe('fused AdamW against the per-tensor ops', () => {
  test('the fused path serves on this engine', () => {
    const e = fusedAdamWEngine();
    if (tf.getBackend() === 'wasm') assert.equal(e, matmulPath() === 'native' ? 'wasm-native' : 'wasm-js');
    else if (tf.getBackend() === 'cpu') assert.equal(e, 'cpu-js');
    else assert.equal(e, null);
  });

  test('no clipping: p, m, v identical bit for bit, weight decay and its exclusions included', async (t) => {
    if (fusedAdamWEngine() == null) return t.skip(NO_FUSED);
    await forEachFused((label) => {
      const before = tf.memory().numTensors;
      const r = compare({ ...ADAMW_DEFAULTS, clipNorm: 0, weightDecay: 0.1 }, 1);
      assert.equal(r.diff, 0, `${label}: fused and per-tensor differ by ${r.diff}`);
      for (const [a, b] of r.norms) assert.ok(Math.abs(a - b) <= 1e-6 * b, `${label}: norm ${a} vs ${b}`);
      assert.equal(tf.memory().numTensors, before, `${label}: leaked tensors`);
    });
  });

  test('clipping active (norm far above clipNorm), no weight decay: equal to float tolerance', async (t) => {
    if (fusedAdamWEngine() == null) return t.skip(NO_FUSED);
    await forEachFused((label) => {
      const r = compare({ ...ADAMW_DEFAULTS, clipNorm: 0.5, weightDecay: 0, beta1: 0.8, beta2: 0.99 }, 3);
      assert.ok(r.norms.every(([a]) => a > 0.5), 'the test must clip');
      assert.ok(r.diff <= 1e-5, `${label}: relative difference ${r.diff}`);
    });
  });

  test('a non-finite gradient updates nothing and returns the norm, like the per-tensor step', async (t) => {
    if (fusedAdamWEngine() == null) return t.skip(NO_FUSED);
    await forEachFused((label) => {
      const ps = makeParams('nf');
      const opt = new AdamW(ps, ADAMW_DEFAULTS);
      const before = ps.map((p) => p.variable.dataSync().slice());
      const g = gradsFor(ps, 1, 1);
      const bad = g[ps[2].variable.name];
      g[ps[2].variable.name] = tf.fill(bad.shape, Number.NaN);
      bad.dispose();
      assert.ok(Number.isNaN(opt.stepFused(g, 0.1)), label);
      assert.equal(opt.t, 0);
      ps.forEach((p, i) => assert.deepEqual(p.variable.dataSync(), before[i]));
      assert.ok(Number.isNaN(opt.stepPerTensor(g, 0.1)));
      tf.dispose(Object.values(g));
      opt.dispose();
      for (const p of ps) p.variable.dispose();
    });
  });

  test('a missing gradient names the parameter', () => {
    const ps = makeParams('miss');
    const opt = new AdamW(ps, ADAMW_DEFAULTS);
    const g = gradsFor(ps, 1, 1);
    const name = ps[1].variable.name;
    g[name].dispose();
    delete g[name];
    assert.throws(() => opt.step(g, 0.1), /no gradient for parameter 'miss\/p1'/);
    tf.dispose(Object.values(g));
    opt.dispose();
    for (const p of ps) p.variable.dispose();
  });
});

describe('the per-tensor step on this engine against the cpu engine', () => {
  test('stepAsync (clipping on, weight decay, exclusions): p, m, v and the norm to float32 tolerance, no leaks', async () => {
    const config = { ...ADAMW_DEFAULTS, clipNorm: 0.5, weightDecay: 0.1 };
    const run = async () => {
      const ps = makeParams('async');
      const opt = new AdamW(ps, config);
      const norms: number[] = [];
      for (let s = 1; s <= 3; s++) {
        const g = gradsFor(ps, s, 2);
        norms.push(await opt.stepAsync(g, 1e-2 * s));
        tf.dispose(Object.values(g));
      }
      const out = await Promise.all([...ps.map((p) => p.variable), ...opt.m, ...opt.v].map(async (t) => Float32Array.from(await t.data())));
      opt.dispose();
      for (const p of ps) p.variable.dispose();
      return { out, norms };
    };
    const before = tf.memory().numTensors;
    const engine = await run();
    const backend = tf.getBackend();
    await tf.setBackend('cpu');
    const cpu = await run();
    await tf.setBackend(backend);
    engine.norms.forEach((n, i) => assert.ok(Math.abs(n - cpu.norms[i]) <= 1e-5 * cpu.norms[i], `norm ${n} vs ${cpu.norms[i]}`));
    assert.ok(engine.norms.every((n) => n > 0.5), 'the test must clip');
    engine.out.forEach((a, k) => {
      const b = cpu.out[k];
      let worst = 0;
      let scale = 1e-30;
      for (let i = 0; i < a.length; i++) {
        worst = Math.max(worst, Math.abs(a[i] - b[i]));
        scale = Math.max(scale, Math.abs(b[i]));
      }
      assert.ok(worst / scale <= 1e-5, `tensor ${k}: relative difference ${worst / scale}`);
    });
    assert.equal(tf.memory().numTensors, before, 'leaked tensors');
  });
});
