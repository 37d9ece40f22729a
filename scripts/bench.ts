/**
 * The engine benchmark (`npm run bench`, `npm run bench -- --quick`).
 *
 * Measures, all in one run so the ratios share the machine's state:
 *  1. large-matmul GFLOP/s per engine configuration (1024³; 512³ on the pure-JS engine);
 *  2. the training step of a pre-LN transformer block stack (lib/models/transformer.ts
 *     TransformerStack: 4 layers, width 128, 4 heads, MLP 512, causal attention, batch 64 × 50
 *     tokens, MSE loss, the project's AdamW) per configuration: stock wasm kernels, repaired wasm
 *     kernels, native BLAS matmul, pure-JS cpu;
 *  3. achieved GFLOP/s of that step from an analytic FLOP count, and its ratio to the same
 *     engine's large-matmul GFLOP/s;
 *  4. throughput of 1 process vs 2 processes running the step at once (the sweep runner's case);
 *  5. the same model step in PyTorch on CPU with one thread, when `/usr/bin/python3 -c 'import torch'` works.
 * Every measurement runs in its own child process (engine switches are per process).
 * Writes results/bench/bench.md and bench.json ($REPRO_RESULTS/bench with that variable set).
 *
 * FLOP count: matmul FLOPs only (2·m·n·k each), forward F per layer with N = B·T rows:
 *   qkv 2·N·D·3D + scores 2·B·H·T²·Dh + attn·v 2·B·H·T²·Dh + proj 2·N·D·D + fc1 2·N·D·F + fc2 2·N·F·D,
 * and a training step = 3 × forward (the backward pass takes two matmuls per forward matmul).
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { describeEngine, initEngine, EngineInfo } from '../lib/backend';
import { resultsRoot, REPO_ROOT } from '../lib/paths';
import { TransformerStack, TRANSFORMER_DEFAULTS, TransformerStackConfig } from '../lib/models/transformer';
import { AdamW, ADAMW_DEFAULTS } from '../lib/train/adamw';

interface ModelShape {
  B: number;
  T: number;
  D: number;
  H: number;
  F: number;
  L: number;
}

const MODEL: ModelShape = { B: 64, T: 50, D: 128, H: 4, F: 512, L: 4 };

function stepFlops(m: ModelShape): number {
  const N = m.B * m.T;
  const Dh = m.D / m.H;
  const fwd = 2 * N * m.D * 3 * m.D + 2 * 2 * m.B * m.H * m.T * m.T * Dh + 2 * N * m.D * m.D + 2 * 2 * N * m.D * m.F;
  return 3 * fwd * m.L;
}

// ---------------------------------------------------------------------------------------------
// Child side: one measurement in this process's engine configuration
// ---------------------------------------------------------------------------------------------

type Task =
  | { kind: 'matmul'; n: number; reps: number }
  | { kind: 'step'; model: ModelShape; warmup: number; steps: number };

interface ChildResult {
  engine: EngineInfo;
  describe: string;
  /** matmul: GFLOP/s; step: ms per step (wall clock) */
  value: number;
  /** the same from this process's CPU time (user + system): robust to other load on a shared machine */
  cpuValue: number;
  /** step: epoch ms of the timed window, for the 2-process overlap */
  start?: number;
  end?: number;
  leaked?: number;
  loss?: number[];
}

async function child(task: Task): Promise<ChildResult> {
  const engine = await initEngine({ quiet: false });
  const base = { engine, describe: describeEngine(engine) };
  if (task.kind === 'matmul') {
    const a = tf.randomNormal([task.n, task.n], 0, 1, 'float32', 1);
    const b = tf.randomNormal([task.n, task.n], 0, 1, 'float32', 2);
    tf.matMul(a, b).dispose(); // warm-up (XNNPACK packs weights on first use of b)
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < task.reps; i++) {
      const c = tf.matMul(a, b);
      c.dataSync();
      c.dispose();
    }
    const s = (performance.now() - t0) / 1000;
    const cu = process.cpuUsage(c0);
    const cs = (cu.user + cu.system) / 1e6;
    return { ...base, value: (2 * task.n ** 3 * task.reps) / s / 1e9, cpuValue: (2 * task.n ** 3 * task.reps) / cs / 1e9 };
  }
  const m = task.model;
  const config: TransformerStackConfig = {
    ...TRANSFORMER_DEFAULTS,
    width: m.D,
    depth: m.L,
    heads: m.H,
    mlpHidden: m.F,
    causal: true,
    zeroInitBranches: false,
    wiring: { kind: 'residual' },
    seed: 1,
  };
  const stack = new TransformerStack(config, 'bench');
  const params = stack.params();
  const opt = new AdamW(params, ADAMW_DEFAULTS);
  const x = tf.randomNormal([m.B, m.T, m.D], 0, 1, 'float32', 3);
  const y = tf.randomNormal([m.B, m.T, m.D], 0, 1, 'float32', 4);
  const vars = params.map((p) => p.variable);
  const loss: number[] = [];
  const step = () => {
    const { value, grads } = tf.variableGrads(
      () => tf.tidy(() => tf.mean(tf.square(tf.sub(stack.forward(x).out, y)))) as tf.Scalar,
      vars,
    );
    opt.step(grads, 1e-3);
    loss.push(value.dataSync()[0]);
    value.dispose();
    tf.dispose(grads);
  };
  // the first step fills per-model caches (causal masks): count tensors from the second step on
  for (let i = 0; i < Math.max(1, task.warmup); i++) step();
  const before = tf.memory().numTensors;
  const start = Date.now();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < task.steps; i++) step();
  const ms = (performance.now() - t0) / task.steps;
  const cu = process.cpuUsage(c0);
  const end = Date.now();
  return { ...base, value: ms, cpuValue: (cu.user + cu.system) / 1000 / task.steps, start, end, leaked: tf.memory().numTensors - before, loss };
}

// ---------------------------------------------------------------------------------------------
// Parent side
// ---------------------------------------------------------------------------------------------

interface Config {
  name: string;
  env: Record<string, string>;
  label: string;
}

const CONFIGS: Config[] = [
  { name: 'wasm-stock', env: { REPRO_ENGINE: 'wasm', REPRO_WASM_KERNELS: 'stock' }, label: 'wasm, stock tfjs kernels' },
  { name: 'wasm-repaired', env: { REPRO_ENGINE: 'wasm', REPRO_NATIVE_MATMUL: '0' }, label: 'wasm, repaired kernels' },
  { name: 'native-blas', env: { REPRO_ENGINE: 'wasm' }, label: 'wasm + native BLAS matmul' },
  { name: 'cpu', env: { REPRO_ENGINE: 'cpu' }, label: 'pure-JS cpu' },
];

function runChild(cfg: Config, task: Task): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...cfg.env };
    for (const k of ['REPRO_NATIVE_MATMUL', 'REPRO_WASM_KERNELS']) if (!(k in cfg.env)) delete env[k];
    const p = spawn(process.execPath, [__filename, '--child', JSON.stringify(task)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('BENCH '));
      if (code !== 0 || !line) return reject(new Error(`${cfg.name} ${task.kind} failed (exit ${code}): ${err.trim().split('\n').slice(-3).join(' | ')}`));
      for (const l of err.split('\n')) if (l.trim()) console.log(`  [${cfg.name}] ${l}`);
      resolve(JSON.parse(line.slice(6)) as ChildResult);
    });
  });
}

const TORCH_SCRIPT = String.raw`
import json, math, sys, time
import torch, torch.nn as nn, torch.nn.functional as Fn
torch.set_num_threads(1)
torch.manual_seed(0)
B, T, D, H, F, L, warmup, steps = (int(v) for v in sys.argv[1:9])
Dh = D // H
class Block(nn.Module):
    def __init__(s):
        super().__init__()
        s.n1, s.n2 = nn.LayerNorm(D, eps=1e-6), nn.LayerNorm(D, eps=1e-6)
        s.qkv, s.proj = nn.Linear(D, 3 * D), nn.Linear(D, D)
        s.fc1, s.fc2 = nn.Linear(D, F), nn.Linear(F, D)
    def forward(s, x, mask):
        q, k, v = s.qkv(s.n1(x)).reshape(B, T, 3, H, Dh).permute(2, 0, 3, 1, 4)
        a = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(Dh) + mask, dim=-1)
        x = x + s.proj((a @ v).transpose(1, 2).reshape(B, T, D))
        return x + s.fc2(Fn.gelu(s.fc1(s.n2(x)), approximate='tanh'))
blocks = nn.ModuleList([Block() for _ in range(L)])
mask = torch.triu(torch.full((T, T), -1e9), diagonal=1)
opt = torch.optim.AdamW(blocks.parameters(), lr=1e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.05)
x, y = torch.randn(B, T, D), torch.randn(B, T, D)
def step():
    h = x
    for b in blocks: h = b(h, mask)
    loss = ((h - y) ** 2).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(blocks.parameters(), 1.0)
    opt.step()
    return loss.item()
for _ in range(warmup): step()
t0, c0 = time.perf_counter(), time.process_time()
for _ in range(steps): step()
ms = (time.perf_counter() - t0) / steps * 1000
cpu_ms = (time.process_time() - c0) / steps * 1000
print('BENCH ' + json.dumps({'ms': ms, 'cpuMs': cpu_ms, 'torch': torch.__version__, 'threads': torch.get_num_threads()}))
`;

function runTorch(m: ModelShape, warmup: number, steps: number): { ms: number; cpuMs: number; torch: string; threads: number } | string {
  const py = '/usr/bin/python3';
  if (!fs.existsSync(py)) return 'no /usr/bin/python3';
  const probe = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return 'PyTorch not installed (apt-get install python3-torch)';
  const file = path.join(os.tmpdir(), `repro-bench-torch-${process.pid}.py`);
  fs.writeFileSync(file, TORCH_SCRIPT);
  const env = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  const r = spawnSync(py, [file, ...[m.B, m.T, m.D, m.H, m.F, m.L, warmup, steps].map(String)], { encoding: 'utf8', env, timeout: 600000 });
  fs.rmSync(file, { force: true });
  const line = (r.stdout || '').split('\n').find((l) => l.startsWith('BENCH '));
  if (r.status !== 0 || !line) return `PyTorch run failed: ${(r.stderr || '').trim().split('\n').slice(-1)[0]}`;
  return JSON.parse(line.slice(6));
}

const f1 = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const w = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(w[i])).join(' | ')} |`;
  return [line(header), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const model: ModelShape = quick ? { ...MODEL, B: 16 } : MODEL;
  const flops = stepFlops(model);
  const t0 = Date.now();
  const load0 = os.loadavg()[0];
  console.log(`engine benchmark${quick ? ' (--quick: batch 16, fewer steps, no cpu step)' : ''}; model ${model.L} layers, width ${model.D}, ${model.H} heads, MLP ${model.F}, batch ${model.B} x ${model.T} tokens, causal; ${(flops / 1e9).toFixed(2)} GFLOP per training step`);
  console.log(`load average at start ${load0.toFixed(2)} on ${os.cpus().length} cores: CPU-time figures are the comparable ones when other work shares the machine`);

  // Which configurations can run here: native only when the addon loads.
  const probe = await initEngine({ engine: 'wasm', quiet: true });
  const nativeOk = probe.engine === 'wasm' && probe.matmul.startsWith('native-blas');
  const configs = CONFIGS.filter((c) => c.name !== 'native-blas' || nativeOk);
  if (!nativeOk) console.log('native BLAS addon not available: that column is skipped (node environment/build-native.js builds it)');

  const matmul: Record<string, { n: number; gflops: number; cpuGflops: number; describe: string }> = {};
  for (const c of configs) {
    const n = c.name === 'cpu' ? 512 : 1024;
    const r = await runChild(c, { kind: 'matmul', n, reps: c.name === 'cpu' ? 2 : quick ? 3 : 8 });
    matmul[c.name] = { n, gflops: r.value, cpuGflops: r.cpuValue, describe: r.describe };
    console.log(`matmul ${n}^3  ${c.name.padEnd(14)} ${f1(r.cpuValue)} GFLOP/s CPU-time (${f1(r.value)} wall)   ${r.describe}`);
  }

  const steps: Record<string, { ms: number; cpuMs: number; steps: number; leaked: number; loss: number[] }> = {};
  for (const c of configs) {
    if (quick && c.name === 'cpu') continue;
    const slow = c.name === 'cpu' || c.name === 'wasm-stock';
    const plan = c.name === 'cpu' ? { warmup: 1, steps: 1 } : quick ? { warmup: 1, steps: 2 } : slow ? { warmup: 1, steps: 3 } : { warmup: 2, steps: 10 };
    const r = await runChild(c, { kind: 'step', model, ...plan });
    steps[c.name] = { ms: r.value, cpuMs: r.cpuValue, steps: plan.steps, leaked: r.leaked ?? 0, loss: r.loss ?? [] };
    console.log(`train step    ${c.name.padEnd(14)} ${f1(r.cpuValue)} ms/step CPU (${f1(r.value)} wall) over ${plan.steps} step(s); tensors leaked: ${r.leaked}`);
  }

  // 1 vs 2 processes on the best configuration (wall-clock throughput: that is the point).
  const best = configs.find((c) => c.name === 'native-blas') ?? configs.find((c) => c.name === 'wasm-repaired')!;
  const parPlan = { kind: 'step' as const, model, warmup: 1, steps: quick ? 3 : 8 };
  const one = await runChild(best, parPlan);
  const two = await Promise.all([runChild(best, parPlan), runChild(best, parPlan)]);
  const tput1 = (parPlan.steps * 1000) / (one.end! - one.start!);
  const window = Math.max(...two.map((r) => r.end!)) - Math.min(...two.map((r) => r.start!));
  const tput2 = (2 * parPlan.steps * 1000) / window;
  console.log(`processes     ${best.name}: 1 process ${tput1.toFixed(2)} steps/s, 2 processes ${tput2.toFixed(2)} steps/s (${(tput2 / tput1).toFixed(2)}x); CPU ms/step ${f1(one.cpuValue)} vs ${two.map((r) => f1(r.cpuValue)).join(', ')}`);

  const torch = runTorch(model, 2, quick ? 3 : 10);
  if (typeof torch === 'string') console.log(`pytorch       skipped: ${torch}`);
  else console.log(`pytorch       ${torch.torch} CPU, ${torch.threads} thread: ${f1(torch.cpuMs)} ms/step CPU (${f1(torch.ms)} wall)`);
  const load1 = os.loadavg()[0];

  // ---- tables ----
  const tokens = model.B * model.T;
  const stock = steps['wasm-stock'];
  const rows = configs
    .filter((c) => steps[c.name])
    .map((c) => {
      const s = steps[c.name];
      const g = flops / (s.cpuMs / 1000) / 1e9;
      return [
        c.label,
        `${f1(matmul[c.name].cpuGflops)} (${matmul[c.name].n}³)`,
        f1(s.cpuMs),
        f1(s.ms),
        f1((tokens * 1000) / s.cpuMs),
        f1(g),
        `${((100 * g) / matmul[c.name].cpuGflops).toFixed(0)}%`,
        stock ? `${(stock.cpuMs / s.cpuMs).toFixed(2)}x` : 'n/a',
        typeof torch === 'string' ? 'n/a' : `${(s.cpuMs / torch.cpuMs).toFixed(2)}x`,
      ];
    });
  if (typeof torch !== 'string') {
    rows.push([`PyTorch ${torch.torch} CPU, 1 thread`, '', f1(torch.cpuMs), f1(torch.ms), f1((tokens * 1000) / torch.cpuMs), f1(flops / (torch.cpuMs / 1000) / 1e9), '', stock ? `${(stock.cpuMs / torch.cpuMs).toFixed(2)}x` : '', '1.00x']);
  }
  const header = ['engine configuration', 'matmul GFLOP/s', 'ms/step (CPU)', 'ms/step (wall)', 'tokens/s', 'step GFLOP/s', 'of matmul', 'vs stock', 'time vs PyTorch'];
  const mainTable = table(header, rows);
  // CPU ms per step of each process: flat from 1 to 2 processes means the processes do not slow
  // each other down (one BLAS thread each); a speed-up below 2x then means the cores were busy.
  const cpuPer = [one, ...two].map((r) => f1(r.cpuValue));
  const par = table(
    ['configuration', '1 process steps/s', '2 processes steps/s', 'speed-up', 'CPU ms/step (1 process; each of 2)'],
    [[best.label, tput1.toFixed(2), tput2.toFixed(2), `${(tput2 / tput1).toFixed(2)}x`, `${cpuPer[0]}; ${cpuPer[1]}, ${cpuPer[2]}`]],
  );
  const cpuInfo = os.cpus()[0]?.model ?? 'unknown CPU';
  let commit = 'unknown';
  try {
    commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).stdout.trim() || commit;
  } catch {
    /* not a git checkout */
  }
  const md = [
    '# Engine benchmark',
    '',
    `Machine: ${cpuInfo}, ${os.cpus().length} cores; Node ${process.version}; commit ${commit}; ${new Date().toISOString()}${quick ? '; --quick' : ''}. Load average ${load0.toFixed(2)} at start, ${load1.toFixed(2)} at end.`,
    '',
    `Model: TransformerStack (lib/models/transformer.ts), ${model.L} pre-LN blocks, width ${model.D}, ${model.H} heads, MLP ${model.F}, causal, batch ${model.B} x ${model.T} tokens, MSE loss, AdamW (lib/train/adamw.ts); ${(flops / 1e9).toFixed(2)} GFLOP per step (matmul FLOPs; step = 3 x forward). PyTorch: the same architecture and optimiser, \`torch.set_num_threads(1)\`.`,
    '',
    'Times are per process CPU time (user + system; every configuration computes on one thread), because the machine is shared and wall time includes waiting for other work; wall time is shown beside it. GFLOP/s, tokens/s and all ratios use CPU time. "of matmul": the step\'s GFLOP/s over the same engine\'s large-matmul GFLOP/s. "vs stock": speed-up over the stock wasm kernels. "time vs PyTorch": our step time over PyTorch\'s (lower is better).',
    '',
    mainTable,
    '',
    `Sweep throughput (wall clock): the same step in 1 process, then in 2 processes at once. It can only reach 2x when two cores are free (load average ${load0.toFixed(1)} at the start of this run); the CPU time per step shows whether the processes slow each other.`,
    '',
    par,
    '',
    `Engines: ${configs.map((c) => `${c.name}: ${matmul[c.name].describe}`).join('; ')}.`,
    typeof torch === 'string' ? `PyTorch: ${torch}.` : '',
    `All figures from one run of \`npm run bench${quick ? ' -- --quick' : ''}\`, ${((Date.now() - t0) / 1000).toFixed(0)} s.`,
    '',
  ].join('\n');
  console.log('\n' + mainTable + '\n\n' + par + '\n');
  const dir = path.join(resultsRoot(), 'bench');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'bench.md'), md);
  fs.writeFileSync(
    path.join(dir, 'bench.json'),
    JSON.stringify({ quick, machine: { cpu: cpuInfo, cores: os.cpus().length, node: process.version, loadavg: [load0, load1] }, commit, date: new Date().toISOString(), model, stepGflop: flops / 1e9, matmul, steps, processes: { config: best.name, steps: parPlan.steps, one: tput1, two: tput2, cpuMsPerStep: [one, ...two].map((r) => r.cpuValue) }, torch }, null, 2) + '\n',
  );
  console.log(`wrote ${path.relative(REPO_ROOT, path.join(dir, 'bench.md'))} and bench.json`);
}

if (process.argv[2] === '--child') {
  child(JSON.parse(process.argv[3]) as Task).then(
    (r) => process.stdout.write(`BENCH ${JSON.stringify(r)}\n`),
    (e) => {
      console.error(e instanceof Error ? e.stack : e);
      process.exit(1);
    },
  );
} else {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
