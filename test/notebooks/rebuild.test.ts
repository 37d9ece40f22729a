/**
 * The library rebuilt under a running tslab kernel (issue 17: "Unexpected pending rebuildTimer").
 *
 * tslab's TypeScript watcher watches build/lib/package.json (how `repro` resolves); any rewrite of it,
 * even with the same bytes, made the kernel's next cell fail with that error and only tslab's stack.
 * - `npm run build`'s link step no longer rewrites an unchanged package.json: the next cell runs;
 * - when the trap is hit anyway (here: the file rewritten by hand), the failing cell says what happened
 *   and to restart the kernel.
 * One real kernel on this checkout's kernelspec, driven by jupyter_client.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { checkoutKernelPath, findJupyterPython, KERNEL_NAME } from '../../lib/jupyter';
import { REPO_ROOT } from '../../lib/paths';

// Runs each cell; between cells runs the shell command given for it. Prints one JSON line per cell.
const DRIVER = `
import json, subprocess, sys, time
from jupyter_client.manager import KernelManager
kernel, cwd, steps = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
km = KernelManager(kernel_name=kernel)
km.start_kernel(cwd=cwd)
try:
    kc = km.client(); kc.start_channels(); kc.wait_for_ready(timeout=120)
    for before, code in steps:
        if before:
            subprocess.run(before, shell=True, check=True, cwd=${JSON.stringify(REPO_ROOT)})
            time.sleep(3)  # the watcher polls
        out = []
        def hook(m):
            if m['msg_type'] == 'stream': out.append(m['content']['text'])
            elif m['msg_type'] == 'error': out.append(m['content']['ename'] + ': ' + m['content']['evalue'])
        r = kc.execute_interactive(code, timeout=120, output_hook=hook)
        print(json.dumps({'status': r['content']['status'], 'out': ''.join(out)}), flush=True)
        time.sleep(0.5)  # tslab aborts queued cells for 200 ms after a failed one
finally:
    km.shutdown_kernel(now=True)
`;

test('a rebuild under a running kernel: npm run build leaves it working; the tslab trap, when hit, says to restart the kernel', { timeout: 180_000 }, () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-rebuild-'));
  const driver = path.join(tmp, 'driver.py');
  fs.writeFileSync(driver, DRIVER);
  const pkg = path.join(REPO_ROOT, 'build', 'lib', 'package.json');
  const before = fs.readFileSync(pkg);
  const rewrite = `${JSON.stringify(process.execPath)} -e "const f=${JSON.stringify(pkg).replace(/"/g, "'")}; const fs=require('fs'); const b=fs.readFileSync(f); fs.rmSync(f); fs.writeFileSync(f, b)"`;
  const steps = [
    ['', "import { showMarkdown } from 'repro/report';\nconsole.log('first cell ran')"],
    [`${JSON.stringify(process.execPath)} environment/link-lib.js`, "console.log('after the link step')"],
    [rewrite, "console.log('after a rewrite')"],
  ];
  try {
    const r = spawnSync(findJupyterPython(), [driver, KERNEL_NAME, path.join(REPO_ROOT, 'notebooks'), JSON.stringify(steps)], {
      encoding: 'utf8',
      env: { ...process.env, JUPYTER_PATH: checkoutKernelPath() },
      timeout: 170_000,
    });
    const cells = (r.stdout ?? '').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { status: string; out: string });
    assert.equal(cells.length, 3, `the driver ran ${cells.length} of 3 cells (status ${r.status}):\n${r.stdout}\n${r.stderr.slice(-3000)}`);
    assert.deepEqual(cells.slice(0, 2).map((c) => c.status), ['ok', 'ok'], JSON.stringify(cells, null, 1));
    assert.match(cells[1].out, /after the link step/);
    assert.ok(fs.readFileSync(pkg).equals(before), 'the link step left package.json as it was');
    // The trap itself (tslab 1.0.22): the cell fails, and its output says what happened and what to do.
    assert.equal(cells[2].status, 'error', JSON.stringify(cells[2]));
    assert.match(cells[2].out, /Unexpected pending rebuildTimer/);
    assert.match(cells[2].out, /was rewritten while this kernel was running[\s\S]*restart the kernel \(Kernel > Restart\)/);
  } finally {
    fs.writeFileSync(pkg, before);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
