/**
 * C4 as paper B's code reads it (allenai/c4 `en`, the official json.gz shards
 * `c4-train.00000-of-01024.json.gz`, `c4-validation.00000-of-00008.json.gz`; one JSON document per line
 * with its `text`), tokenised by a pretrained tokenizer.json (the T5 tokenizer of the official runs:
 * `t5-base`, 32000 rows, pad 0, `</s>` 1) through HuggingFace's `tokenizers`:
 *
 *   tokenizer(text, max_length=256, truncation=True, padding="max_length"), pads masked in the loss
 *
 * which `PretrainedTokenizer.encodeDocs(docs, 256)` + the project's document rows (documents.ts
 * DocumentSampler: one document per row, padded, pads masked) reproduce: each document's ids are
 * truncated to 256 with its `</s>` last, and `</s>` (id 1) is also the project's document separator.
 *
 * Bad input: a folder without shards, a shard that is not gzip, a line that is not JSON or has no
 * `text` string (`<file>:<line>`), a tokenizer.json that does not load or has no `<pad>` / `</s>` where
 * the rows need them: a DataError naming the file and what is wrong.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { DataError } from '../errors';
import type { Doc } from './brown';
import { EOD_ID } from './documents';
import { hashString } from './rng';

const SHARD = /\.jsonl?(\.gz)?$/;

/** The shards of `split` in `dir` (names containing the split, `.json`, `.jsonl`, `.json.gz`), in name order. */
export function c4Shards(dir: string, split: 'train' | 'validation'): string[] {
  if (!dir) throw new DataError(`the C4 corpus needs a folder: set c4Dir to a folder of c4-${split}.*.json.gz shards`);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new DataError(`C4 folder ${dir} does not exist (c4Dir); it should hold c4-${split}.*.json.gz shards`);
  const files = fs.readdirSync(dir).filter((f) => f.includes(split) && SHARD.test(f)).sort();
  if (files.length === 0) throw new DataError(`C4 folder ${dir} holds no '${split}' shards (c4-${split}.*.json.gz, .json or .jsonl)`);
  return files.map((f) => path.join(dir, f));
}

/**
 * The texts of one shard, at most `maxDocs`; a bad line is a DataError `<file>:<line>: …`. The decompressed
 * shard stays bytes and is decoded one line at a time: a real C4-en shard holds ~0.8 GB of text, more than one
 * JavaScript string can (~512 MiB).
 */
export function readC4Shard(file: string, maxDocs = Infinity): Doc[] {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new DataError(`${file}: cannot read (${(e as Error).message})`);
  }
  if (file.endsWith('.gz')) {
    try {
      buf = zlib.gunzipSync(buf);
    } catch (e) {
      const big = e instanceof RangeError || /larger than|buffer/i.test((e as Error).message);
      throw new DataError(`${file}: ${big ? `decompresses to more than this process can hold (${(e as Error).message}); split the shard` : `not a gzip file (${(e as Error).message})`}`);
    }
  }
  const docs: Doc[] = [];
  const name = path.basename(file);
  let start = 0;
  for (let line = 1; start < buf.length && docs.length < maxDocs; line++) {
    let end = buf.indexOf(0x0a, start);
    if (end < 0) end = buf.length;
    const text0 = buf.toString('utf8', start, end);
    start = end + 1;
    if (!text0.trim()) continue;
    let j: unknown;
    try {
      j = JSON.parse(text0);
    } catch (e) {
      throw new DataError(`${file}:${line}: not a JSON document (${(e as Error).message})`);
    }
    const text = (j as { text?: unknown } | null)?.text;
    if (typeof text !== 'string') throw new DataError(`${file}:${line}: no "text" string in this document (keys: ${j && typeof j === 'object' ? Object.keys(j).join(', ') || 'none' : typeof j})`);
    docs.push({ id: `${name}:${line}`, category: 'c4', text });
  }
  return docs;
}

/**
 * What a split's shards are, for cache keys: the folder's real path and each shard's name, size and
 * modification time (a stat, not a read). Another folder, or a shard replaced, cut short or edited, gives
 * another key, so a token cache or tokenizer made from other bytes is never reused (issue 31, 1).
 */
export function c4Fingerprint(dir: string, split: 'train' | 'validation'): string {
  const shards = c4Shards(dir, split);
  const parts = shards.map((f) => {
    const st = fs.statSync(f);
    return `${path.basename(f)}:${st.size}:${Math.round(st.mtimeMs)}`;
  });
  return hashString(`${fs.realpathSync(dir)}|${parts.join('|')}`).toString(16);
}

/** The documents of a split, shard by shard in name order, at most `maxDocs`. */
export function loadC4(dir: string, split: 'train' | 'validation', maxDocs: number): Doc[] {
  const docs: Doc[] = [];
  for (const file of c4Shards(dir, split)) {
    docs.push(...readC4Shard(file, maxDocs - docs.length));
    if (docs.length >= maxDocs) break;
  }
  if (docs.length === 0) throw new DataError(`C4 folder ${dir}: the ${split} shards hold no documents`);
  return docs;
}

interface NativeEncoding {
  getIds(): number[];
}
interface NativeTokenizer {
  encodeBatch(texts: string[], opts?: { addSpecialTokens?: boolean }): Promise<NativeEncoding[]>;
  setTruncation(maxLength: number): void;
  getVocabSize(withAdded?: boolean): number;
  tokenToId(token: string): number | null;
  decode(ids: number[], skipSpecial: boolean): Promise<string>;
}

/** At most this many bytes in a tokenizer.json (T5's is 2.4 MB; LLaMA's 1.8 MB). */
export const PRETRAINED_TOKENIZER_MAX_BYTES = 64 * 2 ** 20;

/** A pretrained tokenizer.json (the T5 tokenizer), with the surface the LM experiment uses. */
export class PretrainedTokenizer {
  private constructor(
    private readonly tok: NativeTokenizer,
    readonly file: string,
    readonly vocabSize: number,
    readonly padId: number,
    /** hash of the file's content: the key of token caches */
    readonly key: string,
  ) {}

  static load(file: string): PretrainedTokenizer {
    let text: string;
    try {
      const size = fs.statSync(file).size;
      if (size > PRETRAINED_TOKENIZER_MAX_BYTES) throw new DataError(`tokenizer file ${file}: ${size} bytes is more than any tokenizer.json (${PRETRAINED_TOKENIZER_MAX_BYTES})`);
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      if (e instanceof DataError) throw e;
      throw new DataError(`tokenizer file ${file}: cannot read (${(e as Error).message}); name a tokenizer.json (e.g. t5-base's)`);
    }
    let tok: NativeTokenizer;
    try {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      tok = (require('tokenizers') as { Tokenizer: { fromString(s: string): NativeTokenizer } }).Tokenizer.fromString(text);
    } catch (e) {
      throw new DataError(`tokenizer file ${file}: the tokenizers library rejected it (${(e as Error).message.split('\n')[0]})`);
    }
    const pad = tok.tokenToId('<pad>');
    const eos = tok.tokenToId('</s>');
    if (pad == null) throw new DataError(`tokenizer file ${file} has no '<pad>' token: the document rows are padded with it (T5: id 0)`);
    if (eos !== EOD_ID) throw new DataError(`tokenizer file ${file}: '</s>' is ${eos == null ? 'missing' : `id ${eos}`}; the document stream ends every document with id ${EOD_ID} (T5's '</s>')`);
    return new PretrainedTokenizer(tok, file, tok.getVocabSize(true), pad, hashString(text).toString(16));
  }

  /**
   * One stream of every document's ids, each ending with `</s>` (id 1, the project's document
   * separator): the tokenizer's own post-processing adds it; `truncate` (e.g. 256) cuts each document
   * as HF's `truncation=True, max_length` does (`</s>` kept last).
   */
  async encodeDocs(docs: Pick<Doc, 'text'>[], truncate: number | null = null): Promise<Int32Array> {
    if (docs.length === 0) throw new DataError('no documents to encode (empty corpus)');
    if (truncate != null) this.tok.setTruncation(truncate);
    const parts: Int32Array[] = [];
    for (let i = 0; i < docs.length; i += 64) {
      const enc = await this.tok.encodeBatch(docs.slice(i, i + 64).map((d) => d.text), { addSpecialTokens: true });
      for (const e of enc) {
        const ids = Int32Array.from(e.getIds());
        // a tokenizer without T5's post-processor: end the document ourselves
        parts.push(ids.length && ids[ids.length - 1] === EOD_ID ? ids : Int32Array.from([...(truncate != null && ids.length >= truncate ? ids.subarray(0, truncate - 1) : ids), EOD_ID]));
      }
    }
    const out = new Int32Array(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  async decode(ids: ArrayLike<number>): Promise<string> {
    return this.tok.decode(Array.from(ids), false);
  }
}
