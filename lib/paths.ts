/** Where the project lives and where it reads and writes. Overridable by environment variables. */
import * as fs from 'fs';
import * as path from 'path';
import { ConfigError } from './errors';

function findRepoRoot(start: string): string {
  let dir = start;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      try {
        if (JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'residual-repro') return dir;
      } catch {
        /* keep looking */
      }
    }
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

/** The repository root (the folder holding this project's package.json). */
export const REPO_ROOT = findRepoRoot(fs.realpathSync(__dirname));

/**
 * A folder named by an environment variable, or `fallback` when the variable is unset. Set but empty (or only
 * spaces) is an error, not the default: `REPRO_RESULTS=''` must not write into the committed results/.
 */
function folderFromEnv(name: string, fallback: string): string {
  const v = process.env[name];
  if (v === undefined) return fallback;
  if (v.trim() === '') throw new ConfigError(`$${name} is set but empty; unset it to use ${path.relative(REPO_ROOT, fallback) || fallback}/, or name a folder`);
  return path.resolve(v);
}

/** `results/` unless `$REPRO_RESULTS` names another folder (tests use a temporary one). */
export function resultsRoot(): string {
  return folderFromEnv('REPRO_RESULTS', path.join(REPO_ROOT, 'results'));
}

/** `data/` unless `$REPRO_DATA_CACHE` names another folder: where tokenizers and derived files are cached. */
export function dataRoot(): string {
  return folderFromEnv('REPRO_DATA_CACHE', path.join(REPO_ROOT, 'data'));
}

/** `results/<experiment>/<preset>`. */
export function experimentDir(experiment: string, preset: string): string {
  return path.join(resultsRoot(), experiment, preset);
}
