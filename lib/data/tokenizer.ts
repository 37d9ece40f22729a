/**
 * A byte-pair-encoding tokenizer (Sennrich et al. 2016, arXiv 1508.07909) for the language-model
 * experiments, trained with HuggingFace's `tokenizers` (npm package of the same name: Rust, prebuilt
 * native binaries, nothing to compile) in SentencePiece's "Metaspace" style — spaces become `▁` and
 * start the next word — as the T5 tokenizer used by paper B (ANCRe, arXiv 2602.09009) does.
 *
 * Vocabulary size. The package's Node binding exposes `Tokenizer.train(files)` with the model's default
 * trainer only (30,000 tokens, no options). BPE training is greedy: merge k is chosen from the counts left
 * by merges 1..k−1, so the first k merges of a longer run are exactly what a run stopped at k merges
 * learns. We therefore train once and keep the first merges until the vocabulary holds `vocabSize`
 * tokens. Layout of the ids (fixed, so a file can be checked):
 *   0 `<unk>` (characters outside the alphabet), 1 `<eod>` (end of document; inserted between documents,
 *   never produced from text), 2… the alphabet (printable ASCII without space, '\n', '\t', '▁'), then the
 *   merged tokens in merge order.
 *
 * Files. `brownTokenizer(V)` trains on the Brown training split at first use and caches
 * `data/tokenizers/brown-bpe-<V>.json` (git-ignored; training is deterministic, so every machine
 * rebuilds the same file). Loading checks the whole file before the native library sees it: a file that is
 * not JSON, not a Metaspace BPE of this layout, has the wrong vocabulary size, ids that are not 0…V−1, or
 * merges whose parts are not in the vocabulary is a DataError naming the file. The native library is
 * then given a canonical JSON rebuilt from the checked vocabulary and merges, never the raw file.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ConfigError, DataError, checkNumber, show } from '../errors';
import { dataRoot } from '../paths';
import { loadBrown, type Doc } from './brown';

export const UNK = '<unk>';
export const EOD = '<eod>';
/** Metaspace's word-start marker (U+2581). */
export const SPACE_MARK = '\u2581';
/** The base alphabet after the two special tokens, in id order. */
export const ALPHABET: readonly string[] = (() => {
  const a: string[] = ['\n', '\t'];
  for (let c = 0x21; c <= 0x7e; c++) a.push(String.fromCharCode(c));
  a.push(SPACE_MARK);
  return a;
})();
export const BASE_TOKENS = 2 + ALPHABET.length;
/** Tokenizer files larger than this are not ours (a 32k vocabulary is ~1 MB). */
export const TOKENIZER_MAX_BYTES = 16 * 1024 * 1024;

interface Native {
  Tokenizer: {
    fromString(s: string): NativeTokenizer;
    new (model: unknown): NativeTokenizer;
  };
  BPE: { empty(): unknown };
  metaspacePreTokenizer(): unknown;
  metaspaceDecoder(): unknown;
}
interface NativeTokenizer {
  setPreTokenizer(p: unknown): void;
  setDecoder(d: unknown): void;
  train(files: string[]): void;
  save(file: string, pretty?: boolean): void;
  encodeBatch(texts: string[]): Promise<{ getIds(): number[] }[]>;
  decode(ids: number[], skipSpecial: boolean): Promise<string>;
  getVocabSize(withAdded?: boolean): number;
}

function native(): Native {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return require('tokenizers') as Native;
  } catch (e) {
    throw new DataError(`the npm package 'tokenizers' (HuggingFace) does not load here (${(e as Error).message}); run: npm install tokenizers`);
  }
}

/** The checked content of a tokenizer file. */
export interface BpeVocab {
  /** Token strings by id. */
  tokens: string[];
  /** Merges in order, each a pair of token strings. */
  merges: [string, string][];
}

/** The canonical tokenizer JSON (what we write and what the native library reads). */
export function tokenizerJson(v: BpeVocab): string {
  const meta = { type: 'Metaspace', replacement: SPACE_MARK, prepend_scheme: 'always', split: true };
  const vocab: Record<string, number> = {};
  v.tokens.forEach((t, i) => (vocab[t] = i));
  return JSON.stringify({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: meta,
    post_processor: null,
    decoder: meta,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: UNK,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: v.merges,
    },
  });
}

/**
 * Checks a tokenizer file's text (see the header); `name` goes into every message. Returns the vocabulary.
 * Throws DataError only.
 */
export function parseTokenizerFile(text: string, name: string, vocabSize: number): BpeVocab {
  const bad = (why: string): never => {
    throw new DataError(`tokenizer file ${name}: ${why}; delete it to retrain`);
  };
  if (text.length > TOKENIZER_MAX_BYTES) bad(`${text.length} bytes is more than the ${TOKENIZER_MAX_BYTES} of any tokenizer we write`);
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    bad(`not valid JSON (${(e as Error).message})`);
  }
  const obj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (!obj(j)) return bad('not a JSON object');
  const pre = j.pre_tokenizer;
  if (!obj(pre) || pre.type !== 'Metaspace' || pre.replacement !== SPACE_MARK) bad(`pre_tokenizer must be Metaspace with '${SPACE_MARK}'; got ${show(pre)}`);
  const model = j.model;
  if (!obj(model)) return bad('no model object');
  if (model.type !== 'BPE') bad(`model.type must be 'BPE'; got ${show(model.type)}`);
  if (model.unk_token !== UNK) bad(`model.unk_token must be '${UNK}'; got ${show(model.unk_token)}`);
  const vocab = model.vocab;
  if (!obj(vocab)) return bad('model.vocab is not an object');
  const keys = Object.keys(vocab);
  if (keys.length !== vocabSize) bad(`vocabulary size ${keys.length} does not match the expected ${vocabSize}`);
  const tokens = new Array<string>(vocabSize);
  for (const k of keys) {
    const id = vocab[k];
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= vocabSize) bad(`token ${show(k)} has id ${show(id)}; ids must be integers in [0, ${vocabSize})`);
    if (tokens[id as number] !== undefined) bad(`id ${id} is used by both ${show(tokens[id as number])} and ${show(k)}`);
    if (k.length === 0) bad('the empty string is not a token');
    tokens[id as number] = k;
  }
  if (tokens[0] !== UNK || tokens[1] !== EOD) bad(`ids 0 and 1 must be '${UNK}' and '${EOD}'; got ${show(tokens[0])}, ${show(tokens[1])}`);
  for (let i = 0; i < ALPHABET.length && i + 2 < vocabSize; i++) {
    if (tokens[i + 2] !== ALPHABET[i]) bad(`id ${i + 2} must be the alphabet character ${show(ALPHABET[i])}; got ${show(tokens[i + 2])}`);
  }
  const merges = model.merges;
  if (!Array.isArray(merges)) return bad('model.merges is not a list');
  const expectMerges = vocabSize - BASE_TOKENS;
  if (merges.length !== expectMerges) bad(`${merges.length} merges; a ${vocabSize}-token vocabulary has ${expectMerges}`);
  const known = new Set<string>(tokens.slice(0, BASE_TOKENS));
  const out: [string, string][] = [];
  merges.forEach((m, i) => {
    if (!Array.isArray(m) || m.length !== 2 || typeof m[0] !== 'string' || typeof m[1] !== 'string') bad(`merge ${i} must be a pair of strings; got ${show(m)}`);
    const [a, b] = m as [string, string];
    if (!known.has(a) || !known.has(b)) bad(`merge ${i} ${show(m)} uses a token not made before it`);
    // Merge i creates token BASE_TOKENS + i: the layout that makes the vocabulary a prefix of one training run.
    if (tokens[BASE_TOKENS + i] !== a + b) bad(`merge ${i} ${show(m)} must create token ${BASE_TOKENS + i}; that id holds ${show(tokens[BASE_TOKENS + i])}`);
    known.add(a + b);
    out.push([a, b]);
  });
  return { tokens, merges: out };
}

/** A loaded tokenizer: encode documents into one token stream, decode ids. */
export class BpeTokenizer {
  private constructor(
    private readonly tok: NativeTokenizer,
    readonly vocab: BpeVocab,
    /** The file it was loaded from (or null when built in memory). */
    readonly file: string | null,
  ) {}

  get vocabSize(): number {
    return this.vocab.tokens.length;
  }

  static fromVocab(v: BpeVocab, file: string | null): BpeTokenizer {
    const json = tokenizerJson(v);
    let tok: NativeTokenizer;
    try {
      tok = native().Tokenizer.fromString(json);
    } catch (e) {
      if (e instanceof DataError) throw e;
      throw new DataError(`tokenizer ${file ?? '(in memory)'}: the tokenizers library rejected it (${(e as Error).message})`);
    }
    return new BpeTokenizer(tok, v, file);
  }

  /** Loads and checks `file` (DataError naming the file when missing, corrupt or of another size). */
  static load(file: string, vocabSize: number): BpeTokenizer {
    let text: string;
    try {
      const size = fs.statSync(file).size;
      if (size > TOKENIZER_MAX_BYTES) throw new DataError(`tokenizer file ${file}: ${size} bytes is more than the ${TOKENIZER_MAX_BYTES} of any tokenizer we write; delete it to retrain`);
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      if (e instanceof DataError) throw e;
      throw new DataError(`tokenizer file ${file}: cannot read (${(e as Error).message})`);
    }
    return BpeTokenizer.fromVocab(parseTokenizerFile(text, file, vocabSize), file);
  }

  /** Token ids of each text, in order. */
  async encodeEach(texts: string[]): Promise<Int32Array[]> {
    const out: Int32Array[] = [];
    const chunk = 64; // bounded native batches
    for (let i = 0; i < texts.length; i += chunk) {
      const enc = await this.tok.encodeBatch(texts.slice(i, i + chunk));
      for (const e of enc) out.push(Int32Array.from(e.getIds()));
    }
    return out;
  }

  /** One stream: every document's ids followed by `<eod>` (id 1). // [N] */
  async encodeDocs(docs: Pick<Doc, 'text'>[]): Promise<Int32Array> {
    if (docs.length === 0) throw new DataError('no documents to encode (empty corpus)');
    const parts = await this.encodeEach(docs.map((d) => d.text));
    const n = parts.reduce((s, p) => s + p.length + 1, 0);
    const out = new Int32Array(n);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      out[o + p.length] = 1;
      o += p.length + 1;
    }
    return out;
  }

  async decode(ids: ArrayLike<number>): Promise<string> {
    return this.tok.decode(Array.from(ids), false);
  }
}

/**
 * Trains a BPE vocabulary of `vocabSize` tokens on `docs` (see the header for the truncation argument).
 * Deterministic: the same documents give the same vocabulary. DataError on an empty corpus or one too small
 * to make `vocabSize` tokens.
 */
export function trainBpe(docs: Pick<Doc, 'text'>[], vocabSize: number): BpeVocab {
  checkNumber('vocabSize', vocabSize, { lo: BASE_TOKENS + 1, hi: 30000, integer: true });
  const text = docs.map((d) => d.text).join('\n\n');
  if (!/\S/.test(text)) throw new DataError(`cannot train a tokenizer on an empty corpus (${docs.length} documents, no text)`);
  const nat = native();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bpe-'));
  try {
    const corpus = path.join(dir, 'corpus.txt');
    fs.writeFileSync(corpus, text);
    const t = new nat.Tokenizer(nat.BPE.empty());
    t.setPreTokenizer(nat.metaspacePreTokenizer());
    t.setDecoder(nat.metaspaceDecoder());
    t.train([corpus]);
    const out = path.join(dir, 'trained.json');
    t.save(out, false);
    const merges = (JSON.parse(fs.readFileSync(out, 'utf8')).model.merges as [string, string][]) ?? [];
    const tokens = [UNK, EOD, ...ALPHABET];
    const known = new Set(tokens);
    const kept: [string, string][] = [];
    for (const [a, b] of merges) {
      if (tokens.length >= vocabSize) break;
      // Characters outside our alphabet (non-ASCII text) map to <unk>; merges using them are skipped.
      if (!known.has(a) || !known.has(b) || known.has(a + b)) continue;
      kept.push([a, b]);
      tokens.push(a + b);
      known.add(a + b);
    }
    if (tokens.length < vocabSize) {
      throw new DataError(`the corpus (${text.length} characters) is too small for a ${vocabSize}-token BPE vocabulary: training made only ${tokens.length}`);
    }
    return { tokens, merges: kept };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes atomically (temp file + rename) so a killed process never leaves half a tokenizer. */
function writeAtomic(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/** `data/tokenizers/<corpus>-bpe-<V>.json` (under `$REPRO_DATA_CACHE` when set). */
export function tokenizerFile(corpus: string, vocabSize: number, dir = path.join(dataRoot(), 'tokenizers')): string {
  return path.join(dir, `${corpus}-bpe-${vocabSize}.json`);
}

/**
 * A tokenizer of `vocabSize` tokens for `corpus`: loaded from its cache file, or trained on `docs()` at first
 * use and saved there. A cache file that does not check out is a DataError naming it (never silently retrained).
 */
export function cachedTokenizer(corpus: string, vocabSize: number, docs: () => Pick<Doc, 'text'>[], opts: { dir?: string } = {}): BpeTokenizer {
  if (!Number.isInteger(vocabSize)) throw new ConfigError(`vocabSize must be an integer; got ${show(vocabSize)}`);
  const file = tokenizerFile(corpus, vocabSize, opts.dir);
  if (!fs.existsSync(file)) writeAtomic(file, tokenizerJson(trainBpe(docs(), vocabSize)));
  return BpeTokenizer.load(file, vocabSize);
}

/** The Brown-corpus tokenizer, trained on the training split: `data/tokenizers/brown-bpe-<V>.json`. */
export function brownTokenizer(vocabSize: number, opts: { dir?: string; docs?: Pick<Doc, 'text'>[] } = {}): BpeTokenizer {
  return cachedTokenizer('brown', vocabSize, () => opts.docs ?? loadBrown().train, opts);
}
