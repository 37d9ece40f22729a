/**
 * Fuzzing the runs.jsonl reader (issue 8, item 7): 10,000 files of mutated lines (bit flips, truncation,
 * byte insertions and deletions, huge numbers, deep nesting, type swaps, invalid UTF-8, long strings).
 * Properties: readRuns never throws on content and never hangs; what it returns is valid; every
 * warning names the file; an intact line after the damage is always recovered; an append after the
 * damage is always readable.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { readRuns, appendRun, checkRunRecord, type RunRecord } from '../../../lib/runner/store/runs';
import { makeRecord, tmpDir } from '../../report/helpers';

/** mulberry32: a tiny seeded PRNG, so a failure reproduces from its iteration number. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEEDS: RunRecord[] = [
  makeRecord(),
  makeRecord({ row: 'decayed α_min=0.6', seed: 3, metrics: { knn: 0.61, ppl: null, ok: true, note: 'x' }, extra: { p: [[1, 0], [0.5, 0.5]] } }),
  makeRecord({ history: undefined, commit: null, config: { nested: { a: [1, { b: 'c' }] } } }),
];

type Mutator = (line: Buffer, r: () => number) => Buffer;
const int = (r: () => number, n: number) => Math.floor(r() * n);

const HUGE = ['1e999', '-1e999', '1e308', '123456789012345678901234567890', '-0', '4e-324', '9007199254740993', '1' + '0'.repeat(400)];

const mutators: Mutator[] = [
  // bit flips
  (b, r) => {
    const c = Buffer.from(b);
    for (let k = 1 + int(r, 4); k > 0; k--) c[int(r, c.length)] ^= 1 << int(r, 8);
    return c;
  },
  // truncation (what a crash leaves)
  (b, r) => b.subarray(0, int(r, b.length)),
  // random byte inserted / deleted
  (b, r) => {
    const i = int(r, b.length);
    return Buffer.concat([b.subarray(0, i), Buffer.from([int(r, 256)]), b.subarray(i)]);
  },
  (b, r) => {
    const i = int(r, b.length);
    return Buffer.concat([b.subarray(0, i), b.subarray(i + 1 + int(r, 8))]);
  },
  // a number replaced by a huge or odd one
  (b, r) => {
    const s = b.toString('utf8');
    const nums = [...s.matchAll(/-?\d+(\.\d+)?/g)];
    if (!nums.length) return b;
    const m = nums[int(r, nums.length)];
    return Buffer.from(s.slice(0, m.index!) + HUGE[int(r, HUGE.length)] + s.slice(m.index! + m[0].length));
  },
  // deep nesting in a field (20k levels already overflow a recursive walker; 200k in its own test)
  (b, r) => {
    const depth = [10, 65, 1000, 20_000][int(r, 4)];
    const open = r() < 0.5 ? '['.repeat(depth) : '{"a":'.repeat(depth);
    const close = open[0] === '[' ? ']'.repeat(depth) : '}'.repeat(depth);
    const field = ['config', 'engine', 'extra', 'metrics', 'history'][int(r, 5)];
    const obj = JSON.parse(b.toString('utf8'));
    const s = JSON.stringify({ ...obj, [field]: '@@' });
    return Buffer.from(s.replace('"@@"', r() < 0.9 ? open + close : open)); // sometimes unbalanced
  },
  // a field's type swapped
  (b, r) => {
    const obj = JSON.parse(b.toString('utf8'));
    const keys = Object.keys(obj);
    const vals = [null, 0, -1, 1.5, '', 'x', true, [], {}, [1, 'a'], { k: [null] }];
    obj[keys[int(r, keys.length)]] = vals[int(r, vals.length)];
    if (r() < 0.3) delete obj[keys[int(r, keys.length)]];
    return Buffer.from(JSON.stringify(obj));
  },
  // invalid UTF-8, NUL bytes, carriage returns
  (b, r) => {
    const i = int(r, b.length);
    const junk = [Buffer.from([0xff, 0xfe]), Buffer.from([0xc3]), Buffer.from([0]), Buffer.from('\r'), Buffer.from([0xed, 0xa0, 0x80])][int(r, 5)];
    return Buffer.concat([b.subarray(0, i), junk, b.subarray(i)]);
  },
  // a very long string value
  (b, r) => {
    const obj = JSON.parse(b.toString('utf8'));
    obj.row = 'w'.repeat(1 + int(r, 200_000));
    return Buffer.from(JSON.stringify(obj));
  },
  // not an object at all
  (_b, r) => Buffer.from(['null', '[]', '"s"', '42', '{}', '{"__proto__":{"x":1}}', '', '   ', ']'][int(r, 9)]),
];

describe('readRuns fuzz', () => {
  test('10,000 mutated files: only warnings, valid records, intact lines recovered, no hang', { timeout: 60_000 }, () => {
    // tmpfs when there is one: this test is about the parser, not the disk.
    const dir = fs.existsSync('/dev/shm') ? fs.mkdtempSync('/dev/shm/repro-fuzz-') : tmpDir('fuzz');
    const r = rng(20260411);
    const good = makeRecord({ row: 'sentinel', seed: 7 });
    const goodLine = JSON.stringify(good) + '\n';
    const t0 = Date.now();
    let slowest = 0;
    let mutatedLines = 0;
    let warned = 0;
    let appends = 0;
    const N = 10_000;
    for (let it = 0; it < N; it++) {
      const file = path.join(dir, `f${it % 16}.jsonl`);
      const parts: Buffer[] = [];
      const nBad = 1 + int(r, 3);
      for (let k = 0; k < nBad; k++) {
        let line = Buffer.from(JSON.stringify(SEEDS[int(r, SEEDS.length)]));
        // Mutators that parse need valid JSON: apply those first, byte-level ones after.
        for (let m = 1 + int(r, 2); m > 0; m--) {
          const mu = mutators[int(r, mutators.length)];
          try {
            line = mu(line, r);
          } catch {
            /* a structural mutator on an already-broken line: skip it */
          }
        }
        parts.push(line, Buffer.from('\n'));
        mutatedLines++;
      }
      const endsIntact = r() < 0.7;
      if (endsIntact) parts.push(Buffer.from(goodLine));
      else parts.pop(); // the damaged line is the last one, without newline
      fs.writeFileSync(file, Buffer.concat(parts));

      const t1 = Date.now();
      let res: { records: RunRecord[]; warnings: string[] };
      try {
        res = readRuns(file);
      } catch (e) {
        assert.fail(`iteration ${it}: readRuns threw ${(e as Error).name}: ${(e as Error).message}`);
      }
      slowest = Math.max(slowest, Date.now() - t1);
      for (const rec of res.records) assert.equal(checkRunRecord(rec), null, `iteration ${it}`);
      for (const w of res.warnings) assert.ok(w.startsWith(file), `iteration ${it}: warning without the file: ${w}`);
      assert.ok(res.warnings.length <= 21);
      warned += res.warnings.length;
      if (endsIntact) assert.deepEqual(res.records[res.records.length - 1], good, `iteration ${it}: sentinel lost`);

      // Every 20th: appending after the damage yields a readable record.
      if (it % 20 === 0) {
        const orig = process.stderr.write.bind(process.stderr);
        (process.stderr as any).write = () => true; // the truncated-tail warning, expected here
        try {
          appendRun(file, makeRecord({ row: 'appended', seed: it }));
        } finally {
          (process.stderr as any).write = orig;
        }
        const after = readRuns(file);
        assert.deepEqual(after.records[after.records.length - 1].seed, it, `iteration ${it}: append lost`);
        appends++;
      }
    }
    const elapsed = Date.now() - t0;
    fs.rmSync(dir, { recursive: true });
    assert.ok(mutatedLines >= N);
    assert.ok(warned > N / 2, `only ${warned} warnings: the mutations are not biting`);
    assert.ok(slowest < 2000, `one file took ${slowest} ms`);
    assert.ok(elapsed < 20_000, `fuzzing took ${elapsed} ms`);
    console.log(`# ${N} files, ${mutatedLines} mutated lines, ${appends} appends, ${warned} warnings, ${elapsed} ms, slowest ${slowest} ms`);
  });

  test('200,000 levels of nesting, balanced or not, in every field: a warning each', () => {
    const dir = tmpDir('deep');
    const file = path.join(dir, 'runs.jsonl');
    const D = 200_000;
    const lines = ['config', 'engine', 'extra', 'metrics', 'history'].flatMap((f) => [
      JSON.stringify({ ...makeRecord(), [f]: '@@' }).replace('"@@"', '['.repeat(D) + ']'.repeat(D)),
      JSON.stringify({ ...makeRecord(), [f]: '@@' }).replace('"@@"', '{"a":'.repeat(D) + '1' + '}'.repeat(D)),
      JSON.stringify({ ...makeRecord(), [f]: '@@' }).replace('"@@"', '['.repeat(D)),
    ]);
    fs.writeFileSync(file, lines.join('\n') + '\n' + JSON.stringify(makeRecord()) + '\n');
    const { records, warnings } = readRuns(file);
    assert.equal(records.length, 1);
    assert.equal(warnings.length, 15);
    assert.match(warnings[0], /:1: not a run record: field 'config' is nested deeper than 64 levels; skipped$/);
    assert.match(warnings[2], /:3: not valid JSON/);
    fs.rmSync(dir, { recursive: true });
  });

  test('a file far larger than any runs.jsonl is refused with a warning, not read into memory', () => {
    const dir = tmpDir('huge');
    const file = path.join(dir, 'runs.jsonl');
    fs.writeFileSync(file, '');
    fs.truncateSync(file, 2 ** 30 + 1); // sparse: takes no disk
    const { records, warnings } = readRuns(file);
    assert.deepEqual(records, []);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /1073741825 bytes is larger than any runs\.jsonl should be .*; not read$/);
    fs.rmSync(dir, { recursive: true });
  });
});
