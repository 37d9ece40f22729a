/** Test helpers: run the same computation on the selected engine and on the pure-JS cpu engine. */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';

/** Deterministic normal-ish values (sum of uniforms from a linear congruential generator). */
export function randn(n: number, seed: number): Float32Array {
  let s = (seed * 2654435761) >>> 0 || 1;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = u() + u() + u() + u() - 2;
  return out;
}

export function randTensor(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(randn(shape.reduce((p, d) => p * d, 1), seed), shape);
}

/**
 * Runs `f` on the current backend and on cpu (same inputs, built inside `f` from seeds) and
 * returns both sets of outputs as plain arrays. Leaves the original backend selected.
 */
export async function onBoth(f: () => tf.Tensor | tf.Tensor[]): Promise<{ engine: Float32Array[]; cpu: Float32Array[]; shapes: number[][] }> {
  const run = () =>
    tf.tidy(() => {
      const r = f();
      return Array.isArray(r) ? r : [r];
    });
  // Asynchronous reads: webgpu in Node cannot read GPU memory synchronously.
  const read = async (ts: tf.Tensor[]) => {
    const out = await Promise.all(ts.map(async (t) => Float32Array.from((await t.data()) as ArrayLike<number>)));
    ts.forEach((t) => t.dispose());
    return out;
  };
  const backend = tf.getBackend();
  const e = run();
  const shapes = e.map((t) => t.shape);
  const engine = await read(e);
  await tf.setBackend('cpu');
  const cpu = await read(run());
  await tf.setBackend(backend);
  return { engine, cpu, shapes };
}

/** max |a - b| / max(1, max |b|) over each output, asserted <= tol. */
export function assertClose(engine: Float32Array[], cpu: Float32Array[], tol: number, what: string): void {
  assert.equal(engine.length, cpu.length, `${what}: number of outputs`);
  engine.forEach((e, k) => {
    const c = cpu[k];
    assert.equal(e.length, c.length, `${what}[${k}]: sizes ${e.length} vs ${c.length}`);
    let scale = 1;
    for (let i = 0; i < c.length; i++) scale = Math.max(scale, Math.abs(c[i]));
    let worst = 0;
    for (let i = 0; i < c.length; i++) {
      const d = Math.abs(e[i] - c[i]);
      if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
    }
    assert.ok(worst / scale <= tol, `${what}[${k}]: relative error ${(worst / scale).toExponential(2)} > ${tol}`);
  });
}

/**
 * Reading values on every engine: webgpu in Node cannot read GPU memory synchronously, so the
 * engine tests read with await. Each runs `f` in a tidy, reads its result, disposes it.
 */
export async function valuesOf(f: () => tf.Tensor): Promise<Float32Array | Int32Array | Uint8Array> {
  const t = tf.tidy(f);
  try {
    return (await t.data()) as Float32Array | Int32Array | Uint8Array;
  } finally {
    t.dispose();
  }
}

export async function scalarOf(f: () => tf.Tensor): Promise<number> {
  return (await valuesOf(f))[0];
}

export async function arrayOf<T = unknown>(f: () => tf.Tensor): Promise<T> {
  const t = tf.tidy(f);
  try {
    return (await t.array()) as T;
  } finally {
    t.dispose();
  }
}

/** Reads every tensor (as float32) and disposes them. */
export async function readAll(ts: tf.Tensor[]): Promise<Float32Array[]> {
  try {
    return await Promise.all(ts.map(async (t) => Float32Array.from((await t.data()) as ArrayLike<number>)));
  } finally {
    tf.dispose(ts);
  }
}

/** The first value of each named tensor `f` returns (computed in a tidy, read with await, disposed). */
export async function scalarsOf<K extends string>(f: () => Record<K, tf.Tensor>): Promise<Record<K, number>> {
  const ts = tf.tidy(f);
  const out = {} as Record<K, number>;
  try {
    for (const k of Object.keys(ts) as K[]) out[k] = (await ts[k].data())[0];
  } finally {
    tf.dispose(Object.values(ts) as tf.Tensor[]);
  }
  return out;
}

/** Every variable's values, read with await: a snapshot to compare after training. */
export async function snapshot(vars: tf.Tensor[]): Promise<number[][]> {
  return Promise.all(vars.map(async (v) => Array.from(await v.data())));
}
