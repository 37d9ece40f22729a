/**
 * A small seeded PRNG whose whole state can be read and restored exactly, so a resumed run draws
 * the same numbers an uninterrupted one would.
 *
 * Generator: xoshiro128** (Blackman & Vigna, "Scrambled linear pseudorandom number generators",
 * 2018): 128-bit state of four uint32 words, period 2^128 - 1, passes BigCrush. The seed is expanded
 * into the four words by splitmix32, so nearby seeds (0, 1, 2, ...) give unrelated streams.
 * Everything is 32-bit integer arithmetic (Math.imul, >>>), hence identical on every machine,
 * process and JS engine.
 *
 * `state()` is `[s0, s1, s2, s3, hasSpare, spare]`: the four words plus the cached second value of
 * the last Box-Muller pair, so even a resume between two `normal()` calls is exact.
 */
import { DataError, checkNumber, show } from '../errors';

const TWO_32 = 4294967296;

/** splitmix32: one step of a 32-bit mixing sequence; returns [newState, output]. */
function splitmix32(x: number): [number, number] {
  x = (x + 0x9e3779b9) >>> 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  z = (z ^ (z >>> 16)) >>> 0;
  return [x, z];
}

/**
 * 32-bit hash of a string (UTF-16 code units): FNV-1a, then MurmurHash3's fmix32 finaliser, because
 * plain FNV-1a barely moves when only the last character changes (`ca20`, `ca21`, ... would sort
 * together). Stable across machines: used for data splits and derived seeds.
 */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Folds an integer seed of up to 53 bits (or negative) into 32 bits without losing the high bits. */
function seedWord(seed: number): number {
  const lo = seed >>> 0;
  const hi = Math.floor(seed / TWO_32) >>> 0;
  return (lo ^ Math.imul(hi, 0x9e3779b1)) >>> 0;
}

export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private hasSpare = false;
  private spare = 0;

  /** `seed`: any safe integer. Equal seeds give equal streams everywhere. */
  constructor(seed: number) {
    checkNumber('seed', seed, { lo: -Number.MAX_SAFE_INTEGER, hi: Number.MAX_SAFE_INTEGER, integer: true });
    let x = seedWord(seed);
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [nx, z] = splitmix32(x);
      x = nx;
      words.push(z);
    }
    [this.s0, this.s1, this.s2, this.s3] = words;
    // the all-zero state is a fixed point of xoshiro; splitmix32 cannot produce four zeros in a
    // row, but keep the guard so a hand-made state cannot get stuck either
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /**
   * An independent stream for a sub-task (`Rng.derive(seed, 'epoch', 3)`): the keys are hashed
   * together with the seed, so streams for different keys do not overlap in practice.
   */
  static derive(seed: number, ...keys: (string | number)[]): Rng {
    checkNumber('seed', seed, { lo: -Number.MAX_SAFE_INTEGER, hi: Number.MAX_SAFE_INTEGER, integer: true });
    const h = hashString(`${seedWord(seed)}|${keys.join('|')}`);
    return new Rng(h);
  }

  /** The exact state: `[s0, s1, s2, s3, hasSpare (0|1), spare]` (JSON-safe). */
  state(): number[] {
    return [this.s0, this.s1, this.s2, this.s3, this.hasSpare ? 1 : 0, this.spare];
  }

  /**
   * Restores a generator from `state()`; rejects anything that state() could not have produced
   * (a DataError: states come back from checkpoint files).
   */
  static fromState(s: readonly number[]): Rng {
    const bad = (why: string): never => {
      throw new DataError(`invalid Rng state ${show(s)}: ${why}`);
    };
    if (!Array.isArray(s) || s.length !== 6) bad('expected an array of 6 numbers');
    for (let i = 0; i < 4; i++) {
      if (!Number.isInteger(s[i]) || s[i] < 0 || s[i] >= TWO_32) bad(`word ${i} must be a uint32`);
    }
    if ((s[0] | s[1] | s[2] | s[3]) === 0) bad('all-zero words');
    if (s[4] !== 0 && s[4] !== 1) bad('hasSpare must be 0 or 1');
    if (typeof s[5] !== 'number' || !Number.isFinite(s[5])) bad('spare must be finite');
    const r = Object.create(Rng.prototype) as Rng;
    r.s0 = s[0];
    r.s1 = s[1];
    r.s2 = s[2];
    r.s3 = s[3];
    r.hasSpare = s[4] === 1;
    r.spare = s[5];
    return r;
  }

  /** A copy that continues independently from the same point. */
  clone(): Rng {
    return Rng.fromState(this.state());
  }

  /** The next uint32 (xoshiro128**). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    this.s0 >>>= 0;
    this.s1 >>>= 0;
    this.s2 >>>= 0;
    this.s3 >>>= 0;
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits (two draws). */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n), unbiased (rejection of the top partial range); n in [1, 2^32]. */
  int(n: number): number {
    checkNumber('n', n, { lo: 1, hi: TWO_32, integer: true });
    if (n === 1) return 0;
    const limit = TWO_32 - (TWO_32 % n); // largest multiple of n that fits in 32 bits
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Standard normal N(0, 1) by Box-Muller; the second value of each pair is kept for the next call. */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    const u1 = 1 - this.uniform(); // (0, 1]: log is finite
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    this.spare = r * Math.sin(theta);
    this.hasSpare = true;
    return r * Math.cos(theta);
  }

  /** Fisher-Yates shuffle in place; returns the same array. */
  shuffle<T extends { length: number; [i: number]: any }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** A uniformly random permutation of 0 .. n-1. */
  permutation(n: number): Int32Array {
    checkNumber('n', n, { lo: 0, hi: 2 ** 31 - 1, integer: true });
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
