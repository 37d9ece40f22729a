/**
 * Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, arXiv 1708.07747): 70,000 28×28 grey images of 10
 * clothing classes, 60,000 train / 10,000 test, in the IDX format (./idx.ts).
 *
 * Searched, in order (the first folder holding the split's two files wins):
 *   $REPRO_DATA, $REPRO_DATA/fashion-mnist   (when set)
 *   <repo>/data/fashion-mnist                (what `bash environment/fetch-data.sh` fills)
 *   /usr/share/datasets/fashion-mnist        (Debian package `dataset-fashion-mnist`)
 * File names are the canonical ones, gzip or not: train-images-idx3-ubyte(.gz),
 * train-labels-idx1-ubyte(.gz), t10k-images-idx3-ubyte(.gz), t10k-labels-idx1-ubyte(.gz).
 * A folder with only one of a split's two files, or with a corrupt file, is an error (not skipped),
 * so a broken download never silently falls through to another copy.
 */
import * as fs from 'fs';
import * as path from 'path';
import { DataError } from '../errors';
import { REPO_ROOT } from '../paths';
import { readIdx } from './idx';
import { ImageSet, limitSet } from './image-set';

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];
export const FASHION_MNIST_SIZES = { train: 60000, test: 10000 } as const;

export type Split = 'train' | 'test';

export interface FashionMnistOptions {
  /** Keep the first `limit` images (in file order). */
  limit?: number;
  /** Folders to search instead of the default order (tests). */
  dirs?: string[];
}

/** The folders searched, in order. */
export function fashionMnistSearchPaths(): string[] {
  const dirs: string[] = [];
  const env = process.env.REPRO_DATA;
  if (env) dirs.push(path.resolve(env), path.join(path.resolve(env), 'fashion-mnist'));
  dirs.push(path.join(REPO_ROOT, 'data', 'fashion-mnist'), '/usr/share/datasets/fashion-mnist');
  return dirs;
}

function fileNames(split: Split, kind: 'images' | 'labels'): string[] {
  const prefix = split === 'train' ? 'train' : 't10k';
  const base = kind === 'images' ? `${prefix}-images-idx3-ubyte` : `${prefix}-labels-idx1-ubyte`;
  const dotted = kind === 'images' ? `${prefix}-images.idx3-ubyte` : `${prefix}-labels.idx1-ubyte`;
  return [`${base}.gz`, base, `${dotted}.gz`, dotted];
}

function findIn(dir: string, names: string[]): string | undefined {
  for (const n of names) {
    const f = path.join(dir, n);
    try {
      if (fs.statSync(f).isFile()) return f;
    } catch {
      /* absent */
    }
  }
  return undefined;
}

const cache = new Map<string, ImageSet>();

/** Drops the in-process cache (tests; or to free ~190 MB after the train split). */
export function clearFashionMnistCache(): void {
  cache.clear();
}

/**
 * Loads one split as an ImageSet: images [N, 28, 28] in [0, 1], labels in 0..9. Parsed arrays are
 * cached per folder and split; `limit` returns views into the cached arrays (treat as read-only).
 */
export function loadFashionMnist(split: Split, opts: FashionMnistOptions = {}): ImageSet {
  if (split !== 'train' && split !== 'test') {
    throw new DataError(`unknown Fashion-MNIST split '${String(split)}'; expected one of train, test`);
  }
  const dirs = opts.dirs ?? fashionMnistSearchPaths();
  const imageNames = fileNames(split, 'images');
  const labelNames = fileNames(split, 'labels');
  for (const dir of dirs) {
    const imagesFile = findIn(dir, imageNames);
    const labelsFile = findIn(dir, labelNames);
    if (!imagesFile && !labelsFile) continue;
    if (!imagesFile || !labelsFile) {
      const missing = !imagesFile ? imageNames[1] : labelNames[1];
      throw new DataError(
        `Fashion-MNIST ${split} in ${dir} is incomplete: ${missing}(.gz) is missing next to ${path.basename((imagesFile ?? labelsFile)!)}; ` +
          `rerun 'bash environment/fetch-data.sh' or remove the folder`,
      );
    }
    const key = `${dir}|${split}`;
    let set = cache.get(key);
    if (!set) {
      set = readPair(imagesFile, labelsFile, split, dir);
      cache.set(key, set);
    }
    return limitSet(set, opts.limit);
  }
  throw new DataError(
    `Fashion-MNIST (${split}) not found. Searched:\n` +
      dirs.map((d) => `  ${d}`).join('\n') +
      `\nlooking for ${imageNames[0]} and ${labelNames[0]} (gzip or not). Get it with one of:\n` +
      `  sudo apt-get install dataset-fashion-mnist      (Debian/Ubuntu; installs /usr/share/datasets/fashion-mnist)\n` +
      `  bash environment/fetch-data.sh                  (downloads the four files into data/fashion-mnist)\n` +
      `  or put the four files in a folder and set REPRO_DATA to it`,
  );
}

function readPair(imagesFile: string, labelsFile: string, split: Split, dir: string): ImageSet {
  const img = readIdx(imagesFile);
  const lab = readIdx(labelsFile);
  if (img.type !== 'uint8' || img.dims.length !== 3) {
    throw new DataError(`${imagesFile}: expected uint8 images [N, H, W]; got ${img.type} [${img.dims.join(', ')}]`);
  }
  if (lab.type !== 'uint8' || lab.dims.length !== 1) {
    throw new DataError(`${labelsFile}: expected uint8 labels [N]; got ${lab.type} [${lab.dims.join(', ')}]`);
  }
  const [n, height, width] = img.dims;
  if (lab.dims[0] !== n) throw new DataError(`${labelsFile}: ${lab.dims[0]} labels for ${n} images in ${imagesFile}`);
  if (n === 0) throw new DataError(`${imagesFile}: holds no images`);
  const labels = new Int32Array(n);
  const k = FASHION_MNIST_CLASSES.length;
  for (let i = 0; i < n; i++) {
    const y = lab.data[i];
    if (y >= k) throw new DataError(`${labelsFile}: label ${y} at index ${i} is outside [0, ${k - 1}]`);
    labels[i] = y;
  }
  const images = new Float32Array(img.data.length);
  for (let i = 0; i < images.length; i++) images[i] = img.data[i] / 255;
  return { name: `fashion-mnist/${split}`, images, labels, n, height, width, classes: FASHION_MNIST_CLASSES.slice(), source: dir };
}
