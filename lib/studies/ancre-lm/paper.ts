/** Paper B's reported numbers the study compares against (arXiv 2602.09009). */
/** Paper B, Table 1: C4 validation perplexity of LLaMA pre-training (the paper's numbers, not ours). */
export const PAPER_C4_PERPLEXITY = [
  { model: 'LLaMA-60M', fullRank: 30.39, ancre: 29.62, galore: 34.61, galoreAncre: 33.69 },
  { model: 'LLaMA-130M', fullRank: 25.07, ancre: 24.48, galore: 25.56, galoreAncre: 24.68 },
  { model: 'LLaMA-350M', fullRank: 19.0, ancre: 18.32, galore: 19.62, galoreAncre: 19.01 },
  { model: 'LLaMA-1B', fullRank: 16.64, ancre: 15.41, galore: 16.55, galoreAncre: 16.45 },
];
/** Paper B: ANCRe reaches the baseline's final perplexity with this fraction fewer iterations, on average. */
export const PAPER_FEWER_STEPS = 0.343;
