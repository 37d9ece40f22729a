/**
 * `npm run bench -- --baseline <commit>`: the benchmark's "before" rows from an earlier commit,
 * timed in the same run as everything else.
 *
 * Exports that commit into a temporary folder (git archive: no checkout, no branch switch),
 * links this checkout's node_modules, builds that commit's own native addon, adds this checkout's
 * scripts/bench-steps.ts (it only uses library code that is older than the fused kernels) and
 * compiles it there. Each row then runs `node <copy>/build/scripts/bench-steps.js --child ...`.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO_ROOT } from '../lib/paths';

export interface Baseline {
  commit: string;
  dir: string;
  /** the compiled step runner inside the copy */
  script: string;
}

function run(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 900000, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed in ${cwd}: ${(r.stderr || r.stdout || String(r.error)).trim().split('\n').slice(-2).join(' | ')}`);
  return r.stdout;
}

/** Prepares (or reuses) the copy of `commit`. Throws with the failing step. */
export function prepareBaseline(commit: string): Baseline {
  const full = run('git', ['rev-parse', '--verify', `${commit}^{commit}`], REPO_ROOT).trim();
  const dir = path.join(os.tmpdir(), `repro-bench-baseline-${full.slice(0, 12)}`);
  const script = path.join(dir, 'build', 'scripts', 'bench-steps.js');
  if (!fs.existsSync(script)) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const tar = spawnSync('sh', ['-c', `git archive ${full} | tar -x -C '${dir}'`], { cwd: REPO_ROOT, encoding: 'utf8' });
    if (tar.status !== 0) throw new Error(`git archive ${full} failed: ${tar.stderr.trim()}`);
    fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    run(process.execPath, ['environment/build-native.js', '--force'], dir);
    fs.copyFileSync(path.join(REPO_ROOT, 'scripts', 'bench-steps.ts'), path.join(dir, 'scripts', 'bench-steps.ts'));
    run(process.execPath, [path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], dir);
    if (!fs.existsSync(script)) throw new Error(`compiling ${commit} in ${dir} did not produce ${script}`);
  }
  return { commit: full.slice(0, 7), dir, script };
}
