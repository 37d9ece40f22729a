/**
 * Where a training step's time goes, per TF.js kernel (forward and gradient kernels alike), from
 * tf.profile, with every kernel call timed in this process's CPU time (user + system) instead of
 * the engine's wall-clock timer: on a shared machine wall time mostly measures the other work.
 * Exact for the synchronous wasm and cpu engines. What no kernel accounts for (tape, tidy, JS
 * glue, the fused optimiser's loop) is the `(outside kernels)` row. tf.profile itself costs tens of µs per
 * kernel call (1900 calls: +130 ms on a 160 ms step), so with `stepMs` (the same step's CPU time measured
 * without the profiler) shares and `(outside kernels)` are taken against that time, and the profiler's own
 * cost is reported apart (`profilerMs`); the timer's own cost (two cpuUsage calls, calibrated) is taken off
 * each kernel's time. Kernel times stay approximate at the µs scale (CPU time has µs resolution). A custom-gradient op
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
  /** the step's CPU time, ms: `stepMs` when given (measured without the profiler), else the profiled call's */
  totalMs: number;
  /** CPU time of the profiled call, ms */
  profiledMs: number;
  /** what the profiler added: profiledMs − stepMs (0 without stepMs) */
  profilerMs: number;
  kernelCalls: number;
  rows: OpProfileRow[];
}

/** Profiles one call of `f` (run it once before to warm caches). Rows sorted by time. */
export async function profileOps(f: () => unknown | Promise<unknown>, opts: { stepMs?: number } = {}): Promise<OpProfile> {
  const check = tf.env().getBool('CHECK_COMPUTATION_FOR_ERRORS');
  tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', false); // it reads every output back
  const be = tf.backend() as unknown as { time(f: () => void): Promise<{ kernelMs: number }> };
  const wallTimer = be.time;
  const sync = tf.getBackend() === 'wasm' || tf.getBackend() === 'cpu';
  // the cost of the timer itself (two cpuUsage calls), taken off every kernel's time
  let timerMs = 0;
  if (sync) {
    const n = 200;
    const t0 = process.cpuUsage();
    for (let i = 0; i < n; i++) process.cpuUsage(process.cpuUsage());
    const t = process.cpuUsage(t0);
    timerMs = (t.user + t.system) / 1000 / n;
    be.time = async (g: () => void) => {
      const c0 = process.cpuUsage();
      g();
      const c = process.cpuUsage(c0);
      return { kernelMs: Math.max(0, (c.user + c.system) / 1000 - timerMs) };
    };
  }
  try {
    const c0 = process.cpuUsage();
    const info = await tf.profile(async () => {
      await f();
    });
    const cu = process.cpuUsage(c0);
    const profiledMs = (cu.user + cu.system) / 1000;
    const totalMs = opts.stepMs && opts.stepMs > 0 ? opts.stepMs : profiledMs;
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
    return { totalMs, profiledMs, profilerMs: Math.max(0, profiledMs - totalMs), kernelCalls: info.kernels.length, rows };
  } finally {
    if (sync) be.time = wallTimer;
    tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', check);
  }
}
