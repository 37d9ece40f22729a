/**
 * A fix for the pure-JS cpu engine (tfjs-backend-cpu 4.22), also installed on webgpu
 * (tfjs-backend-webgpu 4.22 throws `Size(252) must match the product of shape 2,4,9,7` on the
 * same [2, 1]·[4] batch broadcast).
 *
 * Its BatchMatMul and _FusedMatMul flatten the batch dims and pair batch element i of the
 * output with `i % batchA` of a and `i % batchB` of b. That is NumPy broadcasting only when an
 * operand's batch shape is a run of 1s followed by the output's trailing batch dims
 * (a [3] against [4, 3]); for a [2, 1] against b [4] (output [2, 4]) it reads the wrong
 * elements. Here such an operand is first tiled to the full batch shape (cpu Tile kernel), then
 * the stock kernel runs.
 */
import * as tf from '@tensorflow/tfjs';

/** True when `i % size(inner)` maps output batch element i to the right element of `inner`. */
export function moduloBroadcastOk(outer: number[], inner: number[]): boolean {
  const padded = [...new Array(outer.length - inner.length).fill(1), ...inner] as number[];
  let k = 0;
  while (k < padded.length && padded[k] === 1) k++;
  for (let d = k; d < padded.length; d++) if (padded[d] !== outer[d]) return false;
  return true;
}

function tileTo(backend: tf.KernelBackend, x: tf.TensorInfo, outer: number[], engine: string): tf.TensorInfo {
  const mat = x.shape.slice(-2);
  const batch = x.shape.slice(0, -2);
  const padded = [...new Array(outer.length - batch.length).fill(1), ...batch] as number[];
  const tile = tf.getKernel('Tile', engine)!;
  return tile.kernelFunc({
    inputs: { x: { dataId: x.dataId, shape: [...padded, ...mat], dtype: x.dtype } },
    backend,
    attrs: { reps: [...outer.map((d, i) => d / padded[i]), 1, 1] },
  }) as tf.TensorInfo;
}

function broadcastFixed(stock: tf.KernelFunc, engine: string): tf.KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const backend = args.backend as tf.KernelBackend;
    const aOuter = a.shape.slice(0, -2);
    const bOuter = b.shape.slice(0, -2);
    const outer = tf.broadcast_util.assertAndGetBroadcastShape(aOuter, bOuter);
    const fixA = !moduloBroadcastOk(outer, aOuter);
    const fixB = !moduloBroadcastOk(outer, bOuter);
    if (!fixA && !fixB) return stock(args);
    const a2 = fixA ? tileTo(backend, a, outer, engine) : a;
    const b2 = fixB ? tileTo(backend, b, outer, engine) : b;
    try {
      return stock({ ...args, inputs: { ...args.inputs, a: a2, b: b2 } });
    } finally {
      if (fixA) backend.disposeData(a2.dataId);
      if (fixB) backend.disposeData(b2.dataId);
    }
  };
}

const done = new Set<string>();

/** Wraps the engine's BatchMatMul and _FusedMatMul (idempotent; 'cpu' or 'webgpu'). */
export function installCpuFixes(engine = 'cpu'): string[] {
  const names = ['BatchMatMul', '_FusedMatMul'];
  if (done.has(engine)) return names;
  for (const name of names) {
    const k = tf.getKernel(name, engine);
    if (k == null) continue;
    tf.unregisterKernel(name, engine);
    tf.registerKernel({ ...k, kernelFunc: broadcastFixed(k.kernelFunc, engine) });
  }
  done.add(engine);
  return names;
}
