/**
 * One array task of a sweep (`run-experiment <experiment> --run-id ID --sweep-manifest FILE`):
 * checks the node sees the submitter's results folder, and on SIGTERM/SIGINT (scancel, preemption,
 * the time limit, or the batch shell's own stop before a requeue) releases the run's claim at once and
 * notes why the run stopped, so a resubmitted or requeued task takes the run over without waiting for
 * the claim to go stale. The run keeps its last checkpoint and resumes from it exactly. Where the
 * training loop offers a checkpoint-and-stop on signals (`lib/train/interrupt`), the stop goes through
 * it, so the checkpoint is taken at the signal rather than at the last periodic one.
 */
import * as fs from 'fs';
import * as os from 'os';
import { EnvironmentError } from '../../errors';
import { experimentDir, resultsRoot } from '../../paths';
import { noteFailure } from '../store/records';
import { releaseAllClaims } from '../claims';

/** How long a graceful stop may take before the task exits anyway (Slurm's KillWait is usually 30 s). */
const GRACE_MS = 20_000;

/**
 * The training loop's checkpoint-and-stop request (`lib/train/interrupt`, where that module exists), or
 * null: then a stop ends the process at once and the run resumes from its last periodic checkpoint.
 */
function gracefulStop(): ((signal: NodeJS.Signals) => void) | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const m = require('../../train/interrupt') as { requestStop?: (s: string) => void };
    return typeof m.requestStop === 'function' ? (s) => m.requestStop!(s) : null;
  } catch {
    return null;
  }
}

/** Throws an EnvironmentError when this node cannot see the sweep's manifest (an unshared results folder). */
export function checkSweepManifest(file: string, runIds: string[]): void {
  if (fs.existsSync(file)) return;
  throw new EnvironmentError(
    `this task on ${os.hostname()} cannot see ${file}, which the sweep wrote before submitting: the results folder ` +
      `${resultsRoot()} is not shared with this node, so its claims and records would be lost (runs ${runIds.join(', ')}). ` +
      `Put REPRO_RESULTS on a file system every node mounts at the same path (NFS, Lustre) and submit again`,
  );
}

/**
 * Installs the task's stop handlers: the first SIGTERM/SIGINT notes `runs` as stopped, releases their
 * claims and exits with 128 + the signal number (143 for SIGTERM); the last periodic checkpoint stays.
 */
export function installTaskSignals(experiment: string, preset: string, runs: { runId: string; row: string; seed: number }[]): void {
  const dir = experimentDir(experiment, preset);
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    const code = signal === 'SIGINT' ? 130 : 143;
    for (const r of runs) {
      if (fs.existsSync(`${dir}/records/${r.runId}.json`)) continue;
      noteFailure(dir, {
        ...r,
        message: `stopped by ${signal} (scancel, preemption or the time limit); resubmit (npm run sweep) to resume from its last checkpoint`,
        name: 'TaskStopped',
      });
    }
    const graceful = gracefulStop();
    if (graceful) {
      // The training loop checkpoints at its next step and stops; the runner then releases the claim.
      // Should it not get there in time, the claims go and the process ends anyway.
      graceful(signal);
      setTimeout(() => {
        releaseAllClaims();
        process.exit(code);
      }, GRACE_MS).unref();
      return;
    }
    releaseAllClaims();
    process.stderr.write(`\nrun-experiment: ${signal}: claims released; the runs resume from their last checkpoint when resubmitted\n`);
    process.exit(code);
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
