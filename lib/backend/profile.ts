/**
 * Where a training step's time goes, per TF.js kernel (forward and gradient kernels alike), from
 * tf.profile: each kernel call is timed by the engine (synchronously on wasm and cpu). What no
 * kernel accounts for (tape, tidy, JS glue, the optimiser's own loop when fused) is the
 * `(outside kernels)` row. Used by `npm run bench` to decide what to fuse.
 */
import * as tf from '@tensorflow/tfjs';

export interface OpProfileRow {
  /** kernel name ('BatchMatMul', 'Softmax', ...) or '(outside kernels)' */
  op: string;
  calls: number;
  ms: number;
  /** fraction of the step's wall time */
  share: number;
}

export interface OpProfile {
  /** wall time of the profiled call, ms (profiling adds a little per kernel) */
  totalMs: number;
  kernelCalls: number;
  rows: OpProfileRow[];
}

/** Profiles one call of `f` (run it once before to warm caches). Rows sorted by time. */
export async function profileOps(f: () => unknown | Promise<unknown>): Promise<OpProfile> {
  const check = tf.env().getBool('CHECK_COMPUTATION_FOR_ERRORS');
  tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', false); // it reads every output back
  try {
    const t0 = performance.now();
    const info = await tf.profile(async () => {
      await f();
    });
    const totalMs = performance.now() - t0;
    const by = new Map<string, { calls: number; ms: number }>();
    for (const k of info.kernels) {
      const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      const e = by.get(k.name) ?? { calls: 0, ms: 0 };
      e.calls += 1;
      e.ms += ms;
      by.set(k.name, e);
    }
    const kernelMs = [...by.values()].reduce((s, e) => s + e.ms, 0);
    const rows: OpProfileRow[] = [...by.entries()].map(([op, e]) => ({ op, calls: e.calls, ms: e.ms, share: e.ms / totalMs }));
    rows.push({ op: '(outside kernels)', calls: 0, ms: Math.max(0, totalMs - kernelMs), share: Math.max(0, totalMs - kernelMs) / totalMs });
    rows.sort((a, b) => b.ms - a.ms);
    return { totalMs, kernelCalls: info.kernels.length, rows };
  } finally {
    tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', check);
  }
}
