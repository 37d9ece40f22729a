/**
 * Fuzzed parsers (issue 8, item 7): the IDX reader and the Brown corpus parsers get ≥ 10,000
 * mutated inputs each (bit flips, truncation, huge declared sizes, random bytes, insertions,
 * gzip-level damage). Only DataError may come out; each call must be quick (no hang); nothing may
 * allocate what an input merely declares (results are bounded by the input or the gunzip bound,
 * and the process's peak RSS must not jump). The sampler and RNG state restorers, which read
 * checkpoint contents, get the same treatment. Fixed seeds: a failure reproduces, and its input
 * is printed as base64.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { Rng } from '../../lib/data/rng';
import { encodeIdx, parseIdx } from '../../lib/data/idx';
import { parseBrownDocument, parseBrownCategories, brownDir } from '../../lib/data/brown';
import { BatchSampler } from '../../lib/data/batches';
import { DataError } from '../../lib/errors';

const N = 10_000;
/** A call slower than this counts as a hang (generous: the machine is shared). */
const SLOW_MS = 250;
/** Bound on decompressed IDX size during the fuzz: bombs must stop here. */
const MAX_BYTES = 1 << 16;

type Mutator = (rng: Rng, b: Uint8Array) => Uint8Array;

const bitFlips: Mutator = (rng, b) => {
  const out = Uint8Array.from(b);
  if (out.length === 0) return out;
  const k = 1 + rng.int(8);
  for (let i = 0; i < k; i++) out[rng.int(out.length)] ^= 1 << rng.int(8);
  return out;
};
const truncate: Mutator = (rng, b) => b.slice(0, rng.int(b.length + 1));
const randomBytes: Mutator = (rng) => {
  const out = new Uint8Array(rng.int(300));
  for (let i = 0; i < out.length; i++) out[i] = rng.int(256);
  return out;
};
const insertBytes: Mutator = (rng, b) => {
  const at = rng.int(b.length + 1);
  const extra = randomBytes(rng, b).subarray(0, 1 + rng.int(16));
  const out = new Uint8Array(b.length + extra.length);
  out.set(b.subarray(0, at));
  out.set(extra, at);
  out.set(b.subarray(at), at + extra.length);
  return out;
};
const deleteBytes: Mutator = (rng, b) => {
  if (b.length === 0) return b;
  const at = rng.int(b.length);
  const k = 1 + rng.int(Math.min(16, b.length - at));
  const out = new Uint8Array(b.length - k);
  out.set(b.subarray(0, at));
  out.set(b.subarray(at + k), at);
  return out;
};
const appendBytes: Mutator = (rng, b) => {
  const extra = randomBytes(rng, b).subarray(0, 1 + rng.int(64));
  const out = new Uint8Array(b.length + extra.length);
  out.set(b);
  out.set(extra, b.length);
  return out;
};

/** Overwrites the IDX header: a declared dim set to a huge or random size, or a random type / ndims byte. */
const hugeDeclared: Mutator = (rng, b) => {
  const out = Uint8Array.from(b);
  if (out.length < 8) return out;
  const view = new DataView(out.buffer);
  const which = rng.int(4);
  if (which === 0) out[3] = rng.int(256); // ndims
  else if (which === 1) out[2] = rng.int(256); // type
  else {
    const ndims = Math.min(out[3], Math.floor((out.length - 4) / 4));
    if (ndims === 0) return out;
    const big = [0xffffffff, 0x80000000, 0x7fffffff, 0x10000000, rng.nextUint32(), 1 + rng.int(1000)][rng.int(6)];
    view.setUint32(4 + 4 * rng.int(ndims), big, false);
  }
  return out;
};

function runFuzz(label: string, seeds: Uint8Array[], mutators: Mutator[], seed: number, call: (b: Uint8Array) => void): { ms: number; slowest: number; errors: number; ok: number } {
  const rng = new Rng(seed);
  const maxRss0 = process.resourceUsage().maxRSS; // KiB
  const t0 = performance.now();
  let slowest = 0, errors = 0, ok = 0;
  for (let i = 0; i < N; i++) {
    let input = seeds[rng.int(seeds.length)];
    const rounds = 1 + rng.int(3); // stack mutations: a truncated file with flipped bits, etc.
    for (let r = 0; r < rounds; r++) input = mutators[rng.int(mutators.length)](rng, input);
    const t = performance.now();
    try {
      call(input);
      ok++;
    } catch (e) {
      if (!(e instanceof DataError)) {
        assert.fail(`${label} #${i}: ${e instanceof Error ? e.name + ': ' + e.message : String(e)}; input (base64) ${Buffer.from(input).toString('base64')}`);
      }
      assert.ok(e.message.length > 0 && e.message.length < 2000, `${label} #${i}: message length ${e.message.length}`);
      errors++;
    }
    const dt = performance.now() - t;
    if (dt > slowest) slowest = dt;
    assert.ok(dt < SLOW_MS, `${label} #${i} took ${dt.toFixed(0)} ms; input (base64) ${Buffer.from(input).toString('base64')}`);
  }
  const growMiB = (process.resourceUsage().maxRSS - maxRss0) / 1024;
  assert.ok(growMiB < 256, `${label}: peak RSS grew by ${growMiB.toFixed(0)} MiB`);
  return { ms: performance.now() - t0, slowest, errors, ok };
}

/**
 * Runs `fn` with the typed-array constructors the parsers use wrapped, and returns the largest
 * allocation requested in bytes: a parser that sizes an array from a declared count (before
 * checking the bytes are there) shows up here even when the OS would have mapped it lazily.
 */
function largestAllocation(fn: () => void): number {
  const names = ['Uint8Array', 'Int8Array', 'Int16Array', 'Int32Array', 'Float32Array', 'Float64Array'] as const;
  const g = globalThis as unknown as Record<string, unknown>;
  const saved = names.map((k) => g[k]);
  let largest = 0;
  names.forEach((k, i) => {
    const C = saved[i] as { new (...a: unknown[]): unknown; BYTES_PER_ELEMENT: number };
    g[k] = new Proxy(C, {
      construct(target, args) {
        const a0 = args[0] as { length?: number } | number | undefined;
        const len = typeof a0 === 'number' ? a0 : a0 && typeof a0 === 'object' && typeof a0.length === 'number' ? a0.length : 0;
        largest = Math.max(largest, len * C.BYTES_PER_ELEMENT);
        return Reflect.construct(target, args) as object;
      },
    });
  });
  try {
    fn();
  } finally {
    names.forEach((k, i) => (g[k] = saved[i]));
  }
  return largest;
}

function report(label: string, r: { ms: number; slowest: number; errors: number; ok: number }) {
  console.log(`# fuzz ${label}: ${N} inputs in ${r.ms.toFixed(0)} ms (slowest ${r.slowest.toFixed(1)} ms): ${r.errors} DataError, ${r.ok} parsed`);
}

describe('fuzz', () => {
  test(`IDX reader: ${N} mutated inputs, only DataError, bounded time and memory`, () => {
    const valid = [
      encodeIdx({ type: 'uint8', dims: [3, 4, 4], data: Array.from({ length: 48 }, (_, i) => (i * 37) & 255) }),
      encodeIdx({ type: 'uint8', dims: [6], data: [0, 1, 2, 3, 4, 9] }),
      encodeIdx({ type: 'int16', dims: [5], data: [1, -2, 300, -400, 5] }),
      encodeIdx({ type: 'int32', dims: [2, 3], data: [1, 2, 3, -4, 5, 6] }),
      encodeIdx({ type: 'float64', dims: [2, 2], data: [0.5, 1.5, -2, 1e10] }),
    ];
    const seeds: Uint8Array[] = [...valid, ...valid.map((b) => zlib.gzipSync(b)), zlib.gzipSync(Buffer.alloc(1 << 20))];
    // inputs that are valid gzip around damaged IDX bytes: reach the IDX checks behind the gunzip
    const gzipOfMutated: Mutator = (rng, b) => zlib.gzipSync(bitFlips(rng, truncate(rng, b.length > 2 && b[0] === 0x1f ? valid[0] : b)));
    const mutators = [bitFlips, truncate, randomBytes, insertBytes, deleteBytes, appendBytes, hugeDeclared, hugeDeclared, gzipOfMutated];
    let r!: ReturnType<typeof runFuzz>;
    const largest = largestAllocation(() => {
      r = runFuzz('idx', seeds, mutators, 8, (b) => {
        const got = parseIdx(b, 'fuzz.idx', { maxBytes: MAX_BYTES });
        // whatever parses must be consistent and bounded by what was really there
        const n = got.dims.reduce((a, d) => a * d, 1);
        assert.equal(got.data.length, n);
        assert.ok(got.data.byteLength <= MAX_BYTES);
      });
    });
    report('idx', r);
    console.log(`# fuzz idx: largest typed array the reader allocated: ${largest} bytes (inputs declare up to ~2^131)`);
    assert.ok(largest <= MAX_BYTES, `the IDX reader allocated ${largest} bytes; the bound is ${MAX_BYTES}`);
    assert.ok(r.errors > N / 2 && r.ok > 0, `both outcomes exercised: ${r.errors} errors, ${r.ok} parsed`);
  });

  test(`Brown document parser: ${N} mutated documents, only DataError`, () => {
    const real = fs.readFileSync(path.join(brownDir(), 'ca01'));
    const seeds = [real.subarray(0, 3000), real.subarray(5000, 6500), Buffer.from('\n\n\tThe/at jury/nn ./.\n'), Buffer.from('\t1/2/cd and/or/cc //in ``/`` x/nn\n')];
    const dropSlashes: Mutator = (rng, b) => {
      const out = Uint8Array.from(b);
      for (let i = 0; i < out.length; i++) if (out[i] === 0x2f && rng.int(4) === 0) out[i] = 0x20;
      return out;
    };
    const r = runFuzz('brown', seeds, [bitFlips, truncate, randomBytes, insertBytes, deleteBytes, appendBytes, dropSlashes], 9, (b) => {
      const text = parseBrownDocument(b, 'fuzz-doc');
      assert.ok(text.length > 0 && !text.includes('\t'));
    });
    report('brown', r);
    assert.ok(r.errors > 0 && r.ok > 0);
    // an oversized document is refused before it is scanned
    assert.throws(() => parseBrownDocument(new Uint8Array(4 * 1024 * 1024 + 1), 'big'), /big: 4194305 bytes is more than the 4194304 bytes of any Brown document/);
  });

  test(`Brown categories parser: ${N} mutated cats.txt, only DataError`, () => {
    const cats = fs.readFileSync(path.join(brownDir(), 'cats.txt')).subarray(0, 400);
    const r = runFuzz('cats', [cats], [bitFlips, truncate, randomBytes, insertBytes, deleteBytes, appendBytes], 10, (b) => {
      parseBrownCategories(Buffer.from(b).toString('latin1'), 'fuzz-cats');
    });
    report('cats', r);
  });

  test(`sampler and RNG states from a damaged checkpoint: ${N} mutated states, only DataError`, () => {
    const good = JSON.stringify({ sampler: { n: 100, batchSize: 8, seed: 3, epoch: 2, position: 16, dropLast: true }, rng: new Rng(5).state() });
    const r = runFuzz('state', [Buffer.from(good)], [bitFlips, truncate, insertBytes, deleteBytes], 11, (b) => {
      let parsed: { sampler?: unknown; rng?: unknown };
      try {
        parsed = JSON.parse(Buffer.from(b).toString('latin1'));
      } catch {
        throw new DataError('not JSON'); // the checkpoint loader's job; here we fuzz what comes after
      }
      BatchSampler.fromState((parsed ?? {}).sampler as never).next();
      Rng.fromState((parsed ?? {}).rng as never).normal();
    });
    report('state', r);
  });
});
