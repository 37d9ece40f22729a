/**
 * lib/stats: the one home of the statistics behind every verdict — descriptive statistics, the Student-t
 * and noncentral-t distributions (implemented here, no dependency), paired and Welch intervals, the
 * minimal detectable difference, the better/worse/no-detectable-difference comparison and Spearman's ρ.
 * Each function documents its formula in its file; every bad input is a ConfigError; no function returns
 * NaN (undefined quantities are `null`, documented where they occur). It imports only lib/errors.ts.
 *
 *   describe.ts       meanStd, median
 *   special.ts        ln Γ, incomplete beta and gamma, Φ and Φ⁻¹ (unchecked building blocks)
 *   distributions.ts  normalCdf/Quantile, studentTCdf/Pdf/Quantile, noncentralTCdf
 *   differences.ts    pairedDifference, welchDifference
 *   power.ts          minDetectableDifference, pairedTPower
 *   compare.ts        compare
 *   rank.ts           averageRanks, spearman
 */
export { meanStd, median, type MeanStd } from './describe';
export { normalCdf, normalQuantile, studentTCdf, studentTPdf, studentTQuantile, noncentralTCdf } from './distributions';
export { betaIncReg, logGamma } from './special';
export { pairedDifference, welchDifference, type PairedDifference, type WelchDifference } from './differences';
export { minDetectableDifference, pairedTPower, type PowerOptions } from './power';
export { compare, type CompareOptions, type Comparison, type Verdict } from './compare';
export { averageRanks, spearman } from './rank';
