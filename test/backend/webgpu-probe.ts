/**
 * Test helper: why the webgpu engine cannot start here (null when it can). The tests that spawn a
 * webgpu child skip with this reason; under REPRO_REQUIRE_WEBGPU=1 (CI) they run and fail instead.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';

let cached: string | null | undefined;

export function webgpuSkipReason(): string | null {
  if (cached !== undefined) return cached;
  if (process.env.REPRO_REQUIRE_WEBGPU === '1') return (cached = null);
  try {
    require.resolve('webgpu');
  } catch {
    return (cached = 'the npm package webgpu is not installed');
  }
  const backend = path.resolve(__dirname, '..', '..', 'lib', 'backend');
  const r = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(backend)}).initEngine({ engine: 'webgpu' }).then((i) => process.stdout.write('ENGINE ' + i.engine))`], { encoding: 'utf8', timeout: 60000 });
  return (cached = /ENGINE webgpu/.test(r.stdout ?? '') ? null : `no WebGPU adapter starts here (${(r.stderr ?? '').split('\n').find((l) => l.startsWith('engine:')) ?? `exit ${r.status}`})`);
}
