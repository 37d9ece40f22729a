/**
 * Slurm job arrays for an experiment's unfinished runs: the sbatch options a sweep passes through, the
 * batch script (array index -> run id; each task runs exactly one run with `run-experiment --run-id`),
 * and thin wrappers around `sbatch`, `squeue` and `scontrol` that turn their failures into messages
 * naming the cause.
 *
 * Preemption and time limits: the script asks Slurm for `--signal=B:USR1@<lead>` and `--requeue`.
 * On USR1 the batch shell stops the task (SIGTERM: the run's claim is released; the run keeps its last
 * checkpoint) and requeues it with `scontrol requeue`; the requeued task resumes from that checkpoint.
 * A task killed outright (SIGKILL: the memory limit, `scancel --signal=KILL`) is noted as failed with
 * its exit status, and its claim is released, by the batch shell.
 */
import { spawnSync } from 'child_process';
import { ConfigError, EnvironmentError, show } from '../../errors';

/** Long sbatch options passed through, with the value each takes (`flag`: takes none). */
export const SBATCH_OPTIONS = {
  partition: 'name',
  time: 'time',
  'cpus-per-task': 'count',
  mem: 'size',
  'mem-per-cpu': 'size',
  gres: 'spec',
  gpus: 'count',
  'gpus-per-task': 'count',
  account: 'name',
  qos: 'name',
  constraint: 'list',
  nodelist: 'list',
  exclude: 'list',
  reservation: 'name',
  'mail-type': 'list',
  'mail-user': 'address',
  'job-name': 'name',
  output: 'path',
  error: 'path',
  exclusive: 'flag',
} as const;
export type SbatchOption = keyof typeof SBATCH_OPTIONS;
const SHORT: Record<string, SbatchOption> = { p: 'partition', t: 'time', c: 'cpus-per-task', A: 'account', q: 'qos', C: 'constraint', w: 'nodelist', x: 'exclude', J: 'job-name', o: 'output', e: 'error', G: 'gpus' };

/** Options the batch script sets itself: a user's value would break the array → run-id mapping or the requeue. */
const RESERVED = ['array', 'signal', 'requeue', 'no-requeue', 'wrap', 'open-mode', 'wait', 'dependency', 'parsable'];
const RESERVED_WHY = 'array index -> run id, signal and requeue before the time limit, appended logs';

/** What a sweep asks of Slurm beyond the runs. */
export interface SlurmOptions {
  /** sbatch options, passed through as `#SBATCH --<name>=<value>` lines. */
  sbatch: { [name: string]: string | true };
  /** The array concurrency limit (`--array=...%N`), or undefined for none. */
  maxParallel?: number;
  /** Seconds before the time limit at which the task is signalled to stop and requeue. Default 120. */
  signalLead: number;
  /** Extra lines copied into the script as they are (each must start with `#SBATCH`). */
  extraLines: string[];
}

export const SLURM_USAGE =
  'sbatch options after --slurm: ' +
  Object.keys(SBATCH_OPTIONS).map((k) => `--${k}`).join(', ') +
  '; --max-parallel N (array limit %N), --signal-lead SECONDS, --sbatch-line "#SBATCH ..."';

/**
 * Parses the options after `--slurm`. Accepts `--opt=value`, `--opt value` and the usual short forms
 * (`-p gpu`, `-t 1:00:00`, `-c 4`). Unknown options are a ConfigError listing the known ones.
 */
export function parseSlurmArgs(args: readonly string[]): SlurmOptions {
  const out: SlurmOptions = { sbatch: {}, signalLead: 120, extraLines: [] };
  const value = (i: number, name: string): string => {
    const v = args[i];
    if (v === undefined || v.startsWith('-')) throw new ConfigError(`--${name} needs a value; got ${v === undefined ? 'nothing' : show(v)}`);
    return v;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    let name: string;
    let inline: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      inline = eq > 0 ? a.slice(eq + 1) : undefined;
    } else if (/^-[A-Za-z]$/.test(a) && SHORT[a[1]]) {
      name = SHORT[a[1]];
    } else {
      throw new ConfigError(`unexpected argument ${show(a)} after --slurm; ${SLURM_USAGE}`);
    }
    const take = () => (inline !== undefined ? inline : value(++i, name));
    if (name === 'max-parallel') {
      const n = Number(take());
      if (!Number.isSafeInteger(n) || n < 1) throw new ConfigError(`--max-parallel must be an integer >= 1; got ${show(args[i].includes('=') ? inline : args[i])}`);
      out.maxParallel = n;
    } else if (name === 'signal-lead') {
      const raw = take();
      const n = Number(raw);
      if (!Number.isSafeInteger(n) || n < 10 || n > 65535) throw new ConfigError(`--signal-lead must be whole seconds in [10, 65535]; got ${show(raw)}`);
      out.signalLead = n;
    } else if (name === 'sbatch-line') {
      const line = take();
      if (!line.startsWith('#SBATCH ') || /[\r\n]/.test(line)) throw new ConfigError(`--sbatch-line must be one line starting with '#SBATCH '; got ${show(line)}`);
      // Slurm reads every option on the line: one the sweep sets itself would break the array mapping.
      for (const m of line.slice(8).matchAll(/(?:^|\s)--?([A-Za-z][\w-]*)/g)) {
        const opt = m[1].length === 1 ? ({ a: 'array', W: 'wait' } as Record<string, string>)[m[1]] ?? m[1] : m[1];
        if (RESERVED.includes(opt)) throw new ConfigError(`--sbatch-line ${show(line)} sets --${opt}, which the sweep sets itself (${RESERVED_WHY})`);
      }
      out.extraLines.push(line);
    } else if (name in SBATCH_OPTIONS) {
      const kind = SBATCH_OPTIONS[name as SbatchOption];
      if (kind === 'flag') {
        if (inline !== undefined) throw new ConfigError(`--${name} takes no value; got ${show(inline)}`);
        out.sbatch[name] = true;
      } else {
        const v = take();
        if (/[\r\n]/.test(v) || v === '') throw new ConfigError(`--${name} needs a one-line value; got ${show(v)}`);
        // One value per option: whitespace would start another option on the #SBATCH line (e.g. 'gpu --array=0-999');
        // paths may hold spaces (they are quoted) but no quotes or backslashes.
        if (kind === 'path' ? /["\\]/.test(v) : /[\s"'\\]/.test(v)) {
          throw new ConfigError(`--${name} must be one ${kind} without ${kind === 'path' ? 'quotes or backslashes' : 'spaces, quotes or backslashes'} (it goes on an #SBATCH line as it is); got ${show(v)}`);
        }
        out.sbatch[name] = v;
      }
    } else if (RESERVED.includes(name)) {
      throw new ConfigError(`--${name} is set by the sweep itself (${RESERVED_WHY}); use --max-parallel or --signal-lead`);
    } else {
      throw new ConfigError(`unknown sbatch option ${show(a)}; ${SLURM_USAGE}`);
    }
  }
  const time = out.sbatch.time;
  if (typeof time === 'string') {
    const sec = slurmTimeSeconds(time);
    if (sec === null) throw new ConfigError(`--time ${show(time)} is not a Slurm time; expected minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS`);
    if (sec > 0 && sec <= out.signalLead) {
      throw new ConfigError(`--time ${time} (${sec} s) is not longer than --signal-lead (${out.signalLead} s): every task would be told to stop and requeue as it starts; lower --signal-lead or raise --time`);
    }
  }
  return out;
}

/** Seconds of a Slurm time limit (`90`, `1:30`, `2:00:00`, `1-12`, `1-12:30`, `1-12:30:00`); 0 for UNLIMITED; null when malformed. */
export function slurmTimeSeconds(t: string): number | null {
  if (/^(unlimited|infinite)$/i.test(t)) return 0;
  const m = /^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$/.exec(t);
  if (!m) return null;
  const [d, a, b, c] = [m[1], m[2], m[3], m[4]].map((x) => (x === undefined ? undefined : Number(x)));
  if (d !== undefined) return d * 86400 + (a ?? 0) * 3600 + (b ?? 0) * 60 + (c ?? 0); // D-HH[:MM[:SS]]
  if (c !== undefined) return a! * 3600 + b! * 60 + c; // HH:MM:SS
  if (b !== undefined) return a! * 60 + b; // MM:SS
  return a! * 60; // minutes
}

/** What the batch script needs to know. */
export interface ScriptSpec {
  experiment: string;
  preset: string;
  /** Run ids in array-index order. */
  runIds: string[];
  /** The `--set k=v` strings of the sweep, passed to each task verbatim. */
  sets: string[];
  /** Absolute results root (`$REPRO_RESULTS` on the nodes). */
  resultsRoot: string;
  /** Absolute repository root on the nodes (the same path on a shared file system). */
  repoRoot: string;
  /** The node binary to use (absolute path, or `node` from the PATH). */
  node: string;
  /** This submission's manifest file: a task that cannot see it reports an unshared results folder. */
  manifest: string;
  /** Folder for the tasks' output files (default `<experiment dir>/slurm`). */
  logDir: string;
  slurm: SlurmOptions;
}

/** Quotes a string for bash (single quotes). */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The sbatch script for a sweep's runs. */
export function batchScript(s: ScriptSpec): string {
  if (!s.runIds.length) throw new ConfigError(`${s.experiment}/${s.preset}: no runs to submit`);
  const name = (s.slurm.sbatch['job-name'] as string | undefined) ?? `repro-${s.experiment}-${s.preset}`;
  const lines = [
    '#!/bin/bash',
    `# ${s.experiment}/${s.preset}: ${s.runIds.length} run(s) of this project as a Slurm job array (written by npm run sweep).`,
    `#SBATCH --job-name=${name}`,
    `#SBATCH --array=0-${s.runIds.length - 1}${s.slurm.maxParallel ? `%${s.slurm.maxParallel}` : ''}`,
    `#SBATCH --signal=B:USR1@${s.slurm.signalLead}`,
    '#SBATCH --requeue',
    '#SBATCH --open-mode=append',
  ];
  // #SBATCH values with spaces go in double quotes (Slurm's parser honours them); quotes and backslashes are refused.
  const sbq = (v: string, what: string) => {
    if (/["\\\r\n]/.test(v)) throw new ConfigError(`${what} ${show(v)} cannot go on an #SBATCH line (quotes, backslashes or line breaks); use a folder without them`);
    return /\s/.test(v) ? `"${v}"` : v;
  };
  if (s.slurm.sbatch.output === undefined) lines.push(`#SBATCH --output=${sbq(`${s.logDir}/%A_%a.out`, 'the log folder')}`);
  for (const [k, v] of Object.entries(s.slurm.sbatch)) {
    if (k === 'job-name') continue;
    lines.push(v === true ? `#SBATCH --${k}` : `#SBATCH --${k}=${sbq(v, `--${k}`)}`);
  }
  lines.push(...s.slurm.extraLines);
  const sets = s.sets.map((x) => ` --set ${shq(x)}`).join('');
  const cli = (script: string) => `${shq(s.node)} ${shq(`${s.repoRoot}/build/scripts/${script}`)}`;
  lines.push(
    '',
    'set -u',
    `RUN_IDS=(${s.runIds.join(' ')})`,
    'RUN_ID=${RUN_IDS[$SLURM_ARRAY_TASK_ID]}',
    `export REPRO_RESULTS=${shq(s.resultsRoot)}`,
    'export REPRO_WORKERS=1 OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}',
    // The path is single-quoted wherever the shell reads it: a checkout path holding `$(…)` is text, never run.
    `cd ${shq(s.repoRoot)} || { echo "sweep task: the repository "${shq(s.repoRoot)}" is not visible on $(hostname): install the project at the same path on every node (or a shared file system)" >&2; exit 2; }`,
    'echo "sweep task ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} (job $SLURM_JOB_ID, restart ${SLURM_RESTART_COUNT:-0}) on $(hostname): run $RUN_ID"',
    '# USR1 comes before the time limit (and on preemption with a grace time): stop the run, then requeue it.',
    'requeue=0',
    'child=',
    'trap \'requeue=1; [ -n "$child" ] && kill -TERM "$child" 2>/dev/null\' USR1',
    '# TERM (scancel, the time limit) reaches the run itself from Slurm; this shell only outlives it to report.',
    "trap ':' TERM",
    `${cli('run-experiment.js')} ${shq(s.experiment)} --preset ${shq(s.preset)} --workers 1 --run-id "$RUN_ID" --sweep-manifest ${shq(s.manifest)}${sets} &`,
    'child=$!',
    'while :; do wait "$child"; rc=$?; kill -0 "$child" 2>/dev/null || break; done',
    'if [ "$requeue" = 1 ]; then',
    '  echo "sweep task: time limit near: requeueing job $SLURM_JOB_ID; run $RUN_ID resumes from its last checkpoint"',
    '  scontrol requeue "$SLURM_JOB_ID"',
    '  exit 0',
    'fi',
    'if [ "$rc" -ge 128 ]; then',
    `  ${cli('sweep.js')} ${shq(s.experiment)} --preset ${shq(s.preset)} --task-died "$RUN_ID" --pid "$child" --code "$rc"${sets}`,
    'fi',
    'exit "$rc"',
    '',
  );
  return lines.join('\n');
}

function missingClient(bin: string): EnvironmentError {
  return new EnvironmentError(`'${bin}' is not on the PATH: run the sweep on a machine with the Slurm client tools (a login node), or use --dry-run to write the script only`);
}

/** Runs a Slurm client; a missing binary is an EnvironmentError saying so. */
function client(bin: string, args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(bin, args, { encoding: 'utf8', input, timeout: 60_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') throw missingClient(bin);
  if (r.error) throw new EnvironmentError(`${bin} failed to run: ${r.error.message}`);
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** True when `bin` is on the PATH. */
export function hasCommand(bin: string): boolean {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  return !(r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT');
}

/**
 * sbatch answered in a way that does not say whether the array was queued (it exited 0 without a job id
 * we can read, or it timed out): the submission may exist, so the caller keeps its manifest and says so.
 */
export class SbatchUnknownError extends EnvironmentError {
  override name = 'SbatchUnknownError';
}

/** The job id in `sbatch --parsable` output: the last line that is `<id>` or `<id>;<cluster>` (site banners may come first). */
export function parsableJobId(stdout: string): string | null {
  const lines = stdout.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /^(\d+)(;[\w.-]+)?$/.exec(lines[i]);
    if (m) return m[1];
  }
  return null;
}

/**
 * Submits a script file; returns the job id. A refusal is an EnvironmentError quoting Slurm (nothing was
 * submitted); an answer without a readable job id, or no answer in time, is an SbatchUnknownError.
 */
export function sbatch(scriptFile: string, runsLabel: string): string {
  const r = spawnSync('sbatch', ['--parsable', scriptFile], { encoding: 'utf8', timeout: 60_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') throw missingClient('sbatch');
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') {
    throw new SbatchUnknownError(`sbatch did not answer within 60 s for ${runsLabel} (${scriptFile}): the array may or may not be queued; check \`squeue --me\` before submitting again`);
  }
  if (r.error) throw new EnvironmentError(`sbatch failed to run: ${r.error.message}`);
  const stdout = r.stdout ?? '';
  if (r.status !== 0) {
    throw new EnvironmentError(`sbatch refused the submission of ${runsLabel} (${scriptFile}): ${((r.stderr ?? '') || stdout).trim() || `exit ${r.status}`}; nothing was submitted`);
  }
  const id = parsableJobId(stdout);
  if (id === null) {
    throw new SbatchUnknownError(`sbatch accepted ${scriptFile} (exit 0) but printed no job id this sweep can read (${show(stdout.trim().slice(0, 300))}): the array is probably queued; check \`squeue --me\` before submitting again`);
  }
  return id;
}

/** One line of squeue for an array task or a pending range. */
export interface QueueEntry {
  /** Array job id. */
  job: string;
  /** Array indices this entry covers (a pending range `[0-3%2]` expands). */
  indices: number[];
  /** PENDING, RUNNING, COMPLETING, REQUEUED, ... */
  state: string;
  reason: string;
}

/** Parses `squeue -h -r? -o '%i|%T|%r'` output lines such as `12_3|RUNNING|None`, `12_[4-7%2]|PENDING|JobArrayTaskLimit`. */
export function parseSqueue(text: string): QueueEntry[] {
  const out: QueueEntry[] = [];
  for (const line of text.split('\n')) {
    const [id, state, reason] = line.trim().split('|');
    if (!id || !state) continue;
    const m = /^(\d+)_(?:(\d+)|\[([^\]]+)\])$/.exec(id);
    if (!m) continue;
    const indices: number[] = [];
    if (m[2] !== undefined) indices.push(Number(m[2]));
    else {
      for (const part of m[3].split('%')[0].split(',')) {
        const [a, b] = part.split('-').map(Number);
        for (let k = a; k <= (b ?? a); k++) indices.push(k);
      }
    }
    out.push({ job: m[1], indices, state, reason: reason ?? '' });
  }
  return out;
}

/** The queue entries of the given array jobs, or null when squeue is not available. */
export function squeue(jobs: string[]): QueueEntry[] | null {
  if (!jobs.length || !hasCommand('squeue')) return jobs.length ? null : [];
  const r = client('squeue', ['-h', '-o', '%i|%T|%r', '-j', jobs.join(',')]);
  // squeue exits non-zero for job ids it no longer knows (finished and purged): that is "not queued".
  if (r.status !== 0 && !/Invalid job id/i.test(r.stderr)) {
    throw new EnvironmentError(`squeue failed: ${(r.stderr || r.stdout).trim()}`);
  }
  return parseSqueue(r.stdout);
}
