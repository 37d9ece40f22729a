/**
 * Where a training step's time goes, per TF.js kernel (forward and gradient kernels alike), from
 * tf.profile, with every kernel call timed in this process's CPU time (user + system) instead of
 * the engine's wall-clock timer: on a shared machine wall time mostly measures the other work.
 * Exact for the synchronous wasm and cpu engines. What no kernel accounts for (tape, tidy, JS
 * glue, the fused optimiser's loop) is the `(outside kernels)` row. A custom-gradient op
 * ('unnamed scope') is timed as a whole and its inner kernels again: it is shown, not summed.
 * Used by `npm run bench` to decide what to fuse.
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
  /** CPU time of the profiled call, ms (profiling adds a little per kernel) */
  totalMs: number;
  kernelCalls: number;
  rows: OpProfileRow[];
}

/** Profiles one call of `f` (run it once before to warm caches). Rows sorted by time. */
export async function profileOps(f: () => unknown | Promise<unknown>): Promise<OpProfile> {
  const check = tf.env().getBool('CHECK_COMPUTATION_FOR_ERRORS');
  tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', false); // it reads every output back
  const be = tf.backend() as unknown as { time(f: () => void): Promise<{ kernelMs: number }> };
  const wallTimer = be.time;
  const sync = tf.getBackend() === 'wasm' || tf.getBackend() === 'cpu';
  if (sync) {
    be.time = async (g: () => void) => {
      const c0 = process.cpuUsage();
      g();
      const c = process.cpuUsage(c0);
      return { kernelMs: (c.user + c.system) / 1000 };
    };
  }
  try {
    const c0 = process.cpuUsage();
    const info = await tf.profile(async () => {
      await f();
    });
    const cu = process.cpuUsage(c0);
    const totalMs = (cu.user + cu.system) / 1000;
    const by = new Map<string, { calls: number; ms: number }>();
    for (const k of info.kernels) {
      const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      const e = by.get(k.name) ?? { calls: 0, ms: 0 };
      e.calls += 1;
      e.ms += ms;
      by.set(k.name, e);
    }
    const kernelMs = [...by.entries()].filter(([k]) => k !== 'unnamed scope').reduce((s, [, e]) => s + e.ms, 0);
    const rows: OpProfileRow[] = [...by.entries()].map(([op, e]) => ({ op, calls: e.calls, ms: e.ms, share: e.ms / totalMs }));
    rows.push({ op: '(outside kernels)', calls: 0, ms: Math.max(0, totalMs - kernelMs), share: Math.max(0, totalMs - kernelMs) / totalMs });
    rows.sort((a, b) => b.ms - a.ms);
    return { totalMs, kernelCalls: info.kernels.length, rows };
  } finally {
    if (sync) be.time = wallTimer;
    tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', check);
  }
}
