/**
 * The search for a task on which the residual baseline gains from depth (notebook 04, section 0).
 *
 * A depth-efficiency claim ("ANCRe at 16 layers matches residual at 64") can only be tested where the residual
 * network itself improves from 16 to 64 layers. Each pilot here trains the residual network of the official
 * shape (blocks of 4 Dense–LayerNorm–swish layers) at 16 and 64 layers on one teacher-regression setting, one or
 * two seeds, and the table says how much 4× the depth bought. The pilots' records sit in
 * `results/resnet-depth/<preset>/runs.jsonl` beside the study's (run ids key them; nothing is recomputed), and
 * a pilot is rerun with `node build/scripts/run-experiment.js resnet-depth --preset cpu --set …` (its overrides).
 */
import type { DeepPartial, PresetName } from '../../config';
import type { TeacherConfig } from '../../data/teacher';
import { recordedRuns } from '../../runner/recorded';
import { depthRows } from './analysis';
import { experiment } from './experiment';
import type { ResnetDepthConfig } from './spec';

export interface DepthPilot {
  /** Short label for the table. */
  name: string;
  /** What the pilot changes and why. */
  why: string;
  /** Overrides of the cpu preset that give the pilot's runs (complete: they do not depend on the preset's current values). */
  overrides: DeepPartial<ResnetDepthConfig>;
}

/** The first teacher study's settings (the cpu preset of session 4), spelled out so later preset changes keep these run ids. */
const FIRST_TEACHER: TeacherConfig = { inputs: 16, width: 64, depth: 16, gain: 1.5, outputs: 4, seed: 1000 };

function pilot(
  name: string,
  why: string,
  p: { teacher?: Partial<TeacherConfig>; width?: number; batch?: number; steps?: number; checkpointEvery?: number; seeds?: number[] },
): DepthPilot {
  return {
    name,
    why,
    overrides: {
      task: 'teacher',
      teacher: { ...FIRST_TEACHER, ...p.teacher },
      width: p.width ?? 256,
      layersPerBlock: 4,
      sweep: [{ wiring: { kind: 'residual' }, layers: [16, 64] }],
      testExamples: 4096,
      batch: p.batch ?? 128,
      seeds: p.seeds ?? [0],
      train: {
        steps: p.steps ?? 600,
        schedule: { lr: 1e-3, warmupFraction: 0.05, minRatio: 0 },
        optimizer: { weightDecay: 0 },
        logEvery: 25,
        checkpointEvery: p.checkpointEvery ?? 100,
      },
    },
  };
}

/** The pilots run so far, in the order they were run (each informed the next). */
export const DEPTH_PILOTS: DepthPilot[] = [
  pilot('chaotic teacher (gain 1.5, 16 × 64), width 256, 600 steps', 'the first teacher study: a tanh teacher in the chaotic phase', {}),
  pilot('deeper teacher (64 × 64, gain 1.2), width 256, 2000 steps', 'a teacher deeper than the shallow student, 3.3× the steps', { teacher: { depth: 64, gain: 1.2 }, steps: 2000 }),
  pilot('edge-of-chaos teacher (gain 1.0, 16 × 64), width 256, 2000 steps', 'a smoother target that more of the variance can be learnt of', { teacher: { gain: 1.0 }, steps: 2000 }),
  pilot('deeper teacher (64 × 64, gain 1.0), width 64, batch 256, 4000 steps', 'a narrower student (capacity-limited at 16 layers), 4× the samples', {
    teacher: { depth: 64, gain: 1.0 },
    width: 64,
    batch: 256,
    steps: 4000,
    checkpointEvery: 500,
    seeds: [0, 1],
  }),
  pilot('deeper teacher (64 × 64, gain 1.2), width 64, batch 256, 4000 steps', 'as above at the chaotic gain', { teacher: { depth: 64, gain: 1.2 }, width: 64, batch: 256, steps: 4000, checkpointEvery: 500 }),
  pilot('deeper teacher (64 × 64, gain 1.0), width 32, batch 256, 4000 steps', 'a still narrower student', { teacher: { depth: 64, gain: 1.0 }, width: 32, batch: 256, steps: 4000, checkpointEvery: 500 }),
];

export interface DepthPilotRow {
  pilot: string;
  /** Finished runs of the pilot's planned runs. */
  finished: number;
  planned: number;
  seeds: number;
  /** Residual test MSE at 16 and 64 layers (mean over finished seeds), null when missing. */
  mse16: number | null;
  mse64: number | null;
  /** Sample std over seeds (null with one seed). */
  std16: number | null;
  std64: number | null;
  /** (mse64 − mse16) / mse16: negative when 64 layers fit better. */
  change: number | null;
  /** Training samples per run (steps × batch). */
  samples: number;
}

/** One row per pilot from the finished records (none are trained here). */
export function depthPilotRows(preset: PresetName = 'cpu', pilots: DepthPilot[] = DEPTH_PILOTS): DepthPilotRow[] {
  return pilots.map((p) => {
    const rec = recordedRuns(experiment, preset, p.overrides);
    const rows = depthRows(rec.records).filter((r) => r.wiring === 'residual');
    const at = (layers: number) => rows.find((r) => r.layers === layers) ?? null;
    const [a, b] = [at(16), at(64)];
    const mse16 = a?.mseMean ?? null;
    const mse64 = b?.mseMean ?? null;
    return {
      pilot: p.name,
      finished: rec.records.length,
      planned: rec.total,
      seeds: Math.min(a?.seeds ?? 0, b?.seeds ?? 0),
      mse16,
      mse64,
      std16: a?.mseStd ?? null,
      std64: b?.mseStd ?? null,
      change: mse16 !== null && mse64 !== null ? (mse64 - mse16) / mse16 : null,
      samples: rec.config.train.steps * rec.config.batch,
    };
  });
}
