/**
 * Decoding one image of an ImageNet-style folder with sharp (libvips, prebuilt in its npm packages),
 * as the official MAE transforms do:
 *
 *   train  RandomResizedCrop(size, scale 0.2–1, ratio 3/4–4/3, bicubic) + RandomHorizontalFlip
 *          (torchvision's crop box: lib/data/augment.ts cropBox, drawn from an Rng of the given seed)
 *   eval   Resize(shorter side to `resize`, bicubic) + CenterCrop(size)   (MAE: 256 → 224)
 *
 * then /255 and ImageNet's per-channel mean/std. Output [size, size, 3] float32, row-major HWC.
 * Runs in the worker pool (imagefolder-worker.ts) or in-process; the same code either way.
 */
import { DataError } from '../errors';
import { CropFlipConfig, cropBox } from './augment';
import { Rng } from './rng';

export const IMAGENET_MEAN: readonly number[] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: readonly number[] = [0.229, 0.224, 0.225];

export type ImageTransform =
  | { kind: 'train'; size: number; crop: CropFlipConfig }
  | { kind: 'eval'; size: number; resize: number };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Sharp = any;

function sharpModule(): (input: string, opts?: object) => Sharp {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return require('sharp');
  } catch (e) {
    throw new DataError(`the npm package sharp (libvips) does not load here (${(e as Error).message.split('\n')[0]}); run: npm install sharp`);
  }
}

/** Decodes, crops/resizes and normalises one image file. DataError naming the file when it does not decode. */
export async function decodeImage(file: string, t: ImageTransform, seed: number): Promise<Float32Array> {
  const sharp = sharpModule();
  let raw: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    // EXIF orientation applied first (torchvision's PIL loader does not, but ImageNet JPEGs carry none)
    const meta = await sharp(file).metadata();
    const W = meta.width as number;
    const H = meta.height as number;
    if (!(W > 0 && H > 0)) throw new Error('no image size in the header');
    let img = sharp(file, { failOn: 'error' }).removeAlpha().toColourspace('srgb');
    if (t.kind === 'train') {
      const rng = new Rng(seed);
      const box = cropBox(H, W, t.crop, rng);
      const flip = t.crop.flip && rng.uniform() < 0.5;
      img = img.extract({ left: box.left, top: box.top, width: box.w, height: box.h }).resize(t.size, t.size, { fit: 'fill', kernel: 'cubic' });
      if (flip) img = img.flop();
    } else {
      const s = t.resize / Math.min(W, H);
      const w = Math.max(t.size, Math.round(W * s));
      const h = Math.max(t.size, Math.round(H * s));
      img = sharp(await img.resize(w, h, { fit: 'fill', kernel: 'cubic' }).raw().toBuffer(), { raw: { width: w, height: h, channels: 3 } })
        .extract({ left: Math.floor((w - t.size) / 2), top: Math.floor((h - t.size) / 2), width: t.size, height: t.size });
    }
    raw = await img.raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new DataError(`image ${file} does not decode (${(e as Error).message.split('\n')[0]})`);
  }
  const { data, info } = raw;
  if (info.width !== t.size || info.height !== t.size) throw new DataError(`image ${file}: decoded to ${info.width}×${info.height}, expected ${t.size}×${t.size}`);
  const C = info.channels;
  const n = t.size * t.size;
  const out = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const v = data[i * C + (C === 1 ? 0 : c)] / 255;
      out[i * 3 + c] = (v - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
    }
  }
  return out;
}
