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
 * so a broken download never silently falls through to another copy. Likewise a set `$REPRO_DATA`
 * is the only place searched, and one that cannot be used (missing, a file, a symlink loop,
 * unreadable, or without the files) is a DataError naming the path and the cause.
 * Each load is noted with the split's identity (folder + MD5s, ./identity.ts) for the run's record.
 */
import * as fs from 'fs';
import * as path from 'path';
import { DataError } from '../errors';
import { REPO_ROOT } from '../paths';
import { readIdx } from './idx';
import { fashionMnistSplitIdentity, noteDataUse, registerDataResolver, type DataIdentity } from './identity';
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
  const env = process.env.REPRO_DATA;
  if (env !== undefined && env !== '') {
    const dir = path.resolve(env);
    checkDataFolder(dir, `REPRO_DATA=${env}`, true);
    const sub = path.join(dir, 'fashion-mnist');
    checkDataFolder(sub, `REPRO_DATA=${env} (its fashion-mnist subfolder)`, false);
    return [dir, sub]; // a set REPRO_DATA is never passed over for another copy
  }
  return [path.join(REPO_ROOT, 'data', 'fashion-mnist'), '/usr/share/datasets/fashion-mnist'];
}

const CAUSES: { [code: string]: string } = {
  ENOENT: 'does not exist',
  ELOOP: 'is a symbolic link loop',
  EACCES: 'cannot be read (permission denied)',
  EPERM: 'cannot be read (operation not permitted)',
  ENOTDIR: 'has a file where a folder is expected',
  ENAMETOOLONG: 'is too long a path',
  EIO: 'cannot be read (I/O error)',
};

/** Throws a DataError unless `dir` is a readable folder (`required`: also unless it exists). */
function checkDataFolder(dir: string, what: string, required: boolean): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (!required && code === 'ENOENT') return;
    throw new DataError(`${what}: ${dir} ${CAUSES[code] ?? `cannot be used (${(e as Error).message})`}; set REPRO_DATA to the folder holding the Fashion-MNIST files, or unset it to use data/fashion-mnist or /usr/share/datasets/fashion-mnist`);
  }
  if (!st.isDirectory()) {
    throw new DataError(`${what}: ${dir} is a file, not a folder; set REPRO_DATA to the folder holding the Fashion-MNIST files`);
  }
  try {
    fs.readdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    throw new DataError(`${what}: folder ${dir} ${CAUSES[code] ?? `cannot be listed (${(e as Error).message})`}; fix its permissions or point REPRO_DATA elsewhere`);
  }
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
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') continue; // absent
      throw new DataError(`${f} ${CAUSES[code ?? ''] ?? `cannot be used (${(e as Error).message})`}`);
    }
  }
  return undefined;
}

/** The folder and two files a split would be read from, or null when no folder holds it. */
function locate(split: Split, dirs: string[]): { dir: string; imagesFile: string; labelsFile: string } | null {
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
    return { dir, imagesFile, labelsFile };
  }
  return null;
}

/** The identity (folder, MD5s, canonical or not) of the split the default search finds; throws like loadFashionMnist. */
export function fashionMnistIdentity(split: Split, dirs: string[] = fashionMnistSearchPaths()): DataIdentity {
  const at = locate(split, dirs);
  if (!at) throw notFound(split, dirs);
  return fashionMnistSplitIdentity(split, at.dir, [at.imagesFile, at.labelsFile]);
}

// For run ids: a split found nowhere (no REPRO_DATA set) adds nothing; the run that needs it fails with the
// not-found message when it loads it, and configs that read other data (paper presets) are unaffected.
registerDataResolver('fashion-mnist', () => {
  const dirs = fashionMnistSearchPaths();
  const found = (['train', 'test'] as const).filter((s) => locate(s, dirs) !== null);
  if (process.env.REPRO_DATA && found.length < 2) throw notFound(found.includes('train') ? 'test' : 'train', dirs);
  return found.map((s) => fashionMnistIdentity(s, dirs));
});

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
  const at = locate(split, dirs);
  if (!at) throw notFound(split, dirs);
  const { dir, imagesFile, labelsFile } = at;
  const key = `${dir}|${split}`;
  let set = cache.get(key);
  if (!set) {
    set = readPair(imagesFile, labelsFile, split, dir);
    cache.set(key, set);
  }
  noteDataUse(fashionMnistSplitIdentity(split, dir, [imagesFile, labelsFile]));
  return limitSet(set, opts.limit);
}

function notFound(split: Split, dirs: string[]): DataError {
  const imageNames = fileNames(split, 'images');
  const labelNames = fileNames(split, 'labels');
  const env = process.env.REPRO_DATA;
  if (env) {
    return new DataError(
      `REPRO_DATA=${env} is set, but neither ${dirs.join(' nor ')} holds Fashion-MNIST (${split}): looking for ${imageNames[0]} and ${labelNames[0]} (gzip or not). ` +
        `Put the four files there, or unset REPRO_DATA to use data/fashion-mnist or /usr/share/datasets/fashion-mnist`,
    );
  }
  return new DataError(
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
