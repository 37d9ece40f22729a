/**
 * Running notebooks through real Jupyter on the project kernel (used by `npm run reproduce` and
 * the notebook tests). The kernel, registered by `npm run setup`, runs this project's own tslab.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { EnvironmentError } from './errors';
import { REPO_ROOT } from './paths';

/** The Jupyter kernel `npm run setup` registers. */
export const KERNEL_NAME = 'residual-repro';

const PY_CHECK = 'import nbclient, nbformat, jupyter_client';

/** The first Python with Jupyter's nbclient: `$REPRO_PYTHON`, /usr/bin/python3, python3. */
export function findJupyterPython(): string {
  const candidates = [process.env.REPRO_PYTHON, '/usr/bin/python3', 'python3', 'python'].filter((x): x is string => !!x);
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', PY_CHECK], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  throw new EnvironmentError(
    `no Python with Jupyter found (tried ${candidates.join(', ')}). Run \`npm run setup\`, which installs ` +
      `the Debian packages jupyter-notebook jupyter-nbconvert python3-nbclient, or: ` +
      `python3 -m pip install notebook nbconvert nbclient`,
  );
}

/**
 * Writes a kernelspec for THIS checkout (`build/jupyter/kernels/residual-repro`: this node, this project's
 * tslab) and returns the folder to put first on JUPYTER_PATH. The kernel `npm run setup` registers for the
 * user is shared by every clone on the machine and runs the tslab of the clone that registered it last;
 * `reproduce` and the notebook tests must not depend on which one that was.
 */
export function checkoutKernelPath(): string {
  const tslab = path.join(REPO_ROOT, 'node_modules', 'tslab', 'bin', 'tslab');
  if (!fs.existsSync(tslab)) throw new EnvironmentError(`tslab is not installed (looked for ${tslab}). Run \`npm install\` (or \`npm run setup\`).`);
  const root = path.join(REPO_ROOT, 'build', 'jupyter');
  const dir = path.join(root, 'kernels', KERNEL_NAME);
  fs.mkdirSync(dir, { recursive: true });
  const spec = {
    argv: [process.execPath, tslab, 'kernel', '--config-path', '{connection_file}'],
    display_name: `TypeScript (${KERNEL_NAME})`,
    language: 'typescript',
  };
  fs.writeFileSync(path.join(dir, 'kernel.json'), JSON.stringify(spec, null, 1) + '\n');
  return root;
}

export interface NotebookRun {
  /** 0 = every cell ran; 1 = a cell failed; 2 = Jupyter or the kernel is missing. */
  status: number;
  /** The executed notebook (written even when a cell failed). */
  output: string;
  seconds: number;
}

/**
 * Executes `input` with the project kernel and writes the executed notebook to `output`.
 * `env` is added to this process's environment (REPRO_PRESET, REPRO_RESULTS, ...).
 * The kernel's stream output is echoed to `onOutput` (default: this process's stderr) as it arrives.
 */
export function executeNotebook(
  input: string,
  output: string,
  env: NodeJS.ProcessEnv = {},
  onOutput: (chunk: string) => void = (c) => process.stderr.write(c),
): Promise<NotebookRun> {
  const python = findJupyterPython();
  const jupyterPath = checkoutKernelPath();
  fs.mkdirSync(path.dirname(output), { recursive: true });
  const script = path.join(REPO_ROOT, 'environment', 'execute_notebook.py');
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(python, [script, input, output, '--kernel', KERNEL_NAME], {
      // This checkout's kernelspec first: the user-registered one may point at another clone's tslab.
      env: { ...process.env, ...env, JUPYTER_PATH: [jupyterPath, process.env.JUPYTER_PATH].filter(Boolean).join(path.delimiter) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (d: Buffer) => onOutput(d.toString()));
    child.stderr.on('data', (d: Buffer) => onOutput(d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ status: code ?? 1, output, seconds: (Date.now() - t0) / 1000 }));
  });
}

/** The error outputs of an executed notebook (empty when every cell ran). */
export function notebookErrors(file: string): string[] {
  const nb = JSON.parse(fs.readFileSync(file, 'utf8')) as { cells: { outputs?: { output_type: string; ename?: string; evalue?: string }[] }[] };
  const errs: string[] = [];
  nb.cells.forEach((c, i) => {
    for (const o of c.outputs ?? []) if (o.output_type === 'error') errs.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
  });
  return errs;
}
