/** The language-model study's data: the corpus documents, its tokenizer and the cached token streams. */
import * as fs from 'fs';
import * as path from 'path';
import { loadBrown, type Doc } from '../../data/brown';
import { hashString } from '../../data/rng';
import { BpeTokenizer, cachedTokenizer, tokenizerJson } from '../../data/tokenizer';
import { c4Fingerprint, loadC4, PretrainedTokenizer } from '../../data/c4';
import { dataRoot, REPO_ROOT } from '../../paths';
import type { AncreLmConfig, AncreLmPacking } from './spec';
// ---------------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------------

/** The C4 reader lives in lib/data/c4.ts (re-exported here for the experiment's callers). */
export { loadC4 } from '../../data/c4';


function corpusDocs(c: Pick<AncreLmConfig, 'corpus' | 'c4Dir' | 'c4MaxTrainDocs' | 'c4MaxValidationDocs'>, split: 'train' | 'validation'): Doc[] {
  if (c.corpus === 'c4') return loadC4(c.c4Dir, split, split === 'train' ? c.c4MaxTrainDocs : c.c4MaxValidationDocs);
  return loadBrown()[split];
}

/** The corpus tokenizer: a named tokenizer.json (T5), or a BPE trained at first use and cached under data/tokenizers/. */
export function corpusTokenizer(c: Pick<AncreLmConfig, 'corpus' | 'c4Dir' | 'c4MaxTrainDocs' | 'c4MaxValidationDocs' | 'tokenizerVocab'> & { tokenizerFile?: string }): BpeTokenizer | PretrainedTokenizer {
  if (c.tokenizerFile) return PretrainedTokenizer.load(path.isAbsolute(c.tokenizerFile) ? c.tokenizerFile : path.resolve(REPO_ROOT, c.tokenizerFile));
  // A BPE trained on C4 is keyed by the shards it was trained on (another folder trains its own).
  return cachedTokenizer(c.corpus === 'c4' ? `c4-${c4Fingerprint(c.c4Dir, 'train')}` : c.corpus, c.tokenizerVocab, () => corpusDocs(c, 'train').slice(0, 200_000));
}

/**
 * The token stream of a split, cached as raw int32 under data/tokens/ keyed by the tokenizer's content hash
 * (encoding Brown takes seconds; every run of the sweep reads the same stream). A cache file that is not a
 * whole number of in-range ids is ignored and rewritten.
 */
export async function corpusTokens(c: Parameters<typeof corpusTokenizer>[0] & { packing?: AncreLmPacking; seqLen?: number }, tok: BpeTokenizer | PretrainedTokenizer, split: 'train' | 'validation'): Promise<Int32Array> {
  const pre = tok instanceof PretrainedTokenizer;
  // a pretrained tokenizer truncates each training document to the row length (the official loader)
  const truncate = pre && split === 'train' && c.packing === 'document' ? c.seqLen! : null;
  const key = pre ? `${tok.key}${truncate ? `-t${truncate}` : ''}` : hashString(tokenizerJson(tok.vocab)).toString(16);
  // C4's streams are keyed by the split's shards too (folder, names, sizes, times): other bytes, another file.
  const corpusKey = c.corpus === 'c4' ? `c4-${c4Fingerprint(c.c4Dir, split)}` : c.corpus;
  const file = path.join(dataRoot(), 'tokens', `${corpusKey}-${pre ? 'pre' : 'bpe'}-${tok.vocabSize}-${key}-${split}${c.corpus === 'c4' ? `-${split === 'train' ? c.c4MaxTrainDocs : c.c4MaxValidationDocs}` : ''}.i32`);
  if (fs.existsSync(file)) {
    const buf = fs.readFileSync(file);
    if (buf.length % 4 === 0 && buf.length > 0) {
      const ids = new Int32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
      if (ids.every((x) => x >= 0 && x < tok.vocabSize)) return ids;
    }
  }
  const docs = corpusDocs(c, split);
  const ids = pre ? await tok.encodeDocs(docs, truncate) : await tok.encodeDocs(docs);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, Buffer.from(ids.buffer, ids.byteOffset, ids.byteLength));
  fs.renameSync(tmp, file);
  return ids;
}
