/** What a study's runs cost, from their records (wall time, training and evaluation seconds, ms per step). */
import type { RunRecord } from '../runner/store/runs';

/**
 * One line: how many runs, their summed wall time (training and evaluation where recorded) and the mean
 * ms per training step over the runs that recorded it (baseline runs train nothing and are left out, so
 * the mean is never NaN; without any such run the part is omitted).
 */
const minutes = (sec: number) => `${(sec / 60).toFixed(1)} min`;

export function runTimeLine(records: RunRecord[]): string {
  const sum = (key: string) => records.reduce((s, r) => s + (typeof r.metrics[key] === 'number' ? (r.metrics[key] as number) : 0), 0);
  const wall = records.reduce((s, r) => s + (Number.isFinite(r.wallTimeSec) ? r.wallTimeSec : 0), 0);
  const steps = records.map((r) => r.metrics.msPerStep).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const parts = [`${records.length} run${records.length === 1 ? '' : 's'}: ${minutes(wall)} wall in total`];
  const train = sum('trainSeconds');
  const evalS = sum('evalSeconds');
  if (train || evalS) parts[0] += ` (training ${minutes(train)}, evaluation ${minutes(evalS)})`;
  if (steps.length) parts.push(`${(steps.reduce((a, b) => a + b, 0) / steps.length).toFixed(0)} ms per training step on average over the ${steps.length} trained run${steps.length === 1 ? '' : 's'}`);
  return parts.join('; ');
}
