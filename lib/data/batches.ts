/**
 * Seeded, resumable minibatches.
 *
 * BatchSampler: each epoch is a fresh permutation of 0..n-1 drawn from `Rng.derive(seed, 'epoch', e)`,
 * so the whole sampler state is six small integers ({n, batchSize, seed, epoch, position, dropLast}):
 * a checkpoint stores it as JSON and `fromState` continues with exactly the batches an uninterrupted
 * run would have drawn, mid-epoch included.
 *
 * SequenceSampler (for language models): the token stream is cut into non-overlapping windows of
 * T tokens starting at 0, T, 2T, ...; each window is read with one extra token so that inputs are
 * window[0:T] and targets window[1:T+1]. A BatchSampler over the windows gives the order.
 *
 * Letters: N examples, B batch, H×W image, T sequence length.
 */
import { ConfigError, DataError, checkNumber, show } from '../errors';
import type { ImageSet } from './image-set';
import { Rng } from './rng';

export interface BatchSamplerState {
  n: number;
  batchSize: number;
  seed: number;
  /** Epochs completed before the current one (0-based index of the current epoch). */
  epoch: number;
  /** Examples of the current epoch already handed out. */
  position: number;
  /** Whether an epoch's last partial batch is skipped (constant batch shapes). */
  dropLast: boolean;
}

export interface BatchSamplerOptions {
  /** Skip each epoch's last partial batch; default true (tf.js recompiles nothing for a new shape, but losses average evenly). */
  dropLast?: boolean;
}

export class BatchSampler {
  private perm: Int32Array | null = null;
  private permEpoch = -1;

  private s: BatchSamplerState;

  /** A sampler of `batchSize` indices out of 0..n-1, reshuffled every epoch from `seed`. */
  constructor(n: number, batchSize: number, seed: number, opts: BatchSamplerOptions = {}) {
    this.s = checkState({ n, batchSize, seed, epoch: 0, position: 0, dropLast: opts.dropLast ?? true }, ConfigError);
  }

  /** Continues from `state()`; throws DataError on a state that `state()` could not have produced. */
  static fromState(s: BatchSamplerState): BatchSampler {
    const checked = checkState(s, DataError);
    const b = new BatchSampler(checked.n, checked.batchSize, checked.seed, { dropLast: checked.dropLast });
    b.s = checked;
    return b;
  }

  /** A JSON-safe copy of the position; see BatchSamplerState. */
  state(): BatchSamplerState {
    return { ...this.s };
  }

  get epoch(): number {
    return this.s.epoch;
  }

  /** Batches per epoch. */
  get batchesPerEpoch(): number {
    const { n, batchSize, dropLast } = this.s;
    return dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
  }

  /** The next batch of indices. // [B] (B smaller only for the last batch of an epoch when dropLast is false) */
  next(): Int32Array {
    const st = this.s;
    const left = st.n - st.position;
    if (left <= 0 || (st.dropLast && left < st.batchSize)) {
      st.epoch += 1;
      st.position = 0;
    }
    if (this.permEpoch !== st.epoch) {
      this.perm = Rng.derive(st.seed, 'epoch', st.epoch).permutation(st.n);
      this.permEpoch = st.epoch;
    }
    const end = Math.min(st.position + st.batchSize, st.n);
    const out = this.perm!.slice(st.position, end);
    st.position = end;
    return out;
  }
}

function checkState(s: BatchSamplerState, E: typeof ConfigError | typeof DataError): BatchSamplerState {
  const fail = (why: string): never => {
    throw new E(`invalid BatchSampler state ${show(s)}: ${why}`);
  };
  if (typeof s !== 'object' || s === null) fail('not an object');
  const int = (name: keyof BatchSamplerState, lo: number, hi = 2 ** 31 - 1) => {
    const v = s[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) fail(`${name} must be an integer in [${lo}, ${hi}]; got ${show(v)}`);
  };
  int('n', 1);
  int('batchSize', 1);
  int('seed', -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  int('epoch', 0);
  int('position', 0, s.n);
  if (typeof s.dropLast !== 'boolean') fail(`dropLast must be true or false; got ${show(s.dropLast)}`);
  if (s.dropLast && s.batchSize > s.n) fail(`batchSize ${s.batchSize} is larger than n = ${s.n} with dropLast: no batch could be drawn`);
  return { n: s.n, batchSize: s.batchSize, seed: s.seed, epoch: s.epoch, position: s.position, dropLast: s.dropLast };
}

/** Copies the images at `indices` into one array. // [B, H, W] */
export function gatherImages(set: ImageSet, indices: ArrayLike<number>): Float32Array {
  const hw = set.height * set.width;
  const out = new Float32Array(indices.length * hw);
  for (let b = 0; b < indices.length; b++) {
    const i = indices[b];
    if (!(i >= 0 && i < set.n) || !Number.isInteger(i)) throw new ConfigError(`index ${i} is outside ${set.name} [0, ${set.n})`);
    out.set(set.images.subarray(i * hw, (i + 1) * hw), b * hw);
  }
  return out;
}

/** The labels at `indices`. // [B] */
export function gatherLabels(set: ImageSet, indices: ArrayLike<number>): Int32Array {
  const out = new Int32Array(indices.length);
  for (let b = 0; b < indices.length; b++) {
    const i = indices[b];
    if (!(i >= 0 && i < set.n) || !Number.isInteger(i)) throw new ConfigError(`index ${i} is outside ${set.name} [0, ${set.n})`);
    out[b] = set.labels[i];
  }
  return out;
}

/** FNV-1a over the tokens: a resumed sequence sampler checks it is reading the same stream. */
export function hashTokens(tokens: Int32Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < tokens.length; i++) {
    let v = tokens[i];
    for (let k = 0; k < 4; k++) {
      h ^= v & 0xff;
      h = Math.imul(h, 0x01000193);
      v >>>= 8;
    }
  }
  return h >>> 0;
}

export interface SequenceBatch {
  /** Windows of T+1 tokens. // [B, T+1] row-major */
  data: Int32Array;
  batchSize: number;
  seqLen: number;
}

export interface SequenceSamplerState {
  seqLen: number;
  numTokens: number;
  tokensHash: number;
  windows: BatchSamplerState;
}

export class SequenceSampler {
  private constructor(
    private readonly tokens: Int32Array,
    private readonly seqLen: number,
    private readonly tokensHash: number,
    private readonly windows: BatchSampler,
  ) {}

  static create(tokens: Int32Array, seqLen: number, batchSize: number, seed: number): SequenceSampler {
    checkNumber('seqLen', seqLen, { lo: 1, integer: true });
    checkNumber('batchSize', batchSize, { lo: 1, integer: true });
    const count = Math.floor((tokens.length - 1) / seqLen);
    if (count < batchSize) {
      throw new ConfigError(`${tokens.length} tokens make ${count} windows of ${seqLen}+1; need at least batchSize = ${batchSize}`);
    }
    return new SequenceSampler(tokens, seqLen, hashTokens(tokens), new BatchSampler(count, batchSize, seed, { dropLast: true }));
  }

  /** Continues from `state()` over the same `tokens` (checked by length and hash). */
  static fromState(tokens: Int32Array, s: SequenceSamplerState): SequenceSampler {
    const fail = (why: string): never => {
      throw new DataError(`invalid SequenceSampler state: ${why}`);
    };
    if (typeof s !== 'object' || s === null) fail('not an object');
    if (!Number.isInteger(s.seqLen) || s.seqLen < 1) fail(`seqLen must be a positive integer; got ${show(s.seqLen)}`);
    if (s.numTokens !== tokens.length) fail(`it was made for ${show(s.numTokens)} tokens; got ${tokens.length}`);
    const h = hashTokens(tokens);
    if (s.tokensHash !== h) fail(`it was made for a different token stream (hash ${show(s.tokensHash)}, this one ${h})`);
    const windows = BatchSampler.fromState(s.windows);
    const count = Math.floor((tokens.length - 1) / s.seqLen);
    if (windows.state().n !== count) fail(`windows.n = ${windows.state().n} but ${tokens.length} tokens make ${count} windows of ${s.seqLen}+1`);
    return new SequenceSampler(tokens, s.seqLen, h, windows);
  }

  state(): SequenceSamplerState {
    return { seqLen: this.seqLen, numTokens: this.tokens.length, tokensHash: this.tokensHash, windows: this.windows.state() };
  }

  get epoch(): number {
    return this.windows.epoch;
  }

  get batchesPerEpoch(): number {
    return this.windows.batchesPerEpoch;
  }

  next(): SequenceBatch {
    const idx = this.windows.next();
    const T = this.seqLen;
    const data = new Int32Array(idx.length * (T + 1)); // [B, T+1]
    for (let b = 0; b < idx.length; b++) {
      const start = idx[b] * T;
      data.set(this.tokens.subarray(start, start + T + 1), b * (T + 1));
    }
    return { data, batchSize: idx.length, seqLen: T };
  }
}

/** Shuffled [B, T+1] windows over a token stream, resumable via `state()` / `SequenceSampler.fromState`. */
export function sequenceBatches(tokens: Int32Array, seqLen: number, batchSize: number, seed: number): SequenceSampler {
  return SequenceSampler.create(tokens, seqLen, batchSize, seed);
}
