/**
 * Repairs to tfjs-backend-webgpu 4.22 kernels that the engine tests (against the cpu engine) found
 * wrong. Each wraps the stock kernel and composes other webgpu kernels, so everything stays on
 * the GPU:
 *
 *  - BatchMatMul / _FusedMatMul: a [2, 1]·[4] batch broadcast throws `Size(…) must match the
 *    product of shape …`; the operand is tiled first (cpu-kernels.ts, shared with the cpu engine).
 *  - Transpose of int32 or bool data on the GPU: the generated WGSL does not compile (`type
 *    mismatch for argument 2 in call to 'setOutputAtIndex', expected 'f32', got 'i32'`) and the
 *    output is garbage, and with it every other result of that command buffer (Sum of int32 over
 *    a leading axis runs such a transpose internally); the program writes through
 *    setOutputAtIndexI32 for such data.
 *  - AddN of more inputs than a shader stage may bind (`maxStorageBuffersPerShaderStage` − 1: 7 on
 *    llvmpipe's compatibility device): the pipeline is invalid (`The number of storage buffers (52) in
 *    the Compute stage exceeds the maximum per-stage limit (8)`) and, with it, every result of the
 *    command buffer (AdamW's gradient norm sums one term per parameter); summed in chunks instead.
 *  - BatchMatMul with an empty operand (K = 0): a zero-size binding invalidates the command buffer; the
 *    product is zeros (or empty) without running a program.
 *  - UnsortedSegmentSum: an id outside [0, numSegments) lands in some segment instead of being
 *    dropped (TF semantics); such rows are zeroed and their ids sent to 0 first.
 */
import * as tf from '@tensorflow/tfjs';
import { installCpuFixes } from './cpu-kernels';

type Backend = tf.KernelBackend & { makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): tf.TensorInfo };

function kernel(name: string): tf.KernelFunc {
  const k = tf.getKernel(name, 'webgpu');
  if (!k) throw new Error(`tfjs-backend-webgpu has no ${name} kernel`);
  return k.kernelFunc;
}

function replace(name: string, make: (stock: tf.KernelFunc) => tf.KernelFunc): void {
  const k = tf.getKernel(name, 'webgpu');
  if (!k) return;
  tf.unregisterKernel(name, 'webgpu');
  tf.registerKernel({ ...k, kernelFunc: make(k.kernelFunc) });
}

/** Runs webgpu kernels in sequence, disposing every intermediate it made when done. */
class Scratch {
  private made: tf.TensorInfo[] = [];
  constructor(readonly backend: Backend) {}
  run(name: string, inputs: Record<string, tf.TensorInfo>, attrs: object = {}, keep = false): tf.TensorInfo {
    const out = kernel(name)({ inputs, backend: this.backend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
    if (!keep) this.made.push(out);
    return out;
  }
  scalar(value: number, dtype: 'int32' | 'float32'): tf.TensorInfo {
    const t = this.backend.makeTensorInfo([], dtype, dtype === 'int32' ? new Int32Array([value]) : new Float32Array([value]));
    this.made.push(t);
    return t;
  }
  dispose(): void {
    for (const t of this.made) this.backend.disposeData(t.dataId);
    this.made = [];
  }
}

type Program = { shaderKey: string; getUserCode(): string };
type ProgramRunner = (program: Program, inputs: tf.TensorInfo[], outputDtype: tf.DataType, ...rest: unknown[]) => tf.TensorInfo;

/**
 * Every generic Transpose program (the Transpose kernel's, and those other kernels such as Sum
 * run internally) writes its output through `setOutputAtIndex(`, whose parameter is f32: for int32
 * or bool output it becomes `setOutputAtIndexI32(`. Patched where programs run, because one invalid
 * shader invalidates the whole command buffer (every other result in it reads as zeros).
 */
function patchTransposePrograms(backend: tf.KernelBackend): void {
  const proto = Object.getPrototypeOf(backend) as { runWebGPUProgram: ProgramRunner; __reproTransposeI32?: boolean };
  if (proto.__reproTransposeI32) return;
  const run = proto.runWebGPUProgram;
  proto.runWebGPUProgram = function (this: unknown, program: Program, inputs: tf.TensorInfo[], outputDtype: tf.DataType, ...rest: unknown[]) {
    if ((outputDtype === 'int32' || outputDtype === 'bool') && program.shaderKey.startsWith('transpose_') && !program.shaderKey.endsWith('_i32')) {
      const code = program.getUserCode.bind(program);
      program.getUserCode = () => code().replace(/setOutputAtIndex\(/g, 'setOutputAtIndexI32(');
      program.shaderKey = `${program.shaderKey}_i32`;
    }
    return run.call(this, program, inputs, outputDtype, ...rest);
  };
  proto.__reproTransposeI32 = true;
}

const segmentSumDropping = (stock: tf.KernelFunc): tf.KernelFunc => (args) => {
  const { x, segmentIds } = args.inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const { numSegments } = args.attrs as unknown as tf.UnsortedSegmentSumAttrs;
  const s = new Scratch(args.backend as Backend);
  try {
    const valid = s.run(tf.LogicalAnd, {
      a: s.run(tf.GreaterEqual, { a: segmentIds, b: s.scalar(0, 'int32') }),
      b: s.run(tf.Less, { a: segmentIds, b: s.scalar(numSegments, 'int32') }),
    });
    const ids = s.run(tf.Multiply, { a: segmentIds, b: s.run(tf.Cast, { x: valid }, { dtype: 'int32' }) });
    // [N, ...] mask broadcast over x's trailing dims
    const rows = s.run(tf.Reshape, { x: s.run(tf.Cast, { x: valid }, { dtype: x.dtype }) }, { shape: [...segmentIds.shape, ...x.shape.slice(segmentIds.shape.length).map(() => 1)] });
    const xm = s.run(tf.Multiply, { a: x, b: rows });
    return stock({ ...args, inputs: { x: xm, segmentIds: ids } });
  } finally {
    s.dispose();
  }
};

const addNChunked = (stock: tf.KernelFunc): tf.KernelFunc => (args) => {
  const inputs = args.inputs as unknown as tf.TensorInfo[];
  const be = args.backend as Backend & { device: { limits: { maxStorageBuffersPerShaderStage: number } } };
  const max = Math.max(2, be.device.limits.maxStorageBuffersPerShaderStage - 1);
  if (inputs.length <= max) return stock(args);
  const made: tf.TensorInfo[] = [];
  let parts = inputs;
  while (parts.length > max) {
    const next: tf.TensorInfo[] = [];
    for (let i = 0; i < parts.length; i += max) {
      const chunk = parts.slice(i, i + max);
      if (chunk.length === 1) next.push(chunk[0]);
      else {
        const r = stock({ ...args, inputs: chunk as unknown as tf.NamedTensorInfoMap }) as tf.TensorInfo;
        made.push(r);
        next.push(r);
      }
    }
    parts = next;
  }
  const out = stock({ ...args, inputs: parts as unknown as tf.NamedTensorInfoMap }) as tf.TensorInfo;
  for (const t of made) be.disposeData(t.dataId);
  return out;
};

/** [.., M, K]·[.., K, N] with K = 0 (or an empty output): zeros, without binding an empty buffer. */
const matMulEmpty = (stock: tf.KernelFunc): tf.KernelFunc => (args) => {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  if (a.shape.every((d) => d > 0) && b.shape.every((d) => d > 0)) return stock(args);
  const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
  const M = a.shape[a.shape.length - (transposeA ? 1 : 2)];
  const N = b.shape[b.shape.length - (transposeB ? 2 : 1)];
  const outer = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const shape = [...outer, M, N];
  return (args.backend as Backend).makeTensorInfo(shape, 'float32', new Float32Array(shape.reduce((p, d) => p * d, 1)));
};

let done = false;

/** Installs the repairs (idempotent); returns the kernel names touched. */
export function installWebGpuFixes(): string[] {
  const names = [...installCpuFixes('webgpu'), 'Transpose (int32, bool)', 'UnsortedSegmentSum (out-of-range ids)', 'AddN (more inputs than a stage binds)', 'BatchMatMul (K = 0)'];
  if (done) return names;
  patchTransposePrograms(tf.findBackend('webgpu')!);
  replace('UnsortedSegmentSum', segmentSumDropping);
  replace('AddN', addNChunked);
  replace('BatchMatMul', matMulEmpty);
  done = true;
  return names;
}
