/**
 * Data for the reproductions: Fashion-MNIST and MNIST images, the Brown corpus, seeded
 * resumable samplers, and the seeded RNG they share. See data/README.md for sources and splits.
 */
export { Rng, hashString } from './rng';
export { parseIdx, readIdx, encodeIdx, isGzip, IDX_MAX_DIMS, IDX_DEFAULT_MAX_BYTES } from './idx';
export type { IdxArray, IdxType, IdxData, IdxOptions } from './idx';
export type { ImageSet } from './image-set';
export { limitSet } from './image-set';
export {
  loadFashionMnist, fashionMnistSearchPaths, clearFashionMnistCache, FASHION_MNIST_CLASSES, FASHION_MNIST_SIZES,
} from './fashion-mnist';
export type { Split, FashionMnistOptions } from './fashion-mnist';
export { loadMnist, MNIST_CLASSES, MNIST_TRAIN_FRACTION } from './mnist';
export { loadBrown, parseBrownDocument, parseBrownCategories, splitByHash, joinDocs, BROWN_MAX_FILE_BYTES } from './brown';
export type { Doc, BrownCorpus } from './brown';
export { BatchSampler, SequenceSampler, sequenceBatches, gatherImages, gatherLabels, hashTokens } from './batches';
export type { BatchSamplerState, BatchSamplerOptions, SequenceBatch, SequenceSamplerState } from './batches';
export { imageBatch, labelBatch, sequenceBatchTensors } from './tensors';
export { clutteredImages, clutteredSet, renderCluttered, validateClutter, CLUTTER_DEFAULTS } from './cluttered';
export type { ClutterConfig } from './cluttered';
export { randomResizedCropFlip, cropBox, validateCropFlip, CROP_FLIP_DEFAULTS } from './augment';
export type { CropFlipConfig } from './augment';
export { scanImageFolder, ImageLoader, imageSeed, IMAGENET_MEAN, IMAGENET_STD, decodeImage } from './imagefolder';
export type { ImageFolder, ImageFolderSplit, ImageTransform } from './imagefolder';
export { c4Shards, readC4Shard, loadC4, PretrainedTokenizer, PRETRAINED_TOKENIZER_MAX_BYTES } from './c4';
