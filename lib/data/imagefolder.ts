/**
 * An ImageNet-style folder, as torchvision's ImageFolder reads it and the official MAE trains on it:
 *
 *   <root>/train/<class>/*.JPEG     <root>/val/<class>/*
 *
 * Classes are the train split's folder names in sorted order (label = index); the val split must use
 * the same names. Images decode with sharp in a pool of worker threads (imagefolder-decode.ts holds the
 * transforms), so decoding keeps up with the engine: `batch(indices, step)` decodes a batch in
 * parallel and returns [B, size, size, 3] float32, ImageNet-normalised. Every random draw (crop box,
 * flip) comes from the run's seed, the step and the position in the batch: a resumed run decodes
 * exactly what an uninterrupted one would.
 *
 * Bad input: a missing root, split or class folder, a class without images, a val class unknown to
 * train, an image that does not decode: a DataError naming the folder or file and what is missing.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { ConfigError, DataError, checkPositiveInt } from '../errors';
import { decodeImage, ImageTransform } from './imagefolder-decode';
import { hashString } from './rng';

export { IMAGENET_MEAN, IMAGENET_STD, decodeImage } from './imagefolder-decode';
export type { ImageTransform } from './imagefolder-decode';

export type ImageFolderSplit = 'train' | 'val';

const IMAGE_FILE = /\.(jpe?g|png|webp|tiff?)$/i;

export interface ImageFolder {
  root: string;
  split: ImageFolderSplit;
  /** class folder names, sorted; label i = classes[i] */
  classes: string[];
  /** image paths, class by class, each class sorted */
  files: string[];
  labels: Int32Array;
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Lists `<root>/<split>/<class>/*`; `classes` (the train split's) fixes the labels of val. */
export function scanImageFolder(root: string, split: ImageFolderSplit, classes?: readonly string[]): ImageFolder {
  const layout = `it should hold train/<class>/*.JPEG and val/<class>/*`;
  if (!root) throw new DataError(`no ImageNet folder named: ${layout}`);
  if (!isDir(root)) throw new DataError(`ImageNet folder ${root} does not exist or is not a folder; ${layout}`);
  const dir = path.join(root, split);
  if (!isDir(dir)) throw new DataError(`ImageNet folder ${root} has no ${split}/ folder; ${layout}`);
  const found: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) found.push(e.name);
    else if (e.isSymbolicLink()) {
      // A class folder that is a link to nothing is a missing class, not one to skip: the labels would shift.
      if (isDir(path.join(dir, e.name))) found.push(e.name);
      else throw new DataError(`${path.join(dir, e.name)}: a class folder that is a symbolic link to a missing folder (${fs.readlinkSync(path.join(dir, e.name))}); restore it or remove the link`);
    }
  }
  found.sort();
  if (found.length === 0) throw new DataError(`${dir} holds no class folders (${split}/<class>/<image>)`);
  const names = classes ? [...classes] : found;
  if (classes) {
    const unknown = found.filter((c) => !classes.includes(c));
    if (unknown.length) throw new DataError(`${dir}: class folder(s) ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''} are not among the ${classes.length} train classes`);
  }
  const files: string[] = [];
  const labels: number[] = [];
  for (const c of found) {
    const cdir = path.join(dir, c);
    const imgs = fs.readdirSync(cdir).filter((f) => IMAGE_FILE.test(f)).sort();
    if (imgs.length === 0) throw new DataError(`${cdir} holds no images (*.JPEG, *.jpg, *.png, *.webp, *.tif)`);
    for (const f of imgs) {
      files.push(path.join(cdir, f));
      labels.push(names.indexOf(c));
    }
  }
  return { root, split, classes: names, files, labels: Int32Array.from(labels) };
}

/**
 * What an ImageNet-style folder holds, for run ids: a hash of the train classes and every image's path
 * relative to the root, train and val (names, not bytes: a listing, not a checksum). A class or an image
 * added, removed or renamed gives another key, so a run made on other contents is not reused (issue 31, 5).
 */
export function imageFolderKey(root: string): string {
  const train = scanImageFolder(root, 'train');
  const val = scanImageFolder(root, 'val', train.classes);
  const rel = (f: string) => path.relative(root, f);
  return hashString(JSON.stringify([train.classes, train.files.map(rel), val.files.map(rel)])).toString(16);
}

/** The seed of one image's random draws: run seed, step, position in the batch. */
export function imageSeed(seed: number, step: number, position: number): number {
  return hashString(`${seed}:${step}:${position}`) % 2 ** 31;
}

interface Pending {
  resolve: (p: Float32Array) => void;
  reject: (e: Error) => void;
}

/** Decodes batches of an ImageFolder in a pool of worker threads (`workers` 0: in this thread). */
export class ImageLoader {
  private readonly pool: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private turn = 0;

  constructor(
    readonly folder: ImageFolder,
    readonly transform: ImageTransform,
    readonly seed: number,
    workers = Math.max(1, Math.min(8, os.cpus().length - 1)),
  ) {
    checkPositiveInt('transform.size', transform.size);
    if (!Number.isInteger(workers) || workers < 0) throw new ConfigError(`workers must be an integer >= 0; got ${workers}`);
    const script = path.join(__dirname, 'imagefolder-worker.js');
    for (let i = 0; i < workers; i++) {
      const w = new Worker(script);
      w.unref();
      w.on('message', (m: { id: number; pixels?: Float32Array; error?: string; name?: string }) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.pixels) p.resolve(m.pixels);
        else p.reject(m.name === 'DataError' ? new DataError(m.error!) : new Error(m.error));
      });
      w.on('error', (e) => {
        for (const p of this.pending.values()) p.reject(new DataError(`an image decoding worker failed (${e.message})`));
        this.pending.clear();
      });
      this.pool.push(w);
    }
  }

  get size(): number {
    return this.transform.size;
  }

  private decode(file: string, seed: number): Promise<Float32Array> {
    if (this.pool.length === 0) return decodeImage(file, this.transform, seed);
    const id = this.nextId++;
    const w = this.pool[this.turn++ % this.pool.length];
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ id, file, transform: this.transform, seed });
    });
  }

  /** Images `indices` of the folder, decoded for `step`: [B, size, size, 3] and their labels [B]. */
  async batch(indices: ArrayLike<number>, step: number): Promise<{ images: Float32Array; labels: Int32Array }> {
    const n = this.size * this.size * 3;
    const B = indices.length;
    for (let i = 0; i < B; i++) {
      if (!(indices[i] >= 0 && indices[i] < this.folder.files.length)) throw new ConfigError(`image index ${indices[i]} is outside the ${this.folder.files.length} images of ${this.folder.root}/${this.folder.split}`);
    }
    const parts = await Promise.all(Array.from({ length: B }, (_, i) => this.decode(this.folder.files[indices[i]], imageSeed(this.seed, step, i))));
    const images = new Float32Array(B * n);
    parts.forEach((p, i) => images.set(p, i * n));
    return { images, labels: Int32Array.from(indices, (i) => this.folder.labels[i]) };
  }

  async close(): Promise<void> {
    await Promise.all(this.pool.map((w) => w.terminate()));
    this.pool.length = 0;
  }
}
