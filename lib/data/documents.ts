/**
 * Document-per-row batches: the data layout of the official ANCRe LLaMA code (GaLore's C4 loader, paper B,
 * arXiv 2602.09009): every row is ONE document, truncated or padded to T + 1 tokens, and the padded positions
 * are masked out of the loss. (The project's default packs a continuous stream into windows instead.)
 *
 *   row b = d[0 … min(len, T+1))  then pads;   inputs = row[0 … T),  targets = row[1 … T+1),
 *   mask[b, t] = 1 where targets[b, t] is a real token of the document (its closing `<eod>` included).
 *
 * Resumable like SequenceSampler: the document order comes from a seeded BatchSampler over the documents.
 */
import { ConfigError, DataError, checkNumber, show } from '../errors';
import { BatchSampler, type BatchSamplerState } from './batches';

/** Id of `<eod>` in the project's BPE vocabularies (lib/data/tokenizer.ts); also the pad id of document rows. */
export const EOD_ID = 1;

/** Splits a stream of documents, each followed by `<eod>`, into documents (each keeps its `<eod>`). */
export function splitDocuments(stream: Int32Array, eod = EOD_ID): Int32Array[] {
  const docs: Int32Array[] = [];
  let start = 0;
  for (let i = 0; i < stream.length; i++) {
    if (stream[i] === eod) {
      if (i > start) docs.push(stream.subarray(start, i + 1));
      start = i + 1;
    }
  }
  if (start < stream.length) docs.push(stream.subarray(start));
  return docs;
}

export interface DocumentBatch {
  /** [B, T] row-major */
  inputs: Int32Array;
  /** [B, T] row-major; pads hold EOD_ID and are masked */
  targets: Int32Array;
  /** [B, T]: 1 for real targets, 0 for pads */
  mask: Float32Array;
  batchSize: number;
  seqLen: number;
}

export interface DocumentSamplerState {
  seqLen: number;
  numDocs: number;
  order: BatchSamplerState;
}

export class DocumentSampler {
  private constructor(
    private readonly docs: Int32Array[],
    private readonly seqLen: number,
    private readonly order: BatchSampler,
  ) {}

  static create(docs: Int32Array[], seqLen: number, batchSize: number, seed: number): DocumentSampler {
    checkNumber('seqLen', seqLen, { lo: 1, integer: true });
    checkNumber('batchSize', batchSize, { lo: 1, integer: true });
    const usable = docs.filter((d) => d.length >= 2).length;
    if (usable !== docs.length) throw new DataError(`${docs.length - usable} document(s) have fewer than 2 tokens: nothing to predict`);
    if (docs.length < batchSize) throw new ConfigError(`${docs.length} documents cannot fill a batch of ${batchSize} document rows (batch)`);
    return new DocumentSampler(docs, seqLen, new BatchSampler(docs.length, batchSize, seed, { dropLast: true }));
  }

  static fromState(docs: Int32Array[], s: DocumentSamplerState): DocumentSampler {
    if (typeof s !== 'object' || s === null || !Number.isInteger(s.seqLen) || s.seqLen < 1) throw new DataError(`invalid DocumentSampler state ${show(s)}`);
    if (s.numDocs !== docs.length) throw new DataError(`invalid DocumentSampler state: it was made for ${show(s.numDocs)} documents; got ${docs.length}`);
    return new DocumentSampler(docs, s.seqLen, BatchSampler.fromState(s.order));
  }

  state(): DocumentSamplerState {
    return { seqLen: this.seqLen, numDocs: this.docs.length, order: this.order.state() };
  }

  next(): DocumentBatch {
    const idx = this.order.next();
    const T = this.seqLen;
    const B = idx.length;
    const inputs = new Int32Array(B * T).fill(EOD_ID);
    const targets = new Int32Array(B * T).fill(EOD_ID);
    const mask = new Float32Array(B * T);
    for (let b = 0; b < B; b++) {
      const d = this.docs[idx[b]];
      const n = Math.min(d.length, T + 1); // tokens of the row
      inputs.set(d.subarray(0, Math.min(n, T)), b * T);
      targets.set(d.subarray(1, n), b * T);
      mask.fill(1, b * T, b * T + n - 1);
    }
    return { inputs, targets, mask, batchSize: B, seqLen: T };
  }
}
