import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, hashString } from '../../lib/data/rng';
import { DataError, ConfigError } from '../../lib/errors';

describe('Rng', () => {
  test('is deterministic and pinned: the same seed gives the same words on every machine', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const wa = Array.from({ length: 5 }, () => a.nextUint32());
    const wb = Array.from({ length: 5 }, () => b.nextUint32());
    assert.deepEqual(wa, wb);
    // pinned values: a change of algorithm or seeding changes every resumed run, so it must be deliberate
    assert.deepEqual(wa, PINNED_42);
    assert.notDeepEqual(wa, Array.from({ length: 5 }, () => new Rng(43).nextUint32()));
  });

  test('state round trip continues the exact stream, including a pending Box-Muller spare', () => {
    const r = new Rng(7);
    for (let i = 0; i < 10; i++) r.uniform();
    r.normal(); // leaves the spare cached
    const saved = JSON.parse(JSON.stringify(r.state()));
    const expected = [r.normal(), r.uniform(), r.int(1000), r.normal()];
    const back = Rng.fromState(saved);
    assert.deepEqual([back.normal(), back.uniform(), back.int(1000), back.normal()], expected);
  });

  test('fromState rejects malformed states with a DataError', () => {
    assert.throws(() => Rng.fromState([1, 2, 3]), (e: Error) => e instanceof DataError && /expected an array of 6 numbers/.test(e.message));
    assert.throws(() => Rng.fromState([0, 0, 0, 0, 0, 0]), /all-zero words/);
    assert.throws(() => Rng.fromState([1, 2, 3, 2 ** 32, 0, 0]), /word 3 must be a uint32/);
    assert.throws(() => Rng.fromState([1, 2, 3, 4, 2, 0]), /hasSpare must be 0 or 1/);
    assert.throws(() => Rng.fromState([1, 2, 3, 4, 1, NaN]), /spare must be finite/);
  });

  test('uniform, int and normal have the right ranges and moments', () => {
    const r = new Rng(1);
    const N = 200000;
    let s = 0, s2 = 0, lo = 1, hi = 0;
    for (let i = 0; i < N; i++) {
      const u = r.uniform();
      lo = Math.min(lo, u);
      hi = Math.max(hi, u);
      s += u;
    }
    assert.ok(lo >= 0 && hi < 1);
    assert.ok(Math.abs(s / N - 0.5) < 0.005, `mean ${s / N}`);
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 70000; i++) counts[r.int(7)]++;
    for (const c of counts) assert.ok(Math.abs(c - 10000) < 400, `int(7) counts ${counts}`);
    s = 0;
    for (let i = 0; i < N; i++) {
      const z = r.normal();
      s += z;
      s2 += z * z;
    }
    assert.ok(Math.abs(s / N) < 0.01, `normal mean ${s / N}`);
    assert.ok(Math.abs(s2 / N - 1) < 0.015, `normal var ${s2 / N}`);
    assert.throws(() => r.int(0), ConfigError);
    assert.throws(() => r.int(2.5), ConfigError);
    assert.equal(r.int(1), 0);
  });

  test('permutation is a permutation, shuffle is in place, both seeded', () => {
    const p = new Rng(3).permutation(1000);
    assert.deepEqual(Array.from(p).sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
    assert.deepEqual(p, new Rng(3).permutation(1000));
    assert.notDeepEqual(p, new Rng(4).permutation(1000));
    const a = ['a', 'b', 'c', 'd', 'e'];
    const same = new Rng(5).shuffle(a);
    assert.equal(same, a);
    assert.deepEqual([...a].sort(), ['a', 'b', 'c', 'd', 'e']);
  });

  test('derive gives distinct, reproducible streams; large and negative seeds are accepted', () => {
    assert.equal(Rng.derive(1, 'epoch', 0).nextUint32(), Rng.derive(1, 'epoch', 0).nextUint32());
    assert.notEqual(Rng.derive(1, 'epoch', 0).nextUint32(), Rng.derive(1, 'epoch', 1).nextUint32());
    assert.notEqual(new Rng(2 ** 40).nextUint32(), new Rng(0).nextUint32());
    assert.ok(Number.isInteger(new Rng(-5).nextUint32()));
    assert.throws(() => new Rng(0.5), ConfigError);
    assert.notEqual(hashString('ca20'), hashString('ca21'));
  });
});

// checked against the C reference of xoshiro128** (prng.di.unimi.it) seeded by the same splitmix32 words
const PINNED_42 = [2837322924, 544945897, 479756282, 3500138142, 339756180];
