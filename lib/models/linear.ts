/**
 * Deep linear networks with shortcut layouts: paper B's theory testbed ("ANCRe: Adaptive Neural
 * Connection Reassignment for Efficient Depth Scaling", arXiv 2602.09009, Sec. 3).
 *
 *   h_0 = X,   h_j = W_j h_{j−1} + Σ_{i<j} S_{j,i} h_i   (j = 1 … K),   L = ½ ‖h_K − Y‖²_F,
 *
 * with W_j square d×d. A layout is a set of shortcuts `i:j` (output of layer i added to the output of
 * layer j, 0 = the input), i.e. S_{j,i} = 1: `0:1` gives L = ½‖W₃W₂(W₁ + I)X − Y‖², `0:2` gives
 * L = ½‖W₃(W₂W₁ + I)X − Y‖² (the paper's two losses); `cascaded` is the standard residual net
 * ((j−1):j for every j). The ANCRe-routed network learns S: S_{l+1,i} = p_{l,i} = softmax(c_l / τ)_i over
 * the sources i ≤ l ('incoming'), or softmax over the destinations of each source ('outgoing'),
 * c = 0 at the start, the single-logit row frozen (lib/residual/ancre.ts, same equations).
 *
 * Inputs are whitened, X Xᵀ = I. Every state is h_j = M_j X with M_j the end-to-end map up to layer j, so
 * L = ½ tr((M_K − A) X Xᵀ (M_K − A)ᵀ) = ½‖M_K − A‖²_F: as a function of the weights the loss (hence the
 * whole gradient-descent trajectory) is the same for every whitened X. We use X = I_d and Y = A, at d×d
 * instead of d×N cost.
 *
 * Why plain float64 JS instead of TF.js: the matrices are at most 64×64, where TF.js's per-op overhead
 * dominates, and the theorems are about the tail of the loss (1e-10 and below) where float32 rounding
 * (~1e-7 relative) would floor the curve and fake a "sublinear" tail. The gradients, including those of
 * the routing logits c, are derived by hand below (reverse accumulation over the DAG of shortcuts) and
 * checked against finite differences in test/models/linear.test.ts.
 */
import { ConfigError, show } from '../errors';

/** Row-major d×d matrices. */
type Mat = Float64Array;

function matmul(a: Mat, b: Mat, d: number, out: Mat = new Float64Array(d * d)): Mat {
  out.fill(0);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const aik = a[i * d + k];
      if (aik === 0) continue;
      const bo = k * d;
      const oo = i * d;
      for (let j = 0; j < d; j++) out[oo + j] += aik * b[bo + j];
    }
  }
  return out;
}

/** aᵀ b */
function matmulTA(a: Mat, b: Mat, d: number, out: Mat = new Float64Array(d * d)): Mat {
  out.fill(0);
  for (let k = 0; k < d; k++) {
    for (let i = 0; i < d; i++) {
      const aki = a[k * d + i];
      if (aki === 0) continue;
      const bo = k * d;
      const oo = i * d;
      for (let j = 0; j < d; j++) out[oo + j] += aki * b[bo + j];
    }
  }
  return out;
}

/** a bᵀ */
function matmulTB(a: Mat, b: Mat, d: number, out: Mat = new Float64Array(d * d)): Mat {
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      let s = 0;
      const ao = i * d;
      const bo = j * d;
      for (let k = 0; k < d; k++) s += a[ao + k] * b[bo + k];
      out[i * d + j] = s;
    }
  }
  return out;
}

function dot(a: Mat, b: Mat): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** out += c·a */
function axpy(c: number, a: Mat, out: Mat): void {
  if (c === 0) return;
  for (let i = 0; i < a.length; i++) out[i] += c * a[i];
}

export function identity(d: number): Mat {
  const m = new Float64Array(d * d);
  for (let i = 0; i < d; i++) m[i * d + i] = 1;
  return m;
}

/** A seeded float64 normal generator (mulberry32 + Box–Muller). */
export function normalRng(seed: number): () => number {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

export function randomMatrix(d: number, std: number, rand: () => number): Mat {
  const m = new Float64Array(d * d);
  for (let i = 0; i < m.length; i++) m[i] = std * rand();
  return m;
}

// ---------------------------------------------------------------------------------------------
// Layouts
// ---------------------------------------------------------------------------------------------

/** A shortcut i:j, 0 ≤ i < j ≤ K. */
export type Shortcut = readonly [number, number];

/**
 * Parses a layout for K layers: 'cascaded' (every (j−1):j), 'none', or shortcuts joined by '+',
 * e.g. '0:2+2:3'. 'ancre' is not a fixed layout (see LinearNet's routing option).
 */
export function parseLayout(spec: string, K: number): Shortcut[] {
  if (spec === 'cascaded') return Array.from({ length: K }, (_, j) => [j, j + 1] as const);
  if (spec === 'none') return [];
  const out: Shortcut[] = [];
  for (const part of spec.split('+')) {
    const m = /^(\d+):(\d+)$/.exec(part.trim());
    const [i, j] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
    if (!m || !(i >= 0 && i < j && j <= K)) {
      throw new ConfigError(
        `bad shortcut ${show(part)} in layout ${show(spec)}; expected 'i:j' with 0 <= i < j <= ${K}, 'cascaded' or 'none'`,
      );
    }
    if (out.some(([a, b]) => a === i && b === j)) throw new ConfigError(`shortcut ${i}:${j} repeated in layout ${show(spec)}`);
    out.push([i, j]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The network
// ---------------------------------------------------------------------------------------------

export interface LinearNetOptions {
  /** Layers K. */
  depth: number;
  /** Width d. */
  dim: number;
  /** Fixed shortcuts, or 'ancre' for learned softmax routing. */
  layout: Shortcut[] | 'ancre';
  /** ANCRe softmax temperature τ. */
  tau?: number;
  /** ANCRe normalisation. */
  normalisation?: 'incoming' | 'outgoing';
  /** Initial weights W_1 … W_K (copied). */
  init: Mat[];
}

export interface Gradients {
  loss: number;
  /** dL/dW_j, j = 1 … K (index j − 1). */
  dW: Mat[];
  /** dL/dc, same layout as `c` (empty for fixed layouts). */
  dc: number[][];
}

export class LinearNet {
  readonly K: number;
  readonly d: number;
  readonly W: Mat[];
  readonly learned: boolean;
  readonly tau: number;
  readonly normalisation: 'incoming' | 'outgoing';
  /** ANCRe logits: row l (incoming: over sources 0…l) or source i (outgoing: over destinations i…K−1). */
  readonly c: number[][] = [];
  /** Fixed shortcut coefficients S[j][i] (j = 1…K, i < j) for fixed layouts. */
  private readonly S0: number[][];

  constructor(opts: LinearNetOptions) {
    this.K = opts.depth;
    this.d = opts.dim;
    if (opts.init.length !== this.K) throw new ConfigError(`need ${this.K} initial matrices; got ${opts.init.length}`);
    this.W = opts.init.map((w) => Float64Array.from(w));
    this.learned = opts.layout === 'ancre';
    this.tau = opts.tau ?? 0.01;
    this.normalisation = opts.normalisation ?? 'incoming';
    this.S0 = Array.from({ length: this.K + 1 }, () => new Array<number>(this.K + 1).fill(0));
    if (opts.layout === 'ancre') {
      for (let r = 0; r < this.K; r++) this.c.push(new Array<number>(this.normalisation === 'incoming' ? r + 1 : this.K - r).fill(0));
    } else {
      for (const [i, j] of opts.layout) this.S0[j][i] = 1;
    }
  }

  private static softmax(z: number[], tau: number): number[] {
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp((v - m) / tau));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  }

  /** Shortcut coefficients S[j][i] (target j = 1…K, source i < j); the ANCRe routing matrix p[l][i] = S[l+1][i]. */
  shortcuts(): number[][] {
    if (!this.learned) return this.S0.map((r) => r.slice());
    const S = Array.from({ length: this.K + 1 }, () => new Array<number>(this.K + 1).fill(0));
    for (let r = 0; r < this.K; r++) {
      const p = LinearNet.softmax(this.c[r], this.tau);
      p.forEach((v, m) => {
        if (this.normalisation === 'incoming') S[r + 1][m] = v;
        else S[r + m + 1][r] = v;
      });
    }
    return S;
  }

  /** The routing matrix as K rows of K (p[l][i], source h_i into h_{l+1}), like Wiring.coefficients(). */
  routing(): number[][] {
    const S = this.shortcuts();
    return Array.from({ length: this.K }, (_, l) => S[l + 1].slice(0, this.K));
  }

  /** States h_0 = I, h_1 … h_K (each d×d: the end-to-end maps, since X = I). */
  forward(S = this.shortcuts()): Mat[] {
    const d = this.d;
    const h: Mat[] = [identity(d)];
    for (let j = 1; j <= this.K; j++) {
      const hj = matmul(this.W[j - 1], h[j - 1], d);
      for (let i = 0; i < j; i++) axpy(S[j][i], h[i], hj);
      h.push(hj);
    }
    return h;
  }

  /** ½‖h_K − A‖²_F. */
  loss(A: Mat): number {
    const hK = this.forward()[this.K];
    let s = 0;
    for (let i = 0; i < hK.length; i++) s += (hK[i] - A[i]) ** 2;
    return s / 2;
  }

  /** Loss and gradients by reverse accumulation: G_j = dL/dh_j, collected from every consumer of h_j. */
  gradients(A: Mat): Gradients {
    const { K, d } = this;
    const S = this.shortcuts();
    const h = this.forward(S);
    const G: Mat[] = h.map(() => new Float64Array(d * d));
    let loss = 0;
    for (let i = 0; i < A.length; i++) {
      const r = h[K][i] - A[i];
      G[K][i] = r;
      loss += r * r;
    }
    loss /= 2;
    const dW: Mat[] = new Array(K);
    const dS = Array.from({ length: K + 1 }, () => new Array<number>(K + 1).fill(0));
    const tmp = new Float64Array(d * d);
    for (let j = K; j >= 1; j--) {
      // G_j is complete: h_j only feeds layers > j, all done.
      dW[j - 1] = matmulTB(G[j], h[j - 1], d); // dL/dW_j = G_j h_{j−1}ᵀ
      matmulTA(this.W[j - 1], G[j], d, tmp); // W_jᵀ G_j flows into h_{j−1}
      axpy(1, tmp, G[j - 1]);
      for (let i = 0; i < j; i++) {
        if (this.learned) dS[j][i] = dot(G[j], h[i]);
        axpy(S[j][i], G[j], G[i]);
      }
    }
    const dc: number[][] = [];
    if (this.learned) {
      // Softmax Jacobian: dL/dc_m = (1/τ) p_m (g_m − Σ_n p_n g_n), g = dL/dp.
      for (let r = 0; r < K; r++) {
        const p = LinearNet.softmax(this.c[r], this.tau);
        const g = p.map((_, m) => (this.normalisation === 'incoming' ? dS[r + 1][m] : dS[r + m + 1][r]));
        const mean = p.reduce((s, pm, m) => s + pm * g[m], 0);
        // A single logit is frozen (c_0 incoming, the last source outgoing): its gradient is 0 anyway.
        dc.push(p.map((pm, m) => (p.length === 1 ? 0 : (pm * (g[m] - mean)) / this.tau)));
      }
    }
    return { loss, dW, dc };
  }

  /** One full-batch gradient-descent step with step size lr (on W and c alike); returns the loss before it. */
  step(A: Mat, lr: number): number {
    const { loss, dW, dc } = this.gradients(A);
    for (let j = 0; j < this.K; j++) axpy(-lr, dW[j], this.W[j]);
    dc.forEach((row, r) => row.forEach((g, m) => (this.c[r][m] -= lr * g)));
    return loss;
  }
}
