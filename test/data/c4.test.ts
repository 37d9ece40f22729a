/**
 * The C4 reader (lib/data/c4.ts) on shards this test writes (json.gz through zlib) and a pretrained
 * tokenizer.json the test builds (a WordLevel model with T5's special tokens: pad 0, `</s>` 1 appended
 * by a TemplateProcessing post-processor, as t5-base's tokenizer.json has): shard discovery, `file:line`
 * errors, one document per row truncated/padded to the row length with pads masked, as the official loader.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { DataError } from '../../lib/errors';
import { c4Shards, loadC4, PretrainedTokenizer, readC4Shard } from '../../lib/data/c4';
import { DocumentSampler, splitDocuments } from '../../lib/data/documents';
import { tinyT5Json, WORDS } from './fixtures';

let dir = '';

const gz = (file: string, lines: string[]) => fs.writeFileSync(file, zlib.gzipSync(lines.join('\n') + '\n'));

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-c4-'));
  gz(path.join(dir, 'c4-train.00001-of-01024.json.gz'), [JSON.stringify({ text: 'a dog ran', timestamp: 't', url: 'u' })]);
  gz(path.join(dir, 'c4-train.00000-of-01024.json.gz'), [
    JSON.stringify({ text: 'the cat sat on the mat', timestamp: 't', url: 'u' }),
    JSON.stringify({ text: 'the dog sat', timestamp: 't', url: 'u' }),
  ]);
  gz(path.join(dir, 'c4-validation.00000-of-00008.json.gz'), [JSON.stringify({ text: 'the cat ran' })]);
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), tinyT5Json());
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('C4 shards', () => {
  test('found by split in name order; documents in order; maxDocs bounds them', () => {
    assert.deepEqual(c4Shards(dir, 'train').map((f) => path.basename(f)), ['c4-train.00000-of-01024.json.gz', 'c4-train.00001-of-01024.json.gz']);
    assert.deepEqual(loadC4(dir, 'train', 10).map((d) => d.text), ['the cat sat on the mat', 'the dog sat', 'a dog ran']);
    assert.deepEqual(loadC4(dir, 'train', 2).map((d) => d.id), ['c4-train.00000-of-01024.json.gz:1', 'c4-train.00000-of-01024.json.gz:2']);
    assert.equal(loadC4(dir, 'validation', 10).length, 1);
  });

  test('a malformed line is named by file:line; a shard that is not gzip; a folder without shards', () => {
    const bad = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-c4-bad-'));
    const f = path.join(bad, 'c4-train.00000-of-01024.json.gz');
    gz(f, [JSON.stringify({ text: 'ok' }), '{"text": "cut off', JSON.stringify({ text: 'x' })]);
    assert.throws(() => readC4Shard(f), (e: unknown) => e instanceof DataError && (e as Error).message.startsWith(`${f}:2: not a JSON document (`));
    gz(f, [JSON.stringify({ text: 'ok' }), JSON.stringify({ body: 'no text here' })]);
    assert.throws(() => readC4Shard(f), new RegExp(`${f.replace(/[.]/g, '\\.')}:2: no "text" string in this document \\(keys: body\\)`));
    fs.writeFileSync(f, 'plain text, not gzip');
    assert.throws(() => readC4Shard(f), /not a gzip file/);
    assert.throws(() => c4Shards(bad, 'validation'), /holds no 'validation' shards \(c4-validation\.\*\.json\.gz/);
    assert.throws(() => c4Shards(path.join(bad, 'nope'), 'train'), /C4 folder .*nope does not exist \(c4Dir\)/);
    fs.rmSync(bad, { recursive: true, force: true });
  });
});

describe('issue 31: C4 at its real size, and caches keyed by the shards', () => {
  test('9: a shard that decompresses past the longest JavaScript string (~512 MiB) is read line by line', () => {
    const big = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-c4-big-'));
    const line = Buffer.from(JSON.stringify({ text: 'x'.repeat(1000) }) + '\n');
    const member = zlib.gzipSync(Buffer.concat(Array(1000).fill(line))); // 1 MB of documents in 3 kB
    const f = path.join(big, 'c4-train.00000-of-01024.json.gz');
    fs.writeFileSync(f, Buffer.concat(Array(560).fill(member))); // concatenated gzip members: 567 MB of text
    const docs = readC4Shard(f, 3);
    assert.deepEqual(docs.map((d) => [d.id, d.text.length]), [[`${path.basename(f)}:1`, 1000], [`${path.basename(f)}:2`, 1000], [`${path.basename(f)}:3`, 1000]]);
    fs.rmSync(big, { recursive: true, force: true });
  });

  test('1: token streams and a C4 BPE are keyed by the folder and its shards: another folder, or a damaged shard, is read cold', async () => {
    const { corpusTokens } = await import('../../lib/studies/ancre-lm/tokens');
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-c4-cache-'));
    const a = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-c4-a-'));
    const b = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-c4-b-'));
    gz(path.join(a, 'c4-train.00000-of-01024.json.gz'), [JSON.stringify({ text: 'the cat sat on the mat' })]);
    gz(path.join(b, 'c4-train.00000-of-01024.json.gz'), [JSON.stringify({ text: 'a dog ran' })]);
    const tok = PretrainedTokenizer.load(path.join(dir, 'tokenizer.json'));
    const cfg = (c4Dir: string) => ({ corpus: 'c4' as const, c4Dir, c4MaxTrainDocs: 10, c4MaxValidationDocs: 10, tokenizerVocab: 64 });
    const old = process.env.REPRO_DATA_CACHE;
    process.env.REPRO_DATA_CACHE = cache;
    try {
      const ta = await corpusTokens(cfg(a), tok, 'train');
      const tb = await corpusTokens(cfg(b), tok, 'train');
      assert.notDeepEqual(Array.from(tb), Array.from(ta), 'folder B is not read from folder A\'s cache');
      assert.deepEqual(Array.from(tb), Array.from(await tok.encodeDocs([{ text: 'a dog ran' }])));
      // B's shard damaged after its stream was cached: a cold read, and its DataError
      const fb = path.join(b, 'c4-train.00000-of-01024.json.gz');
      const bytes = fs.readFileSync(fb);
      fs.writeFileSync(fb, bytes.subarray(0, bytes.length - 8));
      await assert.rejects(corpusTokens(cfg(b), tok, 'train'), (e: unknown) => e instanceof DataError && (e as Error).message.includes(fb));
      assert.equal(fs.readdirSync(path.join(cache, 'tokens')).length, 2, 'one stream per folder');
    } finally {
      if (old === undefined) delete process.env.REPRO_DATA_CACHE;
      else process.env.REPRO_DATA_CACHE = old;
      for (const d of [cache, a, b]) fs.rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('a pretrained tokenizer.json (T5-shaped)', () => {
  test('documents end with </s> (id 1); truncation keeps </s> last; rows padded, pads masked', async () => {
    const tok = PretrainedTokenizer.load(path.join(dir, 'tokenizer.json'));
    assert.equal(tok.vocabSize, 3 + WORDS.length);
    assert.equal(tok.padId, 0);
    const docs = loadC4(dir, 'train', 10);
    const full = await tok.encodeDocs(docs);
    // the(3) cat(4) sat(5) on(6) the(3) mat(7) </s> | the dog(9) sat </s> | a(8) dog ran(10) </s>
    assert.deepEqual(Array.from(full), [3, 4, 5, 6, 3, 7, 1, 3, 9, 5, 1, 8, 9, 10, 1]);
    const cut = await tok.encodeDocs(docs, 4); // HF truncation=True, max_length=4
    assert.deepEqual(Array.from(cut), [3, 4, 5, 1, 3, 9, 5, 1, 8, 9, 10, 1]);
    // one document per row of T = 4 inputs: [ids…] predicting the next id, pads masked
    const rows = DocumentSampler.create(splitDocuments(cut), 4, 3, 0).next();
    for (let b = 0; b < 3; b++) {
      const m = Array.from(rows.mask.subarray(b * 4, b * 4 + 4));
      assert.deepEqual(m, [1, 1, 1, 0], `row ${b}: 3 targets, the last position a pad`);
      assert.equal(rows.targets[b * 4 + 2], 1, 'the last real target is </s>');
    }
  });

  test('a missing file, a file the library rejects, no <pad>, </s> not id 1: DataErrors naming the file', () => {
    const missing = path.join(dir, 'nope.json');
    assert.throws(() => PretrainedTokenizer.load(missing), (e: unknown) => e instanceof DataError && (e as Error).message.startsWith(`tokenizer file ${missing}: cannot read`));
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, '{"model": 3}');
    assert.throws(() => PretrainedTokenizer.load(bad), /the tokenizers library rejected it/);
    const j = JSON.parse(tinyT5Json());
    delete j.model.vocab['<pad>'];
    j.added_tokens = j.added_tokens.filter((t: { content: string }) => t.content !== '<pad>');
    j.model.vocab['zzz'] = 0;
    fs.writeFileSync(bad, JSON.stringify(j));
    assert.throws(() => PretrainedTokenizer.load(bad), /has no '<pad>' token/);
    const k = JSON.parse(tinyT5Json());
    k.model.vocab['</s>'] = 11;
    k.model.vocab['cat'] = 1;
    k.added_tokens[1].id = 11;
    k.post_processor.special_tokens['</s>'].ids = [11];
    fs.writeFileSync(bad, JSON.stringify(k));
    assert.throws(() => PretrainedTokenizer.load(bad), /'<\/s>' is id 11; the document stream ends every document with id 1/);
  });
});
