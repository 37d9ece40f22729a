/** Shared fixtures for the report tests (no tests here). */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { RunRecord } from '../../lib/runner/store/runs';

export function makeRecord(over: Partial<RunRecord> = {}): RunRecord {
  return {
    experiment: 'mae-sweep',
    preset: 'smoke',
    runId: 'abc123',
    row: 'residual',
    seed: 0,
    config: { wiring: 'residual', alphaMin: 1, depth: 4 },
    metrics: { knn: 0.5, lp: 0.6 },
    history: { step: [0, 10], loss: [1.5, 1.2] },
    wallTimeSec: 1.25,
    engine: { name: 'wasm', threads: 1 },
    commit: '35abdca',
    host: 'test-host',
    finishedAt: '2026-11-22T14:00:00.000Z',
    ...over,
  };
}

/** A fresh temporary folder, removed by the caller via `fs.rmSync(dir, { recursive: true })`. */
export function tmpDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `repro-report-${tag}-`));
}

/** True when permission bits do not stop this process (root, CAP_DAC_OVERRIDE). */
export function permissionsIgnored(dir: string): boolean {
  const probe = path.join(dir, 'probe-ro');
  fs.mkdirSync(probe);
  fs.chmodSync(probe, 0o555);
  let ignored = false;
  try {
    fs.writeFileSync(path.join(probe, 'x'), 'x');
    ignored = true;
  } catch {
    ignored = false;
  }
  fs.chmodSync(probe, 0o755);
  fs.rmSync(probe, { recursive: true, force: true });
  return ignored;
}
