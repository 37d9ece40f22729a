/**
 * Gradients TF.js 4.22 lacks or gets wrong, registered for every engine (the gradient registry
 * is global):
 *  - StridedSlice: no gradient in tfjs-core. dx scatters dy back to the positions the slice
 *    read, found by slicing an index tensor with the same attributes (so every mask works).
 *  - GatherNd: no gradient in tfjs-core. dx = scatterND(indices, dy, params.shape) (sums repeats).
 *  - BatchMatMul: tfjs-core's gradient does not sum over broadcast batch dimensions, so
 *    `matMul(x [B, T, D], w [D, N])` fails in backprop ("gradient of input 'b' has shape
 *    [B, D, N]"). Here the gradient is summed back to each input's shape, and the common
 *    rank-2-weight case folds the batch into rows: dW = x2ᵀ · dy2 with x2 [B*T, D].
 * tf.fused.matMul has the same limitation inside its own custom gradient (not in the registry):
 * use it with equal batch dims or rank-2 operands.
 */
import * as tf from '@tensorflow/tfjs';

/** Sums `g` down to `shape` (the inverse of broadcasting). */
function sumTo(g: tf.Tensor, shape: number[]): tf.Tensor {
  if (tf.util.arraysEqual(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  let r = lead > 0 ? tf.sum(g, Array.from({ length: lead }, (_, i) => i)) : g;
  const axes = shape.map((d, i) => (d === 1 && r.shape[i] !== 1 ? i : -1)).filter((i) => i >= 0);
  if (axes.length) r = tf.sum(r, axes, true);
  return tf.reshape(r, shape);
}

const batchMatMulGrad: tf.GradConfig = {
  kernelName: 'BatchMatMul',
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved, attrs) => {
    const [a, b] = saved;
    const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
    const g = dy as tf.Tensor;
    // x [..., T, D] · w [D, N] (or [N, D] with transposeB): fold the batch for dW
    if (b.rank === 2 && a.rank > 2 && !transposeA) {
      const D = a.shape[a.rank - 1];
      const N = g.shape[g.rank - 1];
      return {
        a: () => tf.matMul(g, b, false, !transposeB),
        b: () => {
          const a2 = tf.reshape(a, [-1, D]);
          const g2 = tf.reshape(g, [-1, N]);
          return transposeB ? tf.matMul(g2, a2, true, false) : tf.matMul(a2, g2, true, false);
        },
      };
    }
    let da: () => tf.Tensor;
    let db: () => tf.Tensor;
    if (!transposeA && !transposeB) {
      da = () => tf.matMul(g, b, false, true);
      db = () => tf.matMul(a, g, true, false);
    } else if (!transposeA && transposeB) {
      da = () => tf.matMul(g, b, false, false);
      db = () => tf.matMul(g, a, true, false);
    } else if (transposeA && !transposeB) {
      da = () => tf.matMul(b, g, false, true);
      db = () => tf.matMul(a, g, false, false);
    } else {
      da = () => tf.matMul(b, g, true, true);
      db = () => tf.matMul(g, a, true, true);
    }
    return { a: () => sumTo(da(), a.shape), b: () => sumTo(db(), b.shape) };
  },
};

const stridedSliceGrad: tf.GradConfig = {
  kernelName: 'StridedSlice',
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const at = attrs as unknown as tf.StridedSliceAttrs;
    return {
      x: () => {
        const positions = tf.reshape(tf.range(0, x.size, 1, 'int32'), x.shape);
        const taken = tf.stridedSlice(
          positions, at.begin, at.end, at.strides, at.beginMask, at.endMask, at.ellipsisMask, at.newAxisMask, at.shrinkAxisMask,
        );
        const flat = tf.scatterND(tf.reshape(taken, [-1, 1]), tf.reshape(dy as tf.Tensor, [-1]), [x.size]);
        return tf.reshape(flat, x.shape);
      },
    };
  },
};

const gatherNdGrad: tf.GradConfig = {
  kernelName: 'GatherNd',
  inputsToSave: ['params', 'indices'],
  gradFunc: (dy, saved) => {
    const [params, indices] = saved;
    return {
      params: () => tf.scatterND(indices, dy as tf.Tensor, params.shape),
      indices: () => tf.zerosLike(indices),
    };
  },
};

let done = false;

/** Registers the gradients above (idempotent). Returns the kernel names. */
export function installGradients(): string[] {
  const names = [batchMatMulGrad, stridedSliceGrad, gatherNdGrad].map((g) => g.kernelName);
  if (done) return names;
  for (const g of [batchMatMulGrad, stridedSliceGrad, gatherNdGrad]) tf.registerGradient(g);
  done = true;
  return names;
}
