/**
 * Run claims: before training a run, a runner claims its run id in the results folder, so two runners
 * of one experiment (two notebooks, a notebook and the CLI, Slurm array tasks on several nodes) never
 * train the same run at the same time and never write its record twice.
 *
 * A claim is `<dir>/claims/<runId>.json` holding host, pid, start time, a random token and the Slurm
 * job when there is one. It is created by writing a temporary file and hard-linking it into place:
 * `link` fails when the name exists, atomically, also on NFS (where `O_EXCL` was historically not
 * to be trusted). The owner refreshes the file's mtime every `heartbeatMs` (the heartbeat).
 *
 * A claim is live while its heartbeat is younger than `staleMs` and, when it was made on this host,
 * its pid still exists. Another runner skips live claims and takes over stale ones: it renames the
 * stale file aside (only one renamer wins), checks it moved the one it judged, and claims afresh.
 * Heartbeat ages use file mtimes against this host's clock: hosts sharing a results folder need
 * clocks within a small fraction of `staleMs` (NTP does that).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { checkNumber, ConfigError, show } from '../errors';
import { pidAlive, writeError } from './store/runs';
import { slurmJobLabel } from './store/records';

/** What a claim file holds. */
export interface ClaimInfo {
  runId: string;
  host: string;
  pid: number;
  /** ISO 8601 time the claim was made. */
  startedAt: string;
  /** Random; tells the owner's claim from a later one of the same name. */
  token: string;
  /** Slurm job (`<array job>_<task>` or the job id) of the claiming task, when under Slurm. */
  job?: string;
}

export interface ClaimOptions {
  /** A claim whose heartbeat is older than this is stale (ms). Default `$REPRO_CLAIM_STALE_S` or 120 s. */
  staleMs?: number;
  /** How often the owner refreshes its heartbeat (ms). Default staleMs / 6. */
  heartbeatMs?: number;
}

/** The least `$REPRO_CLAIM_STALE_S` accepted (seconds). */
export const MIN_STALE_S = 10;

/** The stale time from options (tests may go lower) or `$REPRO_CLAIM_STALE_S` (≥ MIN_STALE_S). */
export function staleMsOf(opts: ClaimOptions = {}): number {
  if (opts.staleMs !== undefined) return checkNumber('staleMs', opts.staleMs, { lo: 1 });
  const env = process.env.REPRO_CLAIM_STALE_S;
  if (env === undefined || env === '') return 120_000;
  const s = Number(env);
  // A runner's heartbeat cannot beat while its process is inside one training step or one evaluation (seconds
  // on cpu): below this floor a live claim looks dead and two runners train the same run into the same files.
  if (!Number.isFinite(s) || s < MIN_STALE_S) throw new ConfigError(`REPRO_CLAIM_STALE_S must be a number of seconds ≥ ${MIN_STALE_S} (a live runner's heartbeat can pause for one step or evaluation; shorter lets two runners train one run); got ${show(env)}`);
  return 1000 * s;
}

export function claimsDir(dir: string): string {
  return path.join(dir, 'claims');
}

export function claimFile(dir: string, runId: string): string {
  return path.join(claimsDir(dir), `${runId}.json`);
}

/** A claim as another process sees it. */
export interface ClaimView {
  info: ClaimInfo | null;
  /** Heartbeat age in ms (now - mtime). */
  ageMs: number;
  live: boolean;
  /** Why it is stale, for messages. */
  why: string;
  /** The raw bytes read (to check a takeover moved this very claim). */
  raw: string;
}

/** Reads the claim on `runId`, or null when there is none. */
export function readClaim(dir: string, runId: string, opts: ClaimOptions = {}): ClaimView | null {
  const file = claimFile(dir, runId);
  let raw: string;
  let mtime: number;
  try {
    raw = fs.readFileSync(file, 'utf8');
    mtime = fs.statSync(file).mtimeMs;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  let info: ClaimInfo | null = null;
  try {
    info = JSON.parse(raw) as ClaimInfo;
  } catch {
    /* cut short: judged by age alone */
  }
  const ageMs = Date.now() - mtime;
  const staleMs = staleMsOf(opts);
  let live = ageMs < staleMs;
  let why = live ? 'live' : `no heartbeat for ${(ageMs / 1000).toFixed(0)} s (stale after ${(staleMs / 1000).toFixed(0)} s)`;
  // A heartbeat dated further ahead than the stale time is no heartbeat (a clock that far off, or a touched
  // file): judged live, it would block every waiter for the whole skew.
  if (-ageMs > staleMs) {
    live = false;
    why = `its heartbeat is dated ${(-ageMs / 1000).toFixed(0)} s in the future (more than the stale time ${(staleMs / 1000).toFixed(0)} s: a clock that far off, or a touched file)`;
  }
  if (live && info && info.host === os.hostname() && !pidAlive(info.pid)) {
    live = false;
    why = `its process ${info.pid} on this host is gone`;
  }
  if (live && !info && ageMs > 2000) {
    live = false;
    why = 'the claim file is unreadable';
  }
  return { info, ageMs, live, why, raw };
}

/** A claim this process holds. */
export class Claim {
  private timer: NodeJS.Timeout | null = null;
  private lostNoted = false;
  constructor(
    readonly file: string,
    readonly info: ClaimInfo,
  ) {}

  /** True while the claim file is still ours. */
  owned(): boolean {
    try {
      return (JSON.parse(fs.readFileSync(this.file, 'utf8')) as ClaimInfo).token === this.info.token;
    } catch {
      return false;
    }
  }

  /** Refreshes the heartbeat; false (and one warning) when another runner took the claim over. */
  heartbeat(): boolean {
    if (!this.owned()) {
      if (!this.lostNoted) {
        this.lostNoted = true;
        process.stderr.write(
          `warning: the claim on run ${this.info.runId} was taken over by another runner (this one missed its heartbeats); ` +
            `this run continues, and only one record of it is kept\n`,
        );
      }
      return false;
    }
    try {
      const now = new Date();
      fs.utimesSync(this.file, now, now);
    } catch {
      /* the next beat retries */
    }
    return true;
  }

  /** Starts the heartbeat timer (unref'd: it never keeps the process alive). */
  startHeartbeat(everyMs: number): void {
    this.stopHeartbeat();
    this.timer = setInterval(() => this.heartbeat(), everyMs);
    this.timer.unref();
  }

  stopHeartbeat(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Stops the heartbeat and removes the claim if it is still ours. */
  release(): void {
    this.stopHeartbeat();
    if (this.owned()) {
      try {
        fs.unlinkSync(this.file);
      } catch {
        /* gone */
      }
    }
  }
}

/** Every claim this process holds, released on exit (a crashed pid is judged stale on its host anyway). */
const held = new Set<Claim>();
let exitHook = false;
function track(c: Claim): void {
  held.add(c);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const h of held) h.release();
    });
  }
}

/** Releases every claim this process holds (signal handlers call it before exiting). */
export function releaseAllClaims(): void {
  for (const h of held) h.release();
  held.clear();
}

/**
 * Claims `runId`: returns the claim, or null when another runner holds a live one. A stale claim is
 * taken over (with one line naming the old owner and why it was stale).
 */
export function tryClaim(dir: string, runId: string, opts: ClaimOptions = {}): Claim | null {
  const file = claimFile(dir, runId);
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
  } catch (e) {
    throw writeError(e, 'create the claims folder', path.dirname(file));
  }
  const job = slurmJobLabel();
  const info: ClaimInfo = {
    runId,
    host: os.hostname(),
    pid: process.pid,
    startedAt: new Date().toISOString(),
    token: Math.random().toString(36).slice(2) + Date.now().toString(36),
    ...(job ? { job } : {}),
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    if (linkNew(file, JSON.stringify(info) + '\n')) {
      const c = new Claim(file, info);
      c.startHeartbeat(opts.heartbeatMs ?? Math.max(50, staleMsOf(opts) / 6));
      track(c);
      return c;
    }
    const view = readClaim(dir, runId, opts);
    if (!view) continue; // released meanwhile: try again
    if (view.live) return null;
    const who = view.info ? `${view.info.host} pid ${view.info.pid}${view.info.job ? ` (job ${view.info.job})` : ''}` : 'unknown owner';
    if (takeOver(file, view.raw)) {
      process.stderr.write(`note: taking over run ${runId} from ${who}: ${view.why}\n`);
    }
  }
  return null;
}

/** Creates `file` with `content` unless it exists (temp file + link). */
function linkNew(file: string, content: string): boolean {
  const tmp = `${file}.tmp-${os.hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  try {
    fs.writeFileSync(tmp, content, { flag: 'wx' });
    try {
      fs.linkSync(tmp, file);
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
        // No hard links on this file system: O_EXCL create (atomic on local disks and NFSv3+).
        try {
          fs.writeFileSync(file, content, { flag: 'wx' });
          return true;
        } catch (e2) {
          if ((e2 as NodeJS.ErrnoException).code === 'EEXIST') return false;
          throw e2;
        }
      }
      throw e;
    }
  } catch (e) {
    throw writeError(e, 'write the run claim', file);
  } finally {
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* ignore */
    }
  }
}

/** Moves a stale claim away; true when this process moved exactly the claim it judged stale. */
function takeOver(file: string, judged: string): boolean {
  const aside = `${file}.stale-${os.hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    fs.renameSync(file, aside);
  } catch {
    return false; // someone else moved it first
  }
  let moved = '';
  try {
    moved = fs.readFileSync(aside, 'utf8');
  } catch {
    /* gone */
  }
  const ours = moved === judged;
  if (!ours) {
    try {
      fs.linkSync(aside, file); // a fresh claim got moved: put it back (unless yet another exists)
    } catch {
      /* a newer one exists */
    }
  }
  try {
    fs.unlinkSync(aside);
  } catch {
    /* ignore */
  }
  return ours;
}

/** Every claim in `dir` (run id -> view). */
export function listClaims(dir: string, opts: ClaimOptions = {}): Map<string, ClaimView> {
  const out = new Map<string, ClaimView>();
  let names: string[] = [];
  try {
    names = fs.readdirSync(claimsDir(dir));
  } catch {
    return out;
  }
  for (const n of names) {
    if (!n.endsWith('.json')) continue;
    const id = n.slice(0, -5);
    const v = readClaim(dir, id, opts);
    if (v) out.set(id, v);
  }
  return out;
}
