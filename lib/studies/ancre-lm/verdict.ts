/**
 * The ancre-lm verdict: paper B's language-model claims (lower perplexity, 34.3% fewer steps to the
 * baseline's final perplexity, < 1% overhead) against this run's records, as Markdown with the
 * numbers. Computed from the runs; the notebook only shows it.
 */
import type { AncreLmConfig } from './spec';
import { convergenceTable, meanPerplexity, overheadTable, type LmRecord } from './analysis';
import { PAPER_FEWER_STEPS } from './paper';
import type { DepthEfficiencyRow, DepthPaysCheck, OwnBestRow } from './sweep';
import { comparePerplexity, meanStd, pairedPhrase, perplexityBySeed } from './stats';

/** `backToBack`: the step-time overhead measured back to back, as a phrase (e.g. `3% at 2 layers, ...`). */
export function ancreLmVerdict(records: LmRecord[], config: AncreLmConfig, backToBack: string): string {
  const depths = [...new Set(records.map((r) => r.metrics.depth as number))].sort((a, b) => a - b);
  const conv = convergenceTable(records);
  const over = overheadTable(records);

  const mp = meanPerplexity(records);
  const wirings = [...new Set(records.map((r) => r.metrics.wiring as string))];
  const dMin = depths[0];
  const dMax = depths[depths.length - 1];
  const deeperBetter = mp.get(`${dMax}/residual`)! < mp.get(`${dMin}/residual`)!;
  const lines: string[] = [];
  let lower = 0, higher = 0, tie = 0;
  for (const d of depths) {
    const base = mp.get(`${d}/residual`)!;
    const anc = mp.get(`${d}/ancre-in`)!;
    const c = comparePerplexity(records, { depth: d, wiring: 'ancre-in' }, { depth: d, wiring: 'residual' });
    const rel = anc / base - 1;
    const verdict = c.word === 'better' ? 'lower' : c.word === 'worse' ? 'higher' : c.word === 'no detectable difference' ? 'no detectable difference' : `${anc < base ? 'lower' : 'higher'} on ${c.n === 1 ? 'one seed' : 'too few seeds'}: not a finding`;
    if (c.word === 'better') lower++; else if (c.word === 'worse') higher++; else tie++;
    lines.push(`- ${d} layers: ANCRe (incoming) ${anc.toFixed(1)} vs residual ${base.toFixed(1)} (${rel >= 0 ? '+' : ''}${(100 * rel).toFixed(1)}%; ${pairedPhrase(c)}): **${verdict}**.`);
  }
  const ancConv = conv.filter((r) => r.wiring === 'ancre-in');
  const fewer = ancConv.filter((r) => r.fewer !== null).map((r) => r.fewer as number);
  const meanFewer = fewer.length ? fewer.reduce((a, b) => a + b, 0) / fewer.length : null;
  const ancOver = over.filter((r) => r.wiring === 'ancre-in');
  const maxParams = Math.max(...ancOver.map((r) => r.extraParams));
  const meanTime = ancOver.reduce((a, r) => a + r.extraTime, 0) / ancOver.length;
  return [
    `**Perplexity.** ANCRe (τ = 0.01, incoming) gave lower final validation perplexity than standard residuals at ${lower} of ${depths.length} depths, higher at ${higher}, and no difference these seeds detect (or too few seeds) at ${tie}, by the 95 % interval of the difference paired by seed (paper: lower at every size, by 2–7%).`,
    ...lines,
    `**Convergence.** ANCRe reached the baseline's final perplexity at ${ancConv.filter((r) => r.steps !== null).length} of ${ancConv.length} depths` +
      (meanFewer === null ? '.' : `, with ${(100 * meanFewer).toFixed(1)}% fewer steps on average where it did (paper: ${(100 * PAPER_FEWER_STEPS).toFixed(1)}% fewer).`),
    `**Overhead.** At most ${(100 * maxParams).toFixed(3)}% more parameters (paper: under 1%). Step time ${meanTime >= 0 ? '+' : ''}${(100 * meanTime).toFixed(0)}% on average against residuals at the same depth over the whole runs, and ${backToBack} measured back to back above; ` +
      `ANCRe adds ~K²/2 scaled additions of [B, T, D] tensors per step, a small cost next to the attention and MLP matmuls at the paper's widths but not at width ${config.width} on a CPU engine where every op has a fixed cost.`,
    ...wirings.filter((l) => l !== 'residual' && l !== 'ancre-in').map((l) => {
      const rel = depths.map((d) => mp.get(`${d}/${l}`)! / mp.get(`${d}/residual`)! - 1);
      return `**${l}** against residual: ${rel.map((r, i) => `${r >= 0 ? '+' : ''}${(100 * r).toFixed(1)}% at ${depths[i]} layers`).join(', ')}.`;
    }),
    ...(wirings.includes('constant-average')
      ? [`**Learned or fixed routing?** ANCRe-in against \`constant-average\` (the same dense connections with the routing frozen at uniform): ` +
          depths.map((d) => {
            const a = mp.get(`${d}/ancre-in`)!;
            const u = mp.get(`${d}/constant-average`)!;
            const c = comparePerplexity(records, { depth: d, wiring: 'ancre-in' }, { depth: d, wiring: 'constant-average' });
            return `${a.toFixed(1)} vs ${u.toFixed(1)} at ${d} layers (${pairedPhrase(c)})`;
          }).join(', ') + '.']
      : []),
    `**Routing.** The mean largest incoming weight per row at the end of training (rows after the first; uniform would be 1/(l+1), one-hot 1): ` +
      wirings.filter((l) => l.startsWith('ancre-in')).map((l) => `${l}: ` + depths.map((d) => `${maxWeight(records, d, l).toFixed(2)} at ${d} layers`).join(', ')).join('; ') +
      `. With τ = 0.01 an AdamW step of size ~lr on a logit moves it by ~lr/τ = ${(config.train.schedule.lr / 0.01).toFixed(1)} in softmax units, so the weights can saturate within tens of steps.`,
    `**Best row** per depth: ${depths.map((d) => { const best = wirings.reduce((a, b) => (mp.get(`${d}/${b}`)! < mp.get(`${d}/${a}`)! ? b : a)); return `${best} at ${d} layers (${mp.get(`${d}/${best}`)!.toFixed(1)})`; }).join(', ')}.`,
    `**Scale.** These are width-${config.width} models trained on ${(config.train.steps * config.batch * config.seqLen).toLocaleString('en-US')} tokens of Brown, ${(100 * config.train.steps * config.batch * config.seqLen / (10000 * 512 * 256)).toFixed(2)}% of the token budget of the paper's smallest run (10k steps × 512 × 256 for LLaMA-60M); ${depths.length < 2 ? 'one depth only' : `${deeperBetter ? 'deeper residual models are better' : 'deeper residual models are not better'} (${mp.get(`${dMax}/residual`)!.toFixed(1)} at ${dMax} layers vs ${mp.get(`${dMin}/residual`)!.toFixed(1)} at ${dMin}; ANCRe-in ${mp.get(`${dMax}/ancre-in`)!.toFixed(1)} vs ${mp.get(`${dMin}/ancre-in`)!.toFixed(1)})`}; they say how the wirings behave early in the training of small models, not what ANCRe does for LLaMA-60M on C4.`,
  ].join('\n\n');
}

/** Mean over seeds and rows (after the first) of the largest routing weight per row of wiring `label` at depth `d`. */
function maxWeight(records: LmRecord[], d: number, label: string): number {
  const p = records.filter((r) => r.metrics.depth === d && r.metrics.wiring === label).map((r) => r.extra!.coefficients as number[][]);
  const m = p.flatMap((q) => q.slice(1).map((row) => Math.max(...row)));
  return m.reduce((a, b) => a + b, 0) / m.length;
}

/**
 * The official-recipe verdict: first whether the residual baseline gains from depth (the comparison is a fair
 * test only where it does), then each wiring against residual at the baseline's setting, at each wiring's own
 * best lr, steps to the baseline's final perplexity, and depth efficiency (ANCRe at L vs residual at 2L).
 * Robust to partial data: a depth or wiring without finished runs is named as missing, not guessed.
 */
export function ancreLmOfficialVerdict(
  check: DepthPaysCheck,
  comparison: LmRecord[],
  ownBest: OwnBestRow[],
  efficiency: DepthEfficiencyRow[],
): string {
  const out: string[] = [`**Baseline.** ${check.text}`];
  const depths = [...check.setting.keys()];
  const labels = [...new Set(comparison.map((r) => String(r.metrics.wiring)))].filter((l) => l !== 'residual');
  const versus = (d: number, l: string, ref = 'residual') => {
    const b = meanStd([...perplexityBySeed(comparison, { depth: d, wiring: ref }).values()]);
    const a = meanStd([...perplexityBySeed(comparison, { depth: d, wiring: l }).values()]);
    if (!a.n || !b.n) return `${d} layers: ${!a.n ? l : ref} not run yet`;
    const c = comparePerplexity(comparison, { depth: d, wiring: l }, { depth: d, wiring: ref });
    const rel = a.mean / b.mean - 1;
    return `${d} layers ${a.mean.toFixed(1)} vs ${b.mean.toFixed(1)} (${rel >= 0 ? '+' : ''}${(100 * rel).toFixed(1)}%; ${pairedPhrase(c)}; ${c.n} paired seed${c.n === 1 ? '' : 's'})`;
  };
  for (const l of labels) out.push(`**${l}** against residual at the baseline's lr (Δ = ${l} − residual perplexity, 95 % interval paired by seed): ${depths.map((d) => versus(d, l)).join('; ')}.`);
  if (!labels.length) out.push('**Wirings.** No wiring other than residual has finished runs at this setting yet.');
  // The official code's own ablation: does learning the routing add to the dense connections frozen at uniform?
  if (labels.includes('constant-average')) {
    for (const l of labels.filter((x) => x.startsWith('ancre-in'))) {
      out.push(`**Learned or frozen routing?** ${l} against \`constant-average\` (the same connections, routing frozen at uniform): ${depths.map((d) => versus(d, l, 'constant-average')).join('; ')}.`);
    }
  }
  const own = labels.length
    ? depths.map((d) => {
        const rows = ownBest.filter((r) => r.depth === d);
        const best = rows.reduce<OwnBestRow | null>((a, b) => (a === null || b.mean < a.mean ? b : a), null);
        return best ? `${d} layers: ${best.wiring} (${best.mean.toFixed(1)} at lr ${best.lr}, ${best.seeds} seed${best.seeds > 1 ? 's' : ''}; tried ${best.tried.join(', ')})` : `${d} layers: none`;
      })
    : [];
  if (own.length) out.push(`**At each wiring's own best lr**, the best wiring per depth: ${own.join('; ')}.`);
  const conv = convergenceTable(comparison).filter((r) => r.wiring.startsWith('ancre-in'));
  if (conv.length) {
    out.push(`**Steps to the baseline's final perplexity** (paper: ${(100 * PAPER_FEWER_STEPS).toFixed(1)}% fewer): ` +
      conv.map((r) => `${r.wiring} at ${r.depth} layers ${r.fewer === null ? `never (${r.reached} seeds reached it)` : `${(100 * r.fewer).toFixed(1)}% fewer (${r.reached})`}`).join('; ') + '.');
  }
  const eff = efficiency.filter((r) => r.matches !== null);
  out.push(eff.length
    ? `**Depth efficiency** (a wiring at L layers against residual at 2L): ` + eff.map((r) => `${r.wiring} at ${r.depth} layers ${r.ppl} vs residual at ${2 * r.depth} ${r.residualDeeper}: ${r.word === 'better' ? 'beats it' : r.word === 'worse' ? 'worse' : r.word === 'no detectable difference' ? 'no detectable difference' : `${r.matches ? 'ahead' : 'behind'} on too few seeds`} (${r.paired})`).join('; ') + '.'
    : '**Depth efficiency** (a wiring at L layers against residual at 2L): no pair with finished runs yet.');
  return out.join('\n\n');
}
