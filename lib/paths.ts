/** Where the project lives and where it reads and writes. Overridable by environment variables. */
import * as fs from 'fs';
import * as path from 'path';

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

/** `results/` unless `$REPRO_RESULTS` names another folder (tests use a temporary one). */
export function resultsRoot(): string {
  return process.env.REPRO_RESULTS ? path.resolve(process.env.REPRO_RESULTS) : path.join(REPO_ROOT, 'results');
}

/** `data/` unless `$REPRO_DATA_CACHE` names another folder: where tokenizers and derived files are cached. */
export function dataRoot(): string {
  return process.env.REPRO_DATA_CACHE ? path.resolve(process.env.REPRO_DATA_CACHE) : path.join(REPO_ROOT, 'data');
}

/** `results/<experiment>/<preset>`. */
export function experimentDir(experiment: string, preset: string): string {
  return path.join(resultsRoot(), experiment, preset);
}
