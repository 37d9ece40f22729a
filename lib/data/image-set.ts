/** The in-memory shape every image dataset of the project comes in. */
import { ConfigError } from '../errors';

export interface ImageSet {
  /** e.g. `fashion-mnist/train`, `mnist/test`. */
  name: string;
  /** Pixels in [0, 1], row-major. // [N, H, W] (one channel) */
  images: Float32Array;
  /** Class index of each image, in [0, classes.length). // [N] */
  labels: Int32Array;
  n: number;
  height: number;
  width: number;
  /** Class names, index = label. */
  classes: string[];
  /** Where the data was read from (a folder, or a package's folder). */
  source: string;
}

/**
 * The first `limit` images of a set, sharing memory with it (subarray views): cheap, and treat both
 * as read-only. `limit` larger than the set is an error rather than a silent shrink.
 */
export function limitSet(set: ImageSet, limit: number | undefined): ImageSet {
  if (limit === undefined || limit === set.n) return set;
  if (!Number.isInteger(limit) || limit < 1 || limit > set.n) {
    throw new ConfigError(`limit must be an integer in [1, ${set.n}] for ${set.name}; got ${limit}`);
  }
  const hw = set.height * set.width;
  return { ...set, images: set.images.subarray(0, limit * hw), labels: set.labels.subarray(0, limit), n: limit };
}
