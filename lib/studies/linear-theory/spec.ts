/**
 * `linear-theory`: paper B's theorems on deep linear networks ("ANCRe: Adaptive Neural Connection
 * Reassignment for Efficient Depth Scaling", arXiv 2602.09009, Sec. 3), reproduced numerically.
 *
 *   L_{0:1} = ½‖W₃W₂(W₁ + I)X − Y‖²_F   Theorem 3.2: for some small init, L(t) ≥ Ω(1/t²) (at best sublinear)
 *   L_{0:2} = ½‖W₃(W₂W₁ + I)X − Y‖²_F   Theorem 3.3: for any small enough init, L(t) ≤ L(0)·exp(−2(1−λ)²t)
 *   4 layers: `0:2 + 2:3` is the best layout; ANCRe converges linearly like the best fixed layout.
 *
 * Setting: whitened inputs (X = I_d, see lib/models/linear.ts), Y = A X with A_ij ~ N(0, targetScale²/d),
 * W_j,ij ~ N(0, initScale²/d) (small), full-batch gradient descent with step η: t = η·step approximates
 * gradient-flow time, and every rate below is per unit of t. The same A and the same initial weights are
 * used by every layout of a given depth, seed and dim (paired comparison).
 *
 * Metrics per run (over the tail = the last `tail` fraction of the run; a run stops early once
 * L ≤ floor·L(0), where float64 rounding begins):
 *   rate          −d ln L / dt, least squares over the tail (linear convergence ⇔ a positive constant)
 *   loglogSlope   d ln L / d ln t over the tail (a power law t^−p has slope −p; Ω(1/t²) means ≥ −2)
 *   regime        'linear' when loglogSlope < −5 (faster than any low power of t), else 'sublinear';
 *                 isLinear = 1 / 0 the same
 *   lossT2        L(T)·T² at the end (bounded away from 0 for a 1/t² process)
 *   stepsTo1e3    first step with L ≤ 1e-3·L(0) (null when never reached)
 */
import type { DeepPartial, PresetName } from '../../config';
import { ConfigError, checkNumber, checkPositiveInt, checkOneOf, show, checkSeeds, checkTau } from '../../errors';
import { LinearNet, normalRng, parseLayout, randomMatrix } from '../../models/linear';
import type { Experiment, Json, RunContext, RunResult, RunSpec } from '../../runner/types';

export interface LinearTheoryConfig {
  /**
   * Rows: `<K>L <layout>` with layout 'cascaded', 'none', shortcuts like '0:2+2:3', or 'ancre'
   * (optionally `ancre tau=1`, overriding `tau`). E.g. '3L 0:2', '4L 0:2+2:3', '4L ancre tau=0.01'.
   */
  layouts: string[];
  /** Widths d of the square layers. */
  dims: number[];
  /** Seeds: one run per (layout, dim, seed). */
  seeds: number[];
  /** Gradient-descent steps (budget; a run stops earlier at the float64 floor). */
  steps: number;
  /** Step size η (t = η·step). */
  lr: number;
  /** Initial weights N(0, initScale²/d) entrywise: spectral norm ≈ 2·initScale. */
  initScale: number;
  /** Target A entries N(0, targetScale²/d): spectral norm ≈ 2·targetScale. */
  targetScale: number;
  /** ANCRe softmax temperature τ for `ancre` rows without their own. */
  tau: number;
  /** ANCRe normalisation. */
  normalisation: 'incoming' | 'outgoing';
  /** Stop once L ≤ floor·L(0). */
  floor: number;
  /** Fraction of the run used by the tail fits. */
  tail: number;
  /** Points kept in the loss history (subsampled uniformly in steps). */
  historyPoints: number;
}

const defaults: LinearTheoryConfig = {
  layouts: [
    '3L cascaded',
    '3L 0:1',
    '3L 0:2',
    '3L none',
    '3L ancre',
    '3L ancre tau=0.01',
    '4L cascaded',
    '4L 0:1',
    '4L 0:3',
    '4L 0:2+2:3',
    '4L 0:1+1:3',
    '4L 0:1+0:2+0:3',
    '4L ancre',
    '4L ancre tau=0.01',
  ],
  dims: [8, 16, 32],
  seeds: [0, 1, 2],
  steps: 30000,
  lr: 0.01,
  initScale: 0.05,
  targetScale: 1,
  // τ = 1, not the transformer default 0.01: with plain gradient descent a logit step is η·g/τ, so at
  // τ = 0.01 the first step already saturates the softmax and the routing is frozen greedily (the
  // `ancre tau=0.01` rows show it); Adam's normalised steps in the transformer experiments do not do that.
  tau: 1,
  normalisation: 'incoming',
  floor: 1e-20,
  tail: 0.3,
  historyPoints: 300,
};

const presets: Record<PresetName, DeepPartial<LinearTheoryConfig>> = {
  smoke: { layouts: ['3L cascaded', '3L 0:1', '3L 0:2', '4L 0:2+2:3', '4L ancre'], dims: [4], seeds: [0], steps: 1500 },
  cpu: {},
  paper: { dims: [16, 32, 64], seeds: [0, 1, 2, 3, 4], steps: 100000 },
};

export interface ParsedLayout {
  depth: number;
  layout: string;
  tau: number | null;
}

/** '4L 0:2+2:3' -> { depth 4, layout '0:2+2:3' }; '3L ancre tau=0.01' -> { depth 3, layout 'ancre', tau 0.01 }. */
export function parseRow(row: string): ParsedLayout {
  const m = /^(\d+)L (\S+)(?: tau=(\S+))?$/.exec(row);
  const bad = () => new ConfigError(`bad layout row ${show(row)}; expected '<K>L <layout>', e.g. '3L 0:2', '4L 0:2+2:3', '4L ancre tau=1'`);
  if (!m) throw bad();
  const depth = Number(m[1]);
  if (!(depth >= 1 && depth <= 12)) throw new ConfigError(`depth in ${show(row)} must be an integer in [1, 12]; got ${depth}`);
  const tau = m[3] === undefined ? null : Number(m[3]);
  if (tau !== null) checkTau(`tau in ${show(row)}`, tau);
  if (m[2] !== 'ancre') {
    if (tau !== null) throw bad();
    parseLayout(m[2], depth);
  }
  return { depth, layout: m[2], tau };
}

function validate(c: LinearTheoryConfig): void {
  if (!Array.isArray(c.layouts) || !c.layouts.length) throw new ConfigError(`layouts must be a non-empty list; got ${show(c.layouts)}`);
  c.layouts.forEach(parseRow);
  for (const [name, list] of [['dims', c.dims], ['seeds', c.seeds]] as const) {
    if (!Array.isArray(list) || !list.length) throw new ConfigError(`${name} must be a non-empty list; got ${show(list)}`);
  }
  c.dims.forEach((d, i) => checkNumber(`dims[${i}]`, d, { lo: 1, hi: 128, integer: true }));
  checkSeeds(c.seeds);
  checkPositiveInt('steps', c.steps);
  checkNumber('lr', c.lr, { lo: 0, loOpen: true, hi: 1 });
  checkNumber('initScale', c.initScale, { lo: 0, loOpen: true });
  checkNumber('targetScale', c.targetScale, { lo: 0, loOpen: true });
  checkTau('tau', c.tau);
  checkOneOf('normalisation', c.normalisation, ['incoming', 'outgoing'] as const);
  checkNumber('floor', c.floor, { lo: 0, loOpen: true, hi: 1, hiOpen: true });
  checkNumber('tail', c.tail, { lo: 0, loOpen: true, hi: 1 });
  checkNumber('historyPoints', c.historyPoints, { lo: 2, integer: true });
}

/** The fields one run needs (everything but the lists). */
export interface LinearRunConfig {
  row: string;
  depth: number;
  layout: string;
  dim: number;
  steps: number;
  lr: number;
  initScale: number;
  targetScale: number;
  tau: number | null;
  normalisation: 'incoming' | 'outgoing' | null;
  floor: number;
  tail: number;
  historyPoints: number;
}

function runs(c: LinearTheoryConfig): RunSpec[] {
  const out: RunSpec[] = [];
  for (const dim of c.dims) {
    for (const row of c.layouts) {
      const p = parseRow(row);
      const ancre = p.layout === 'ancre';
      const config: LinearRunConfig = {
        row,
        depth: p.depth,
        layout: p.layout,
        dim,
        steps: c.steps,
        lr: c.lr,
        initScale: c.initScale,
        targetScale: c.targetScale,
        // Only ANCRe rows depend on τ and the normalisation, so changing them reuses the fixed rows.
        tau: ancre ? (p.tau ?? c.tau) : null,
        normalisation: ancre ? c.normalisation : null,
        floor: c.floor,
        tail: c.tail,
        historyPoints: c.historyPoints,
      };
      const name = ancre ? `${p.depth}L ancre τ=${config.tau}` : row;
      for (const seed of c.seeds) out.push({ row: `${name} d=${dim}`, seed, config: config as unknown as { [k: string]: Json } });
    }
  }
  return out;
}

/** Least-squares slope of y on x. */
export function slope(x: number[], y: number[]): number {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
  }
  return sxx > 0 ? sxy / sxx : 0;
}

/** Seeds for the target (per seed, dim) and the initial weights (per seed, dim, depth). */
function seedOf(...parts: number[]): number {
  return parts.reduce((h, p) => (Math.imul(h ^ p, 0x9e3779b1) + 0x7f4a7c15) >>> 0, 0x12345);
}

/**
 * Trains one network; returns its full loss curve (one value per step) and the network.
 * Yields to the event loop about every 100 ms: when the runner executes in the notebook's own process
 * (one worker), a loop that never yields starves the kernel's output socket (tslab dies with EBUSY).
 */
export async function trainLinear(c: LinearRunConfig, seed: number, onProgress?: (done: number, total: number, info?: string) => void) {
  const { depth: K, dim: d } = c;
  const A = randomMatrix(d, c.targetScale / Math.sqrt(d), normalRng(seedOf(seed, d)));
  const rand = normalRng(seedOf(seed, d, K));
  const init = Array.from({ length: K }, () => randomMatrix(d, c.initScale / Math.sqrt(d), rand));
  const net = new LinearNet({
    depth: K,
    dim: d,
    layout: c.layout === 'ancre' ? 'ancre' : parseLayout(c.layout, K),
    tau: c.tau ?? undefined,
    normalisation: c.normalisation ?? undefined,
    init,
  });
  const losses: number[] = [];
  let lastYield = Date.now();
  for (let s = 0; s <= c.steps; s++) {
    if (Date.now() - lastYield > 100) {
      await new Promise((resolve) => setImmediate(resolve));
      lastYield = Date.now();
    }
    // step() returns the loss before its update: losses[s] = L after s updates.
    const l = s < c.steps ? net.step(A, c.lr) : net.loss(A);
    if (!Number.isFinite(l)) throw new ConfigError(`loss diverged at step ${s} (${l}); lower lr (now ${c.lr})`);
    losses.push(l);
    if (l <= c.floor * losses[0]) break;
    if (onProgress && s % 5000 === 0) onProgress(s, c.steps, `L/L0 ${(l / losses[0]).toExponential(1)}`);
  }
  return { losses, net };
}

/** The table metrics of one loss curve (t = lr·step). */
export function curveMetrics(losses: number[], lr: number, tail: number, floor: number) {
  const last = losses.length - 1;
  const L0 = losses[0];
  const from = Math.max(1, Math.floor(last * (1 - tail)));
  const t: number[] = [];
  const lnL: number[] = [];
  const lnT: number[] = [];
  for (let s = from; s <= last; s++) {
    t.push(lr * s);
    lnT.push(Math.log(lr * s));
    lnL.push(Math.log(losses[s]));
  }
  const rate = -slope(t, lnL);
  const loglogSlope = slope(lnT, lnL);
  const to1e3 = losses.findIndex((l) => l <= 1e-3 * L0);
  const T = lr * last;
  return {
    initialLoss: L0,
    finalLoss: losses[last],
    relLoss: losses[last] / L0,
    rate,
    loglogSlope,
    regime: loglogSlope < -5 ? 'linear' : 'sublinear',
    /** 1 when linear, so a summary's mean is the fraction of runs that converge linearly. */
    isLinear: loglogSlope < -5 ? 1 : 0,
    lossT2: losses[last] * T * T,
    /** log10 of L(T)/L(0) and of L(T)·T²: these span 20 decades, so tables average their logs. */
    log10RelLoss: Math.log10(losses[last] / L0),
    log10LossT2: Math.log10(losses[last] * T * T),
    stepsTo1e3: to1e3 < 0 ? null : to1e3,
    tTo1e3: to1e3 < 0 ? null : lr * to1e3,
    stepsRun: last,
    reachedFloor: losses[last] <= floor * L0,
  };
}

async function runOne(spec: RunSpec, ctx: RunContext): Promise<RunResult> {
  const c = spec.config as unknown as LinearRunConfig;
  const t0 = Date.now();
  const { losses, net } = await trainLinear(c, spec.seed, ctx.progress);
  ctx.progress(c.steps, c.steps, `L/L0 ${(losses[losses.length - 1] / losses[0]).toExponential(1)}`);
  const m = curveMetrics(losses, c.lr, c.tail, c.floor);
  const last = losses.length - 1;
  const n = Math.min(c.historyPoints, losses.length);
  const idx = Array.from({ length: n }, (_, i) => Math.round((i * last) / (n - 1)));
  return {
    metrics: { depth: c.depth, layout: c.layout, dim: c.dim, tau: c.tau, ...m, seconds: (Date.now() - t0) / 1000 },
    history: { step: idx, t: idx.map((s) => s * c.lr), loss: idx.map((s) => losses[s]) },
    extra: c.layout === 'ancre' ? { routing: net.routing() } : {},
  };
}

export const experiment: Experiment<LinearTheoryConfig> = {
  name: 'linear-theory',
  title: 'ANCRe Theorems 3.2/3.3: shortcut layout sets the convergence rate of deep linear networks',
  defaults,
  presets,
  validate,
  runs,
  runOne,
};
