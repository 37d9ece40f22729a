/**
 * A graceful stop on SIGINT, SIGTERM or SIGHUP: the signal handler only raises a flag; the training loop
 * checks it before each step, writes a checkpoint and throws an InterruptedError saying what was saved;
 * the runner starts no further runs. A rerun of the same command resumes from that checkpoint exactly
 * (the loop's resumability contract). Handlers are installed by the CLI and by worker processes only
 * (never inside a Jupyter kernel, whose interrupt button tslab handles itself).
 */

export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';
export const STOP_SIGNALS: readonly StopSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

let requested: StopSignal | null = null;

/** Asks every training loop in this process to checkpoint and stop. */
export function requestStop(signal: StopSignal): void {
  requested ??= signal;
}

/** The signal that asked for a stop, or null. */
export function stopRequested(): StopSignal | null {
  return requested;
}

/** Clears the flag (tests). */
export function clearStop(): void {
  requested = null;
}

/** Training stopped on a signal after writing its checkpoint. */
export class InterruptedError extends Error {
  override name = 'InterruptedError';
  constructor(
    message: string,
    readonly signal: StopSignal,
    readonly step: number,
    readonly checkpoint: string | null,
  ) {
    super(message);
  }
}

/** The runner stopped on a signal: what was saved and how to resume. */
export class RunnerInterruptedError extends Error {
  override name = 'RunnerInterruptedError';
  constructor(
    message: string,
    readonly signal: StopSignal,
  ) {
    super(message);
  }
}

/** Exit status of a process ended by a signal (128 + its number), as shells report it. */
export const SIGNAL_EXIT: Record<StopSignal, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

/**
 * Installs handlers: the first signal calls `onFirst` (after raising the flag), a second one exits at once
 * with 128 + the signal's number. Returns a function that removes them.
 */
export function installStopHandlers(onFirst: (signal: StopSignal) => void): () => void {
  const codes = SIGNAL_EXIT;
  let seen = 0;
  const handler = (signal: StopSignal) => {
    seen += 1;
    if (seen > 1) {
      process.stderr.write(`\n${signal} again: exiting now without waiting for a checkpoint (the last periodic one is kept)\n`);
      process.exit(codes[signal]);
    }
    requestStop(signal);
    onFirst(signal);
  };
  for (const s of STOP_SIGNALS) process.on(s, handler);
  return () => {
    for (const s of STOP_SIGNALS) process.off(s, handler);
  };
}
