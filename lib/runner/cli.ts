/**
 * The command line of `scripts/run-experiment.ts`, parsed and checked here so that every bad flag is a
 * ConfigError before any work (and tested without spawning): flags first, environment second
 * (`--preset smoke` wins over a bad `$REPRO_PRESET`), and `--set` keys that would reach
 * `Object.prototype` rejected.
 */
import { checkKeyName, checkPreset, PresetName, presetFromEnv } from '../config';
import { ConfigError, show } from '../errors';

export const USAGE = 'usage: run-experiment <experiment> [--preset smoke|cpu|paper] [--workers N] [--set key.path=value ...] [--run-id ID ...] [--sweep-manifest FILE]';

export interface RunArgs {
  experiment: string;
  preset: PresetName;
  /** undefined: the runner's default (`$REPRO_WORKERS` or the cores). */
  workers?: number;
  overrides: Record<string, unknown>;
  /** `--run-id`: only these runs of the config (one array task of `npm run sweep`). */
  runIds: string[];
  /** `--sweep-manifest`: the sweep's manifest this task must see (a shared results folder). */
  manifest?: string;
}

/** `a.b=3` -> { a: { b: 3 } }; values parse as JSON when they can, else stay strings. */
export function parseSet(s: string, into: Record<string, unknown>): void {
  const eq = s.indexOf('=');
  if (eq < 1) throw new ConfigError(`--set expects key=value; got ${show(s)}`);
  const keys = s.slice(0, eq).split('.');
  for (const k of keys) {
    if (k === '') throw new ConfigError(`--set ${show(s)}: empty key in '${s.slice(0, eq)}'`);
    checkKeyName(k, `--set ${s.slice(0, eq)}`);
  }
  const raw = s.slice(eq + 1);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    value = raw;
  }
  let o = into;
  for (const k of keys.slice(0, -1)) {
    const next = Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined;
    if (next !== undefined && (typeof next !== 'object' || next === null || Array.isArray(next))) {
      throw new ConfigError(`--set ${show(s)}: '${k}' was already set to ${show(next)}, not an object`);
    }
    o = (next ?? (o[k] = {})) as Record<string, unknown>;
  }
  o[keys[keys.length - 1]] = value;
}

/** `--workers` value: an integer >= 1 (a missing or non-numeric value is an error, never NaN workers). */
export function parseWorkers(raw: string | undefined, what = '--workers'): number {
  if (raw === undefined || raw.startsWith('--')) throw new ConfigError(`${what} needs a number of worker processes (an integer >= 1); got ${raw === undefined ? 'nothing' : show(raw)}`);
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isSafeInteger(n) || n < 1) throw new ConfigError(`${what} must be an integer >= 1; got ${show(raw)}`);
  return n;
}

/** Parses the run-experiment arguments; `env` is read only for what no flag gave. */
export function parseRunArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): RunArgs {
  const args = argv.slice();
  const experiment = args.shift();
  if (!experiment || experiment.startsWith('--')) throw new ConfigError(USAGE);
  let preset: PresetName | undefined;
  let workers: number | undefined;
  const overrides: Record<string, unknown> = {};
  const runIds: string[] = [];
  let manifest: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--preset') {
      const v = args[++i];
      if (v === undefined) throw new ConfigError(`--preset needs a value; expected one of smoke, cpu, paper`);
      preset = checkPreset(v);
    } else if (a === '--workers') {
      const v = args[i + 1];
      workers = parseWorkers(v);
      i++;
    } else if (a === '--set') {
      const v = args[++i];
      if (v === undefined) throw new ConfigError(`--set needs key=value`);
      parseSet(v, overrides);
    } else if (a === '--run-id') {
      const v = args[++i];
      if (v === undefined || !/^[0-9a-f]{4,64}$/.test(v)) {
        throw new ConfigError(`--run-id needs a run id (hex, as runs.jsonl and npm run sweep -- --status show it); got ${v === undefined ? 'nothing' : show(v)}`);
      }
      runIds.push(v);
    } else if (a === '--sweep-manifest') {
      const v = args[++i];
      if (v === undefined || v.startsWith('--')) throw new ConfigError(`--sweep-manifest needs a file path; got ${v === undefined ? 'nothing' : show(v)}`);
      manifest = v;
    } else {
      throw new ConfigError(`unknown option ${show(a)}; ${USAGE}`);
    }
  }
  preset ??= presetFromEnv('cpu', env);
  return { experiment, preset, workers, overrides, runIds, ...(manifest ? { manifest } : {}) };
}
