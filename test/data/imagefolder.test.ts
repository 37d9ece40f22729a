/**
 * The ImageNet-style folder reader (lib/data/imagefolder.ts) on fixtures this test writes with sharp:
 * the scan and its errors, the train transform (RandomResizedCrop + flip, deterministic per seed and
 * step), the eval transform (resize 256 + centre crop 224) on an image whose halves differ, ImageNet
 * normalisation, greyscale input, the worker pool equal to in-thread decoding, a corrupt file.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DataError } from '../../lib/errors';
import { IMAGENET_MEAN, IMAGENET_STD, ImageLoader, imageFolderKey, scanImageFolder, type ImageTransform } from '../../lib/data/imagefolder';
import { experiment as maeSweep } from '../../lib/studies/mae-sweep';
import { resolveConfig } from '../../lib/runner/run';
import { runIdOf } from '../../lib/runner/execute';
import { CROP_FLIP_DEFAULTS } from '../../lib/data/augment';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const sharp = require('sharp');

let root = '';
const CLASSES = ['n01440764', 'n01443537', 'n01484850'];

/** A w×h RGB JPEG: left half `a`, right half `b`. */
async function halves(file: string, w: number, h: number, a: number[], b: number[]): Promise<void> {
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) (x < w / 2 ? a : b).forEach((v, c) => (px[(y * w + x) * 3 + c] = v));
  await sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 95 }).toFile(file);
}

before(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-imagenet-'));
  for (const split of ['train', 'val']) {
    for (const [k, c] of CLASSES.entries()) {
      const dir = path.join(root, split, c);
      fs.mkdirSync(dir, { recursive: true });
      for (let i = 0; i < (split === 'train' ? 3 : 1); i++) {
        await halves(path.join(dir, `${c}_${i}.JPEG`), 300 + 20 * i, 200 + 10 * k, [200, 30 * k, 10], [10, 60, 220]);
      }
    }
  }
  // a greyscale image in the first class
  await sharp(Buffer.alloc(64 * 48, 128), { raw: { width: 64, height: 48, channels: 1 } }).jpeg().toFile(path.join(root, 'train', CLASSES[0], 'grey.JPEG'));
});

after(() => fs.rmSync(root, { recursive: true, force: true }));

const train: ImageTransform = { kind: 'train', size: 32, crop: CROP_FLIP_DEFAULTS };
const evalT: ImageTransform = { kind: 'eval', size: 224, resize: 256 };

describe('scanning', () => {
  test('classes sorted, labels by class, val labelled by the train classes', () => {
    const tr = scanImageFolder(root, 'train');
    assert.deepEqual(tr.classes, CLASSES);
    assert.equal(tr.files.length, 10);
    assert.deepEqual(Array.from(tr.labels), [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]);
    assert.ok(tr.files[0].endsWith(path.join(CLASSES[0], 'grey.JPEG')), 'files sorted within a class');
    const va = scanImageFolder(root, 'val', tr.classes);
    assert.deepEqual(Array.from(va.labels), [0, 1, 2]);
  });

  test('what is missing is named', () => {
    assert.throws(() => scanImageFolder(path.join(root, 'nope'), 'train'), (e: unknown) => e instanceof DataError && /ImageNet folder .*nope does not exist .*train\/<class>\/\*\.JPEG and val\/<class>/.test((e as Error).message));
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-imagenet-empty-'));
    assert.throws(() => scanImageFolder(empty, 'train'), /has no train\/ folder/);
    fs.mkdirSync(path.join(empty, 'train'));
    assert.throws(() => scanImageFolder(empty, 'train'), /train holds no class folders/);
    fs.mkdirSync(path.join(empty, 'train', 'n0'));
    fs.writeFileSync(path.join(empty, 'train', 'n0', 'notes.txt'), 'x');
    assert.throws(() => scanImageFolder(empty, 'train'), /train\/n0 holds no images \(\*\.JPEG/);
    fs.mkdirSync(path.join(empty, 'val', 'n9'), { recursive: true });
    assert.throws(() => scanImageFolder(empty, 'val', ['n0']), /class folder\(s\) n9 are not among the 1 train classes/);
    fs.rmSync(empty, { recursive: true, force: true });
  });

  test('issue 31, 5: a class folder linking to nothing is a DataError (was: skipped); the listing joins the run ids', () => {
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-imagenet-link-'));
    fs.cpSync(root, copy, { recursive: true });
    const moved = path.join(os.tmpdir(), `repro-imagenet-moved-${process.pid}`);
    fs.renameSync(path.join(copy, 'train', CLASSES[2]), moved);
    fs.symlinkSync(moved + '-gone', path.join(copy, 'train', CLASSES[2]));
    assert.throws(() => scanImageFolder(copy, 'train'), (e: unknown) => e instanceof DataError && new RegExp(`train/${CLASSES[2]}: a class folder that is a symbolic link to a missing folder`).test((e as Error).message));
    // a link that resolves is a class like any other
    fs.rmSync(path.join(copy, 'train', CLASSES[2]));
    fs.symlinkSync(moved, path.join(copy, 'train', CLASSES[2]));
    assert.deepEqual(scanImageFolder(copy, 'train').classes, CLASSES);
    // the folder's listing is part of every mae-sweep run's id: another image, another run
    const ids = () => maeSweep.runs(resolveConfig(maeSweep, 'paper', { data: { dir: copy } } as never)).map((s) => runIdOf('mae-sweep', s));
    const before = ids();
    const key = imageFolderKey(copy);
    fs.copyFileSync(path.join(copy, 'train', CLASSES[0], 'grey.JPEG'), path.join(copy, 'train', CLASSES[0], 'grey2.JPEG'));
    assert.notEqual(imageFolderKey(copy), key);
    assert.ok(ids().every((id, i) => id !== before[i]));
    fs.rmSync(copy, { recursive: true, force: true });
    fs.rmSync(moved, { recursive: true, force: true });
  });
});

describe('decoding', () => {
  test('eval: shorter side to 256, centre 224 crop; ImageNet mean/std; the halves stay left and right', async () => {
    const folder = scanImageFolder(root, 'val', CLASSES);
    const loader = new ImageLoader(folder, evalT, 0, 0);
    const { images, labels } = await loader.batch([0], 0);
    assert.equal(images.length, 224 * 224 * 3);
    assert.deepEqual(Array.from(labels), [0]);
    const px = (y: number, x: number) => [0, 1, 2].map((c) => images[(y * 224 + x) * 3 + c] * IMAGENET_STD[c] + IMAGENET_MEAN[c]);
    const left = px(112, 5);
    const right = px(112, 218);
    assert.ok(Math.abs(left[0] - 200 / 255) < 0.03 && Math.abs(left[2] - 10 / 255) < 0.05, `left ${left}`);
    assert.ok(Math.abs(right[0] - 10 / 255) < 0.05 && Math.abs(right[2] - 220 / 255) < 0.03, `right ${right}`);
  });

  test('train: deterministic per seed and step, other crops at other steps, flips happen; greyscale gives 3 equal channels', async () => {
    const folder = scanImageFolder(root, 'train');
    const loader = new ImageLoader(folder, train, 7, 0);
    const idx = [1, 2, 5, 8];
    const a = await loader.batch(idx, 3);
    const b = await loader.batch(idx, 3);
    assert.deepEqual(a.images, b.images);
    const c = await loader.batch(idx, 4);
    assert.notDeepEqual(a.images, c.images);
    // A flip puts the blue half on the left: over 24 draws both orientations occur.
    let flipped = 0;
    for (let s = 0; s < 6; s++) {
      const { images } = await loader.batch(idx, 100 + s);
      for (let i = 0; i < idx.length; i++) {
        const o = i * 32 * 32 * 3;
        const red = (x: number) => images[o + (16 * 32 + x) * 3] * IMAGENET_STD[0] + IMAGENET_MEAN[0];
        if (red(0) < red(31)) flipped++;
      }
    }
    assert.ok(flipped > 0 && flipped < 24, `flipped ${flipped} of 24`);
    const grey = await loader.batch([folder.files.findIndex((f) => f.endsWith('grey.JPEG'))], 0);
    for (let i = 0; i < 32 * 32; i++) {
      const v = [0, 1, 2].map((ch) => grey.images[i * 3 + ch] * IMAGENET_STD[ch] + IMAGENET_MEAN[ch]);
      assert.ok(Math.abs(v[0] - v[1]) < 1e-6 && Math.abs(v[1] - v[2]) < 1e-6 && Math.abs(v[0] - 128 / 255) < 0.02, `${v}`);
    }
  });

  test('the worker pool decodes exactly what this thread decodes', async () => {
    const folder = scanImageFolder(root, 'train');
    const inline = new ImageLoader(folder, train, 11, 0);
    const pool = new ImageLoader(folder, train, 11, 2);
    const idx = [0, 3, 4, 6, 9, 2];
    assert.deepEqual((await pool.batch(idx, 5)).images, (await inline.batch(idx, 5)).images);
    await pool.close();
  });

  test('an image that does not decode: a DataError naming the file (in a worker too)', async () => {
    const bad = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-imagenet-bad-'));
    fs.mkdirSync(path.join(bad, 'train', 'n0'), { recursive: true });
    const file = path.join(bad, 'train', 'n0', 'broken.JPEG');
    fs.writeFileSync(file, Buffer.from('\xff\xd8\xff\xe0 this is not a JPEG', 'latin1'));
    const folder = scanImageFolder(bad, 'train');
    for (const workers of [0, 1]) {
      const loader = new ImageLoader(folder, train, 0, workers);
      await assert.rejects(loader.batch([0], 0), (e: unknown) => e instanceof DataError && (e as Error).message.startsWith(`image ${file} does not decode (`));
      await loader.close();
    }
    await assert.rejects(new ImageLoader(folder, train, 0, 0).batch([5], 0), /image index 5 is outside the 1 images/);
    fs.rmSync(bad, { recursive: true, force: true });
  });
});
