/**
 * Paper A's reported numbers the MAE studies compare against (arXiv 2404.10947).
 */

/** Paper A's ViT-B/16 results on ImageNet-1K and ImageNet-100 (from shared/PAPERS.md), for the table beside ours. */
export const PAPER_A_RESULTS = {
  imagenet1k: [
    { method: 'MAE (standard residuals)', ft: 83.6, lp: 67.8, knn: 27.4 },
    { method: 'MAE, α_min = 0.6', ft: 82.9, lp: 72.7, knn: 63.9 },
  ],
  imagenet100Lp: [
    { variant: 'standard x + f', lp: 76.5 },
    { variant: '√0.5 · (x + f)', lp: 82.6 },
    { variant: 'decayed, α_min = 0.6', lp: 83.6 },
    { variant: 'decayed, without encoder→decoder skips', lp: 61.5 },
    { variant: 'learnable α_l', lp: 79.5 },
  ],
};
