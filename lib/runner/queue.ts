/**
 * The runner's queue of unfinished runs, shared safely with other runners of the same experiment
 * through claims (./claims.ts) and record files (../report/records.ts):
 *
 * - `take()` returns the next run this process has claimed; runs whose record appeared meanwhile are
 *   collected, runs with another runner's live claim are skipped (and remembered).
 * - `waitForOthers()` waits until each skipped run has a record (collected) or its claim is gone or
 *   stale (back in the queue for this runner), polling every `pollMs`.
 */
import type { RunRecord } from './store/runs';
import { readRecordFile, recordFile } from './store/records';
import { Claim, ClaimOptions, readClaim, tryClaim } from './claims';
import type { RunSpec } from './types';

export interface QueueEntry {
  spec: RunSpec;
  runId: string;
}

export class RunQueue {
  private readonly pending = new Map<string, RunSpec>();
  private readonly elsewhere = new Set<string>();
  private readonly claims = new Map<string, Claim>();

  constructor(
    readonly dir: string,
    entries: QueueEntry[],
    /** Finished records by run id: the queue adds those other runners finish. */
    readonly byId: Map<string, RunRecord>,
    readonly opts: ClaimOptions & { pollMs?: number } = {},
  ) {
    for (const e of entries) this.pending.set(e.runId, e.spec);
  }

  /** Runs neither finished nor running here. */
  remaining(): number {
    return this.pending.size;
  }

  /** The runs skipped because another runner holds them, with the holder. */
  heldElsewhereList(): string[] {
    return [...this.elsewhere].map((id) => {
      const v = readClaim(this.dir, id, this.opts);
      const who = v?.info ? ` by ${v.info.host} pid ${v.info.pid}${v.info.job ? ` job ${v.info.job}` : ''}` : '';
      return `run ${id}${who}`;
    });
  }

  /** Runs of this queue another runner finished (their records were collected here). */
  readonly finishedElsewhere = new Set<string>();

  private collect(runId: string): boolean {
    if (this.byId.has(runId)) {
      this.pending.delete(runId);
      return true;
    }
    const rec = readRecordFile(recordFile(this.dir, runId));
    if (!rec) return false;
    this.byId.set(runId, rec);
    this.pending.delete(runId);
    this.finishedElsewhere.add(runId);
    return true;
  }

  /** Claims and returns the next run to execute here, or null when none is free. */
  take(): RunSpec | null {
    for (const [runId, spec] of this.pending) {
      if (this.elsewhere.has(runId) || this.claims.has(runId)) continue;
      if (this.collect(runId)) continue;
      const claim = tryClaim(this.dir, runId, this.opts);
      if (!claim) {
        this.elsewhere.add(runId);
        continue;
      }
      // Finished by another runner between our look and our claim: nothing to do.
      if (this.collect(runId)) {
        claim.release();
        continue;
      }
      this.claims.set(runId, claim);
      this.pending.delete(runId);
      return spec;
    }
    return null;
  }

  /** A run taken from this queue ended (record published or failure noted): release its claim. */
  done(runId: string): void {
    this.claims.get(runId)?.release();
    this.claims.delete(runId);
  }

  /**
   * Waits until every run held elsewhere has a record or is free to take (claim released or stale).
   * Calls `onFinished` for each run another runner finished; returns early once `shouldStop()` (a stop signal).
   */
  async waitForOthers(onFinished: (runId: string) => void = () => {}, shouldStop: () => boolean = () => false): Promise<void> {
    const poll = this.opts.pollMs ?? 500;
    while (this.elsewhere.size) {
      await new Promise((r) => setTimeout(r, poll));
      if (shouldStop()) return; // Ctrl-C while waiting: leave those runs to their runner and stop

      for (const id of [...this.elsewhere]) {
        if (this.collect(id)) {
          this.elsewhere.delete(id);
          onFinished(id);
          continue;
        }
        const v = readClaim(this.dir, id, this.opts);
        if (!v || !v.live) this.elsewhere.delete(id); // free or stale: ours to take in the next round
      }
      // Free runs are taken at once rather than after every other one finishes.
      if ([...this.pending.keys()].some((id) => !this.elsewhere.has(id))) return;
    }
  }
}
