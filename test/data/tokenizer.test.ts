/**
 * The BPE tokenizer (lib/data/tokenizer.ts): deterministic training, file round trip, encode/decode,
 * bad corpora and mismatched or corrupt files (DataError naming the file), and a loader fuzz of
 * 10,000 mutated files (byte-level and JSON-structure mutations): only DataError may come out.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Rng } from '../../lib/data/rng';
import { loadBrown } from '../../lib/data/brown';
import {
  BpeTokenizer,
  BASE_TOKENS,
  cachedTokenizer,
  parseTokenizerFile,
  tokenizerJson,
  trainBpe,
  type BpeVocab,
} from '../../lib/data/tokenizer';
import { ConfigError, DataError } from '../../lib/errors';

let dir: string;
let docs: { text: string }[];
const V = 160;

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tok-test-'));
  docs = loadBrown().train.slice(0, 6);
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('BPE tokenizer', () => {
  test('training twice gives byte-identical files; the cache is reused', () => {
    const a = tokenizerJson(trainBpe(docs, V));
    const b = tokenizerJson(trainBpe(docs, V));
    assert.equal(a, b);
    const t1 = cachedTokenizer('brown6', V, () => docs, { dir });
    const file = t1.file!;
    assert.equal(fs.readFileSync(file, 'utf8'), a);
    const mtime = fs.statSync(file).mtimeMs;
    const t2 = cachedTokenizer('brown6', V, () => assert.fail('must not retrain'), { dir });
    assert.equal(fs.statSync(file).mtimeMs, mtime);
    assert.deepEqual(t2.vocab, t1.vocab);
    assert.equal(t1.vocabSize, V);
  });

  test('encode/decode round trip; <eod> between documents; learned merges shorten the text', async () => {
    const tok = cachedTokenizer('brown6', V, () => docs, { dir });
    const text = 'The jury said it did find that many of the voters were there.';
    const [ids] = await tok.encodeEach([text]);
    assert.ok(ids.length < text.length, `${ids.length} tokens for ${text.length} characters`);
    assert.ok(ids.every((i) => i >= 2 && i < V));
    assert.equal(await tok.decode(ids), text);
    const stream = await tok.encodeDocs([{ text: 'a b' }, { text: 'c' }]);
    assert.equal(stream.filter((i) => i === 1).length, 2);
    assert.equal(stream[stream.length - 1], 1);
    // A character outside the alphabet becomes <unk> (id 0), nothing is dropped silently.
    const [u] = await tok.encodeEach(['café']);
    assert.ok(u.includes(0));
  });

  test('bad corpora: empty, blank, too small for the vocabulary; bad sizes', async () => {
    assert.throws(() => trainBpe([], V), (e: Error) => e instanceof DataError && /empty corpus/.test(e.message));
    assert.throws(() => trainBpe([{ text: '  \n ' }], V), DataError);
    assert.throws(() => trainBpe([{ text: 'ab ab ab' }], 2000), (e: Error) => e instanceof DataError && /too small for a 2000-token/.test(e.message));
    assert.throws(() => trainBpe(docs, 50), (e: Error) => e instanceof ConfigError && /vocabSize must be/.test(e.message));
    const tok = cachedTokenizer('brown6', V, () => docs, { dir });
    await assert.rejects(tok.encodeDocs([]), /empty corpus/);
  });

  test('a file of another vocabulary size, a corrupt file, a missing file: DataError naming the file', () => {
    const file = cachedTokenizer('brown6', V, () => docs, { dir }).file!;
    assert.throws(() => BpeTokenizer.load(file, 4096), (e: Error) => e instanceof DataError && e.message.includes(file) && /size 160 does not match the expected 4096/.test(e.message));
    const bad = path.join(dir, 'brown6-bpe-999.json');
    fs.writeFileSync(bad, fs.readFileSync(file, 'utf8').slice(0, 500));
    assert.throws(() => cachedTokenizer('brown6', 999, () => docs, { dir }), (e: Error) => e instanceof DataError && e.message.includes(bad) && /not valid JSON/.test(e.message));
    assert.throws(() => BpeTokenizer.load(path.join(dir, 'nope.json'), V), (e: Error) => e instanceof DataError && /nope\.json: cannot read/.test(e.message));
  });
});

describe('tokenizer loader fuzz', () => {
  test('10,000 mutated tokenizer files: only DataError, fast', () => {
    const v: BpeVocab = trainBpe(docs, BASE_TOKENS + 24);
    const seedText = tokenizerJson(v);
    const size = v.tokens.length;
    const rng0 = new Rng(20260);
    const rng = { int: (n: number) => (n > 0 ? rng0.int(n) : 0) }; // empty lists and buffers occur mid-mutation
    const pick = <T>(a: readonly T[]): T => a[rng.int(a.length)];
    const weird: unknown[] = [null, true, -1, 0, 1e308, -0.5, 2 ** 53, '', 'x', [], {}, [[[]]], { a: 1 }, '▁', size, size - 1];
    // JSON-structure mutations of a parsed file.
    const structural: ((j: any) => void)[] = [
      (j) => (j.model.vocab[pick(Object.keys(j.model.vocab))] = pick(weird)),
      (j) => delete j.model.vocab[pick(Object.keys(j.model.vocab))],
      (j) => (j.model.vocab[`new${rng.int(9)}`] = rng.int(size + 2)),
      (j) => (j.model.merges[rng.int(j.model.merges.length)] = pick(weird)),
      (j) => j.model.merges.reverse(),
      (j) => j.model.merges.splice(rng.int(j.model.merges.length), 1),
      (j) => (j.model[pick(['type', 'unk_token', 'vocab', 'merges'])] = pick(weird)),
      (j) => (j[pick(['model', 'pre_tokenizer', 'decoder', 'normalizer', 'added_tokens'])] = pick(weird)),
      (j) => {
        const ks = Object.keys(j.model.vocab);
        const [a, b] = [pick(ks), pick(ks)];
        [j.model.vocab[a], j.model.vocab[b]] = [j.model.vocab[b], j.model.vocab[a]];
      },
      (j) => (j.model.vocab = '__DEEP__'), // replaced by 100,000-deep nesting after serialisation
    ];
    const bytes: ((s: Buffer) => Buffer)[] = [
      (b) => {
        const o = Buffer.from(b);
        for (let k = 1 + rng.int(6); k > 0; k--) o[rng.int(o.length)] ^= 1 << rng.int(8);
        return o;
      },
      (b) => b.subarray(0, rng.int(b.length + 1)),
      (b) => {
        const at = rng.int(b.length);
        return Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: 1 + rng.int(8) }, () => rng.int(256))), b.subarray(at)]);
      },
      (b) => {
        const at = rng.int(b.length);
        return Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + rng.int(40)))]);
      },
    ];
    const t0 = performance.now();
    let passed = 0;
    for (let i = 0; i < 10_000; i++) {
      let text: string;
      if (rng.int(2) === 0) {
        const j = JSON.parse(seedText);
        for (let r = 1 + rng.int(2); r > 0; r--) {
          try {
            pick(structural)(j);
          } catch {
            /* a second mutation may not apply to what the first made (e.g. model is now a number) */
          }
        }
        text = JSON.stringify(j).replace('"__DEEP__"', '['.repeat(100_000) + '1' + ']'.repeat(100_000));
      } else {
        let b = Buffer.from(seedText, 'utf8');
        for (let r = 1 + rng.int(3); r > 0; r--) b = pick(bytes)(b);
        text = b.toString('utf8');
      }
      try {
        const checked = parseTokenizerFile(text, `fuzz#${i}`, size);
        BpeTokenizer.fromVocab(checked, `fuzz#${i}`);
        passed++;
      } catch (e) {
        if (!(e instanceof DataError)) assert.fail(`fuzz #${i}: ${(e as Error).name}: ${(e as Error).message}; input ${JSON.stringify(text.slice(0, 300))}`);
        assert.match((e as Error).message, new RegExp(`fuzz#${i}`), 'the message names the file');
      }
    }
    const ms = performance.now() - t0;
    console.log(`tokenizer fuzz: 10,000 inputs in ${(ms / 1000).toFixed(1)} s, ${passed} still valid (harmless mutations)`);
    assert.ok(ms < 60_000);
  });
});
