/**
 * Executes one run of an experiment in this process and turns its result into a results record.
 * Used in-process by the runner (one worker) and by each worker process (`worker.ts`).
 */
import { execSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { configHash, PresetName } from '../config';
import { addressSpaceBytes, initEngine } from '../backend';
import { experimentDir, REPO_ROOT } from '../paths';
import { appendNoFollow, ensureDir, writeFileAtomic } from '../io/atomic';
import { writeError, type RunRecord } from './store/runs';
import { takeDataUses } from '../data/identity';
import { DataError } from '../errors';
import type { Experiment, Json, RunSpec } from './types';

export interface WorkerRequest {
  experiment: string;
  /** The module file whose `experiment` export this is (see `experimentModule`); what a worker process loads. */
  module?: string;
  preset: PresetName;
  spec: RunSpec;
  /** The data's part of the run id (undefined: canonical data; see lib/data/identity.ts). */
  dataKey?: string;
}

export type WorkerReply =
  | { type: 'result'; record: RunRecord }
  | { type: 'error'; message: string; name?: string };

/** How the engines report an allocation beyond their heap. */
const OUT_OF_MEMORY = /memory access out of bounds|Array buffer allocation failed|Invalid typed array length|Cannot allocate Wasm memory|out of memory/i;

/**
 * A run's id: the hash of the experiment name, the run's resolved config and its seed, and the data's
 * checksum when the data is not the canonical copy (`dataKey`; undefined leaves the hash as it always was).
 */
export function runIdOf(experiment: string, spec: RunSpec, dataKey?: string): string {
  return configHash({ experiment, config: spec.config, seed: spec.seed, data: dataKey });
}

let commitCache: string | null | undefined;
/** The repository's commit (`abc1234`, `+dirty` when lib/ has uncommitted changes), or null outside git. */
export function currentCommit(): string | null {
  if (commitCache !== undefined) return commitCache;
  try {
    const head = execSync('git rev-parse --short HEAD', { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execSync('git status --porcelain -- lib', { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    commitCache = head + (dirty ? '+dirty' : '');
  } catch {
    commitCache = null;
  }
  return commitCache;
}

/**
 * The file of the module whose `experiment` export is `exp` (a study's `index.js` or `spec.js`), found
 * among the modules this process has loaded: worker processes load the experiment from it. The runner
 * imports no study; studies are named in one registry (`lib/studies/index.ts`), which the CLI uses.
 */
export function experimentModule(exp: Experiment<object>): string | undefined {
  for (const m of Object.values(require.cache)) {
    const exports = m?.exports as { experiment?: unknown } | undefined;
    if (m && exports && typeof exports === 'object' && exports.experiment === exp) return m.filename;
  }
  return undefined;
}

/** Loads the `experiment` export of a module file (what a worker process is told to run). */
export function experimentFromModule(file: string, name: string): Experiment<object> {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const mod = require(file) as { experiment?: Experiment<object> };
  if (!mod.experiment || mod.experiment.name !== name) throw new Error(`${file} exports no experiment '${name}'`);
  return mod.experiment;
}

export async function executeRun(
  req: WorkerRequest,
  exp: Experiment<object>,
  onProgress: (done: number, total: number, info: string) => void,
): Promise<WorkerReply> {
  const { spec, preset } = req;
  const runId = runIdOf(exp.name, spec, req.dataKey);
  const checkpointDir = path.join(experimentDir(exp.name, preset), 'checkpoints', runId);
  const t0 = Date.now();
  try {
    const engine = await initEngine({ quiet: true });
    ensureDir(checkpointDir);
    const logFile = path.join(checkpointDir, 'log.jsonl');
    const engines = noteSession(checkpointDir, engine as unknown as Json);
    takeDataUses(); // forget what earlier runs of this process loaded
    const result = await exp.runOne(spec, {
      preset,
      runId,
      checkpointDir,
      progress: onProgress,
      log: (m) => {
        appendNoFollow(logFile, JSON.stringify({ runId, ...m }) + '\n', 'append to the run log');
        // A run that continues from its checkpoint says so, with the step (a rerun after an interrupt).
        if (typeof m.resumedFrom === 'number') console.error(`\n${exp.name}: run '${spec.row}' (seed ${spec.seed}) resumed from its checkpoint at step ${m.resumedFrom} of ${m.steps}`);
      },
    });
    const data = takeDataUses();
    // The run id was computed for the canonical data; a run that read another copy must not be stored
    // under it (REPRO_DATA changed between planning and loading).
    const odd = data.find((d) => !d.canonical);
    if (odd && req.dataKey === undefined) {
      throw new DataError(`run ${runId} read ${odd.dataset} from ${odd.path}, which is not the canonical copy, but its run id was computed for the canonical data (did REPRO_DATA change during the run?); not saved, rerun`);
    }
    const record: RunRecord = {
      experiment: exp.name,
      preset,
      runId,
      row: spec.row,
      seed: spec.seed,
      config: spec.config as Json,
      metrics: result.metrics,
      ...(result.history ? { history: result.history } : {}),
      ...(result.extra ? { extra: result.extra } : {}),
      wallTimeSec: (Date.now() - t0) / 1000,
      engine: engine as unknown as Json,
      ...(engines.length > 1 ? { engines } : {}),
      ...(data.length ? { data: data as unknown as Json } : {}),
      commit: currentCommit(),
      host: `${os.hostname()} (${os.cpus().length} cores)`,
      finishedAt: new Date().toISOString(),
    };
    return { type: 'result', record };
  } catch (e) {
    const err = e as Error;
    const message = err.message ?? String(e);
    if (OUT_OF_MEMORY.test(message)) {
      // Only setup-check estimates its memory up front; for the others, at least say what happened.
      const as = addressSpaceBytes();
      const why = as !== null ? `this process may use at most ${(as / 1e9).toFixed(1)} GB of address space (ulimit -v / prlimit --as): raise the limit (16 GB is enough here), or use a smaller model, batch or dataset` : `the wasm engine's heap holds at most 4 GiB; use a smaller model, batch or dataset`;
      return { type: 'error', name: 'RangeError', message: `run ${runId} ran out of memory (${message.slice(0, 80)}): ${why} (its checkpoint, if any, is kept)` };
    }
    return { type: 'error', message, name: err.name };
  }
}

/**
 * Notes this session's engine in `<checkpointDir>/engines.json` and returns every distinct engine the
 * run has used, in order (a run resumed on another engine records both). A run without a checkpoint
 * starts a fresh list. Best-effort: a failure to write it only loses this list, never the run.
 */
export function noteSession(checkpointDir: string, engine: Json): Json[] {
  const file = path.join(checkpointDir, 'engines.json');
  const fresh = !fs.existsSync(path.join(checkpointDir, 'ckpt.bin'));
  let list: Json[] = [];
  if (!fresh) {
    try {
      const v = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (Array.isArray(v)) list = v;
    } catch {
      /* absent or unreadable: start from this session */
    }
  }
  const key = JSON.stringify(engine);
  if (!list.some((e) => JSON.stringify(e) === key)) list.push(engine);
  try {
    writeFileAtomic(file, JSON.stringify(list) + '\n'); // a rename: replaces a planted link, never writes through it
  } catch {
    /* best-effort */
  }
  return list;
}
