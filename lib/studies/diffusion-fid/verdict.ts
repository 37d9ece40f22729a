/**
 * The diffusion-fid verdict: paper A's (decayed shortcuts + long skips lower FID and improve the features)
 * and paper B's (ANCRe lowers FID) claims against this run's records, as Markdown with the numbers.
 * Rows are found by what they are (wiring, α_min, long skips), not by their position or label.
 */
import type { RunRecord } from '../../report';
import { featureNetworks } from '../../report/table';
import type { DiffusionFidConfig, DiffusionRow } from './spec';
import { meanStd } from '../../stats';
import { compareRows } from '../shared/paired';

/** lib/stats' mean (NaN for no values, for the caller to skip). */
const mean = (xs: number[]) => (xs.length ? meanStd(xs).mean : NaN);
/** lib/stats' sample std (NaN below two values, so pooling skips it). */
const sd = (xs: number[]) => (xs.length > 1 ? meanStd(xs).std! : NaN);
const fmt = (xs: number[], d: number) => `${mean(xs).toFixed(d)}${xs.length > 1 ? ` ± ${sd(xs).toFixed(d)}` : ''}`;

/** The row of `rows` that matches, or undefined. */
function findRow(rows: DiffusionRow[], kind: string, longSkips: boolean, alphaMin?: number): DiffusionRow | undefined {
  return rows.find((r) => r.wiring.kind === kind && r.longSkips === longSkips && (alphaMin === undefined || (r.wiring as { alphaMin?: number }).alphaMin === alphaMin));
}

/**
 * One comparison, paired by seed (every row of one seed shares data order and noise draws): the 95 % interval
 * of variant − base (lib/stats `compare`) decides `held` (the whole interval on the paper's side), `reversed`
 * (the whole interval on the other side), `no detectable difference` (it contains 0; with the smallest difference
 * these seeds detect) or, with one seed, `not judged`.
 */
export function judge(records: RunRecord[], base: string, variant: string, metric: string, better: 'lower' | 'higher'): string {
  const vals = (row: string) => records.filter((r) => r.row === row).map((r) => r.metrics[metric]).filter((v): v is number => typeof v === 'number');
  const [b, v] = [vals(base), vals(variant)];
  if (!b.length || !v.length) return `${variant} vs ${base}, ${metric}: no runs`;
  const rel = (100 * (mean(v) - mean(b))) / Math.abs(mean(b));
  const d = metric === 'fid' ? 2 : 3;
  const c = compareRows(records, variant, base, metric, { lowerIsBetter: better === 'lower' });
  const f = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(d)}`;
  const interval = c.diff ? `; paired Δ ${f(c.diff.mean)} [${f(c.diff.lo)}, ${f(c.diff.hi)}]` : '';
  const meanBetter = better === 'lower' ? mean(v) < mean(b) : mean(v) > mean(b);
  const verdict =
    c.word === 'better' ? 'held'
      : c.word === 'worse' ? 'reversed'
        : c.word === 'no detectable difference' ? `no detectable difference${c.mdd === null ? '' : ` (${c.n} seeds detect ${c.mdd.toFixed(d)})`}`
          : `${c.n === 1 ? 'one seed' : 'too few paired seeds'}: ${meanBetter ? 'better' : 'not better'}, not judged`;
  return `${variant} vs ${base}, ${metric}: ${fmt(v, d)} vs ${fmt(b, d)} (${rel >= 0 ? '+' : ''}${rel.toFixed(1)}%${interval}) → **${verdict}**`;
}

export function diffusionVerdict(all: RunRecord[], config: DiffusionFidConfig): string {
  // FIDs of different feature networks are not comparable: judge within the network most records used.
  const nets = featureNetworks(all);
  let records = all;
  let networkNote = '';
  if (nets.length > 1) {
    const count = (n: string) => all.filter((r) => String(r.metrics.classifier) === n).length;
    const keep = nets.slice().sort((a, b) => count(b) - count(a))[0];
    records = all.filter((r) => String(r.metrics.classifier) === keep);
    networkNote = `**These records hold FIDs from ${nets.length} feature networks (classifier ${nets.join(', ')})**; FIDs of different networks are not comparable, so only the ${records.length} records of classifier ${keep} are judged below.\n\n`;
  }
  return networkNote + verdictOf(records, config);
}

function verdictOf(records: RunRecord[], config: DiffusionFidConfig): string {
  const std = findRow(config.rows, 'residual', false)?.name;
  const skips = findRow(config.rows, 'residual', true)?.name;
  const dec8 = findRow(config.rows, 'decayed', true, 0.8)?.name;
  const dec6 = findRow(config.rows, 'decayed', true, 0.6)?.name;
  const ancre = config.rows.find((r) => r.wiring.kind === 'ancre' && !r.longSkips && (r.wiring.tau ?? 0.01) === 0.01)?.name ?? findRow(config.rows, 'ancre', false)?.name;
  const ancre01 = config.rows.find((r) => r.wiring.kind === 'ancre' && !r.longSkips && r.wiring.tau === 0.1)?.name;
  if (!std) return 'The table has no standard row (residual wiring without long skips): nothing to compare against.';
  const vals = (row: string, k: string) => records.filter((r) => r.row === row).map((r) => r.metrics[k] as number);
  const finished = (row: string) => records.some((r) => r.row === row);
  const pair = (variant: string | undefined, base: string | undefined, k: string, better: 'lower' | 'higher') =>
    !variant || !base ? `(row missing for ${k})` : !finished(variant) ? `${variant}: no finished runs yet (${k})` : judge(records, base, variant, k, better);
  const stdFid = vals(std, 'fid');
  const floor = mean(records.map((r) => r.metrics.fidFloor as number));
  const rowNames = config.rows.map((r) => r.name);
  const pooled = Math.sqrt(mean(rowNames.map((r) => sd(vals(r, 'fid'))).filter(Number.isFinite).map((s) => s ** 2)));
  const spreadPct = (100 * pooled) / mean(stdFid);
  // Is the standard model still improving at the end? Its FID curve's last interval (curveSamples per point).
  const curves = records.filter((r) => r.row === std && r.history?.fid?.length).map((r) => r.history!);
  let trend = '';
  if (curves.length && curves[0].fid.length >= 2) {
    const n = curves[0].fid.length;
    const at = (i: number) => mean(curves.map((h) => h.fid[i]));
    const drop = 1 - at(n - 1) / at(n - 2);
    trend = ` The standard row's FID curve (${config.curveSamples} samples per point) went from ${at(0).toFixed(1)} at step ${curves[0].fidStep[0]} to ${at(n - 1).toFixed(1)} at step ${curves[0].fidStep[n - 1]}, ` +
      `${drop > 0.02 ? `still falling (−${(100 * drop).toFixed(1)}% over the last ${curves[0].fidStep[n - 1] - curves[0].fidStep[n - 2]} steps)` : `nearly flat over the last ${curves[0].fidStep[n - 1] - curves[0].fidStep[n - 2]} steps (${(-100 * drop).toFixed(1)}%)`}.`;
  }
  const seen = config.train.steps * config.batch;
  return [
    `Floor (real test vs real train, ${config.fidSamples} images): FID ${floor.toFixed(2)}. Standard DiT: ${fmt(stdFid, 2)}.`,
    '',
    `- Paper A (FID 17.2 → 16.5 → 11.8, −31%): ${pair(skips, std, 'fid', 'lower')}; ${pair(dec8, std, 'fid', 'lower')}; ${pair(dec8, skips, 'fid', 'lower')}; ${pair(dec6, std, 'fid', 'lower')}.`,
    `- Paper A, representations: ${pair(dec8, std, 'knn', 'higher')}; ${pair(dec8, std, 'lp', 'higher')}; ${pair(dec6, std, 'knn', 'higher')}; ${pair(dec6, std, 'lp', 'higher')}.`,
    `- Paper B (DiT-S/2 −4.9%, DiT-B/2 −6.0%): ${pair(ancre, std, 'fid', 'lower')}; ${pair(ancre, std, 'knn', 'higher')}.`,
    ...(ancre01 ? [`- Paper B at τ = 0.1 (the latest official DiT scripts): ${pair(ancre01, std, 'fid', 'lower')}; ${pair(ancre01, std, 'knn', 'higher')}.`] : []),
    '',
    `Budget: ${config.train.steps} steps × batch ${config.batch} = ${seen.toLocaleString('en-US')} training images seen (${(seen / config.trainExamples).toFixed(2)} epochs of ${config.trainExamples.toLocaleString('en-US')} images), ` +
      `a ${(vals(std, 'params')[0] / 1e3).toFixed(0)}k-parameter model, ${config.fidSamples} samples per FID; the papers train 400k steps × batch 256 (≈ 102M images) with 33M–675M parameters and 50k samples. ` +
      (Number.isFinite(pooled)
        ? `Seed-to-seed spread of FID pooled over rows: ${pooled.toFixed(2)} (${spreadPct.toFixed(1)}% of the standard row's FID); a paper-B-sized change (≈ 5%) is ${spreadPct > 2.5 ? 'within' : `about ${((0.05 * mean(stdFid)) / pooled).toFixed(1)}× of`} that spread. `
        : 'One seed per row: no seed-to-seed spread to compare against. ') +
      `Each comparison is the 95 % interval of the difference paired by seed: with no effect, "held" or "reversed" comes out by chance in 5 % of comparisons. ` +
      `The samples are far from the data (FID ${mean(stdFid).toFixed(0)} against a floor of ${floor.toFixed(2)}).${trend}`,
  ].join('\n');
}
