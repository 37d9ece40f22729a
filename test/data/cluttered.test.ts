import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { clutteredImages, clutteredSet, validateClutter } from '../../lib/data/cluttered';
import { cropBox, randomResizedCropFlip, validateCropFlip, CROP_FLIP_DEFAULTS } from '../../lib/data/augment';
import { Rng, type ImageSet } from '../../lib/data';
import { ConfigError } from '../../lib/errors';

/** Six 28×28 items: item k is a filled square of value (k + 1)/10 at a k-dependent place. */
function items(): ImageSet {
  const n = 6;
  const images = new Float32Array(n * 784);
  for (let k = 0; k < n; k++) for (let y = 4; y < 24; y++) for (let x = 2 + k; x < 20 + k; x++) images[k * 784 + y * 28 + x] = (k + 1) / 10;
  return { name: 'toy/train', images, labels: Int32Array.from({ length: n }, (_, i) => i % 3), n, height: 28, width: 28, classes: ['a', 'b', 'c'], source: 'test' };
}

describe('cluttered, translated images', () => {
  test('translation only: the item appears once, unchanged, at one position inside the canvas', () => {
    const src = items();
    const c = { canvas: 40, clutter: 0, fragment: 8, seed: 3 };
    const out = clutteredImages(src, 'train', [2], c);
    let found = 0;
    for (let oy = 0; oy <= 12; oy++) {
      for (let ox = 0; ox <= 12; ox++) {
        let same = true;
        for (let y = 0; y < 28 && same; y++) for (let x = 0; x < 28 && same; x++) same = out[(oy + y) * 40 + ox + x] === src.images[2 * 784 + y * 28 + x];
        if (same) found++;
      }
    }
    assert.ok(found >= 1, 'the item is pasted unchanged');
    const total = out.reduce((s, v) => s + v, 0);
    const item = src.images.subarray(2 * 784, 3 * 784).reduce((s, v) => s + v, 0);
    assert.ok(Math.abs(total - item) < 1e-3, 'nothing else on the canvas');
  });

  test('deterministic from seed, split and index; clutter comes from other items; pixels in [0, 1]', () => {
    const src = items();
    const c = { canvas: 48, clutter: 4, fragment: 8, seed: 0 };
    const a = clutteredImages(src, 'train', [0, 1, 5], c);
    assert.deepEqual(a, clutteredImages(src, 'train', [0, 1, 5], c));
    assert.deepEqual(a.subarray(0, 2304), clutteredImages(src, 'train', [0], c), 'an image does not depend on its batch');
    assert.notDeepEqual(a.subarray(0, 2304), clutteredImages(src, 'test', [0], c).subarray(0, 2304), 'splits draw differently');
    assert.notDeepEqual(a.subarray(0, 2304), clutteredImages(src, 'train', [0], { ...c, seed: 1 }), 'the seed changes the draw');
    assert.ok(a.every((v) => v >= 0 && v <= 1));
    // Image of item 0 (value 0.1) holds pixels of other items (values 0.2 … 0.6): the fragments.
    const values = new Set(Array.from(a.subarray(0, 2304), (v) => Math.round(v * 10)));
    assert.ok([...values].some((v) => v >= 2), `fragments of other items: ${[...values]}`);
    const set = clutteredSet(src, 'train', 4, c);
    assert.equal(set.height, 48);
    assert.deepEqual(Array.from(set.labels), [0, 1, 2, 0]);
  });

  test('bad settings: ConfigError naming the value and the range', () => {
    const ok = { canvas: 48, clutter: 2, fragment: 8, seed: 0 };
    assert.throws(() => validateClutter({ ...ok, canvas: 20 }), (e: Error) => e instanceof ConfigError && /clutter.canvas must be an integer >= the item side 28 .*got 20/.test(e.message));
    assert.throws(() => validateClutter({ ...ok, clutter: -1 }), /clutter.clutter must be an integer >= 0 .*got -1/);
    assert.throws(() => validateClutter({ ...ok, fragment: 0 }), /clutter.fragment must be an integer in \[1, 28\]; got 0/);
    assert.throws(() => clutteredImages(items(), 'train', [9], ok), /index 9 is outside \[0, 6\)/);
  });
});

describe('RandomResizedCrop + flip', () => {
  test('full-scale square crops without flip are the identity; with flip, the mirror or the identity', () => {
    const rng = new Rng(1);
    const img = Float32Array.from({ length: 2 * 12 * 12 }, () => rng.uniform());
    const id = randomResizedCropFlip(img, 2, 12, 12, { scale: [1, 1], ratio: [1, 1], flip: false }, new Rng(2));
    id.forEach((v, i) => assert.ok(Math.abs(v - img[i]) < 1e-6));
    const fl = randomResizedCropFlip(img, 2, 12, 12, { scale: [1, 1], ratio: [1, 1], flip: true }, new Rng(2));
    for (let i = 0; i < 2; i++) {
      const mirrored = Array.from({ length: 144 }, (_, k) => img[i * 144 + Math.floor(k / 12) * 12 + 11 - (k % 12)]);
      const same = Array.from(fl.subarray(i * 144, (i + 1) * 144));
      assert.ok(same.every((v, k) => Math.abs(v - img[i * 144 + k]) < 1e-6) || same.every((v, k) => Math.abs(v - mirrored[k]) < 1e-6));
    }
  });

  test('crop boxes stay inside the image with area in the scale range; deterministic; bad ranges rejected', () => {
    const rng = new Rng(5);
    for (let t = 0; t < 200; t++) {
      const b = cropBox(48, 48, CROP_FLIP_DEFAULTS, rng);
      assert.ok(b.top >= 0 && b.left >= 0 && b.top + b.h <= 48 && b.left + b.w <= 48, JSON.stringify(b));
      assert.ok(b.h * b.w >= 0.15 * 2304 && b.h * b.w <= 2304, JSON.stringify(b));
    }
    const img = new Float32Array(3 * 48 * 48).map((_, i) => (i % 97) / 97);
    assert.deepEqual(randomResizedCropFlip(img, 3, 48, 48, CROP_FLIP_DEFAULTS, new Rng(9)), randomResizedCropFlip(img, 3, 48, 48, CROP_FLIP_DEFAULTS, new Rng(9)));
    assert.throws(() => validateCropFlip({ ...CROP_FLIP_DEFAULTS, scale: [0, 1] }), /augment.scale\[0\] must be \(0, 1\]; got 0/);
    assert.throws(() => randomResizedCropFlip(img, 2, 48, 48, CROP_FLIP_DEFAULTS, new Rng(1)), /2 images of 48×48 need 4608 values/);
  });
});
