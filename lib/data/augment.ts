/**
 * MAE's pre-training augmentation (He et al., arXiv 2111.06377, official `main_pretrain.py`):
 * RandomResizedCrop(scale 0.2–1, ratio 3/4–4/3) + RandomHorizontalFlip, in torchvision's
 * `RandomResizedCrop.get_params` form:
 *
 *   up to 10 tries: area a = H·W·U(scale), aspect r = exp(U(log ratio)), w = round(√(a r)), h = round(√(a / r));
 *                   accept when 0 < w ≤ W and 0 < h ≤ H, top-left uniform over the valid positions
 *   fallback:       the whole image cropped to the nearest allowed aspect, centred
 *   resize:         the crop back to H×W, bilinear (the official transform is bicubic; on 1-channel images of
 *                   a few dozen pixels the difference is a slight blur), align_corners = false
 *   flip:           with probability 1/2, left–right
 *
 * Draws come from an Rng the caller derives from the run's seed and the step (exact resume).
 * Shape letters: N images, H×W image side.
 */
import { ConfigError, checkNumber } from '../errors';
import type { Rng } from './rng';

export interface CropFlipConfig {
  /** Range of the crop's area as a fraction of the image, within (0, 1]. */
  scale: [number, number];
  /** Range of the crop's aspect ratio w/h. */
  ratio: [number, number];
  /** Flip left–right with probability 1/2. */
  flip: boolean;
}

export const CROP_FLIP_DEFAULTS: CropFlipConfig = { scale: [0.2, 1], ratio: [3 / 4, 4 / 3], flip: true };

export function validateCropFlip(c: CropFlipConfig, where = 'augment'): void {
  if (!Array.isArray(c.scale) || c.scale.length !== 2) throw new ConfigError(`${where}.scale must be [lo, hi]; got ${JSON.stringify(c.scale)}`);
  checkNumber(`${where}.scale[0]`, c.scale[0], { lo: 0, hi: 1, loOpen: true });
  checkNumber(`${where}.scale[1]`, c.scale[1], { lo: c.scale[0], hi: 1 });
  if (!Array.isArray(c.ratio) || c.ratio.length !== 2) throw new ConfigError(`${where}.ratio must be [lo, hi]; got ${JSON.stringify(c.ratio)}`);
  checkNumber(`${where}.ratio[0]`, c.ratio[0], { lo: 0, loOpen: true });
  checkNumber(`${where}.ratio[1]`, c.ratio[1], { lo: c.ratio[0] });
  if (typeof c.flip !== 'boolean') throw new ConfigError(`${where}.flip must be true or false; got ${JSON.stringify(c.flip)}`);
}

/** torchvision's crop box for an H×W image: top, left, height, width. */
export function cropBox(H: number, W: number, c: CropFlipConfig, rng: Rng): { top: number; left: number; h: number; w: number } {
  const area = H * W;
  const [l0, l1] = [Math.log(c.ratio[0]), Math.log(c.ratio[1])];
  for (let t = 0; t < 10; t++) {
    const a = area * (c.scale[0] + (c.scale[1] - c.scale[0]) * rng.uniform());
    const r = Math.exp(l0 + (l1 - l0) * rng.uniform());
    const w = Math.round(Math.sqrt(a * r));
    const h = Math.round(Math.sqrt(a / r));
    if (w > 0 && w <= W && h > 0 && h <= H) return { top: rng.int(H - h + 1), left: rng.int(W - w + 1), h, w };
  }
  const inRatio = W / H;
  let w = W;
  let h = H;
  if (inRatio < c.ratio[0]) h = Math.round(w / c.ratio[0]);
  else if (inRatio > c.ratio[1]) w = Math.round(h * c.ratio[1]);
  return { top: Math.floor((H - h) / 2), left: Math.floor((W - w) / 2), h, w };
}

/** A random resized crop + flip of each image. // [N, H, W] -> [N, H, W] */
export function randomResizedCropFlip(images: Float32Array, n: number, H: number, W: number, c: CropFlipConfig, rng: Rng): Float32Array {
  if (images.length !== n * H * W) throw new ConfigError(`${n} images of ${H}×${W} need ${n * H * W} values; got ${images.length}`);
  const out = new Float32Array(images.length);
  for (let i = 0; i < n; i++) {
    const { top, left, h, w } = cropBox(H, W, c, rng);
    const flip = c.flip && rng.uniform() < 0.5;
    const src = i * H * W;
    for (let y = 0; y < H; y++) {
      // Pixel centres mapped into the crop (align_corners = false), clamped at its border.
      const sy = Math.min(Math.max(top + ((y + 0.5) * h) / H - 0.5, top), top + h - 1);
      const y0 = Math.floor(sy);
      const y1 = Math.min(y0 + 1, top + h - 1);
      const fy = sy - y0;
      for (let x = 0; x < W; x++) {
        const sx = Math.min(Math.max(left + ((x + 0.5) * w) / W - 0.5, left), left + w - 1);
        const x0 = Math.floor(sx);
        const x1 = Math.min(x0 + 1, left + w - 1);
        const fx = sx - x0;
        const v =
          (1 - fy) * ((1 - fx) * images[src + y0 * W + x0] + fx * images[src + y0 * W + x1]) +
          fy * ((1 - fx) * images[src + y1 * W + x0] + fx * images[src + y1 * W + x1]);
        out[src + y * W + (flip ? W - 1 - x : x)] = v;
      }
    }
  }
  return out;
}
