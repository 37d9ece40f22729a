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
 *  5. the same model step in PyTorch on CPU with one thread, when `/usr/bin/python3 -c 'import torch'` works:
 *     as installed (Debian's libblas.so.3 alternative) and with each other BLAS installed (BLIS
 *     through LD_LIBRARY_PATH; OpenBLAS with a fast OPENBLAS_CORETYPE when its own pick is
 *     generic), each row saying which library and kernel PyTorch's sgemm ran;
 *  6. extra step rows: the ancre-lm and mae cpu configs (scripts/bench-steps.ts), each with the
 *     fused AdamW and with the per-tensor one (the code before the fused kernels);
 *  7. a per-op profile of one step of each model (lib/backend/profile.ts).
 * Every measurement runs in its own child process (engine switches are per process).
 * Writes results/bench/bench.md and bench.json ($REPRO_RESULTS/bench with that variable set); --quick writes
 * bench-quick.md / .json beside them, never over the committed measurement.
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
import { profileOps, OpProfile } from '../lib/backend/profile';
import { resultsRoot, REPO_ROOT } from '../lib/paths';
import { setFusedAdamW } from '../lib/train/adamw-fused';
import { buildStep, MODEL, ModelShape, StepModel, timeSteps } from './bench-steps';
import { runTorch, torchVariants, TorchResult } from './bench-torch';
import { Baseline, prepareBaseline } from './bench-baseline';
import { cpuFlags } from '../lib/backend/blas-select';

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
  | { kind: 'step'; model: ModelShape; warmup: number; steps: number; net?: StepModel; fused?: boolean; profile?: boolean; startAt?: number };

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
  profile?: OpProfile;
  describeStep?: string;
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
  setFusedAdamW(task.fused !== false);
  const net = buildStep(task.net ?? 'transformer', task.model);
  const r = timeSteps(net, task.warmup, task.steps, task.startAt);
  const profile = task.profile ? await profileOps(() => net.step(), { stepMs: r.cpuMs }) : undefined;
  net.dispose();
  return { ...base, value: r.ms, cpuValue: r.cpuMs, start: r.start, end: r.end, leaked: r.leaked, loss: r.loss, profile, describeStep: r.describe };
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

function runChild(cfg: Config, task: Task | Record<string, unknown>, script = __filename): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...cfg.env };
    for (const k of ['REPRO_NATIVE_MATMUL', 'REPRO_WASM_KERNELS']) if (!(k in cfg.env)) delete env[k];
    const p = spawn(process.execPath, [script, '--child', JSON.stringify(task)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('BENCH '));
      if (code !== 0 || !line) return reject(new Error(`${cfg.name} ${String((task as Record<string, unknown>).kind ?? (task as Record<string, unknown>).net)} failed (exit ${code}): ${err.trim().split('\n').slice(-3).join(' | ')}`));
      for (const l of err.split('\n')) if (l.trim()) console.log(`  [${cfg.name}] ${l}`);
      resolve(JSON.parse(line.slice(6)) as ChildResult);
    });
  });
}

const f1 = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const w = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(w[i])).join(' | ')} |`;
  return [line(header), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}

interface StepRow {
  ms: number;
  cpuMs: number;
  /** extra step rows: min and max CPU ms/step over the interleaved rounds (cpuMs is their median), and each round's */
  spread?: [number, number];
  rounds?: number[];
  steps: number;
  leaked: number;
  loss: number[];
  describe: string;
}

const stepRow = (r: ChildResult, steps: number): StepRow => ({ ms: r.value, cpuMs: r.cpuValue, steps, leaked: r.leaked ?? 0, loss: r.loss ?? [], describe: r.describeStep ?? '' });

function profileTable(p: OpProfile, top = 12): string {
  const rows = p.rows.slice(0, top).map((r) => [r.op, r.calls || '', f1(r.ms), `${(100 * r.share).toFixed(1)}%`]);
  const rest = p.rows.slice(top);
  if (rest.length) rows.push([`${rest.length} other ops`, rest.reduce((n, r) => n + r.calls, 0), f1(rest.reduce((n, r) => n + r.ms, 0)), `${(100 * rest.reduce((n, r) => n + r.share, 0)).toFixed(1)}%`]);
  return table(['op (forward and gradient kernels)', 'calls', 'ms', 'share of step'], rows);
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const bi = process.argv.indexOf('--baseline');
  const baselineRef = bi > 0 ? process.argv[bi + 1] : '';
  if (bi > 0 && !baselineRef) throw new Error('--baseline needs a commit (e.g. --baseline main)');
  const model: ModelShape = quick ? { ...MODEL, B: 16 } : MODEL;
  const flops = stepFlops(model);
  const t0 = Date.now();
  const load0 = os.loadavg()[0];
  console.log(`engine benchmark${quick ? ' (--quick: batch 16, fewer steps, no cpu step)' : ''}; model ${model.L} layers, width ${model.D}, ${model.H} heads, MLP ${model.F}, batch ${model.B} x ${model.T} tokens, causal; ${(flops / 1e9).toFixed(2)} GFLOP per training step`);
  console.log(`load average at start ${load0.toFixed(2)} on ${os.cpus().length} cores: CPU-time figures are the comparable ones when other work shares the machine`);

  // Which configurations can run here: native only when the addon loads; the BLAS it did not pick as a row of its own.
  const probe = await initEngine({ engine: 'wasm', quiet: true });
  const nativeOk = probe.engine === 'wasm' && probe.matmul.startsWith('native-blas');
  const configs = CONFIGS.filter((c) => c.name !== 'native-blas' || nativeOk);
  if (!nativeOk) console.log('native BLAS addon not available: that column is skipped (node environment/build-native.js builds it)');
  else {
    console.log(`native BLAS: ${probe.matmul.replace(/^native-blas \((.*)\)$/, '$1')}: ${probe.blas?.reason ?? ''}`);
    const other = probe.blas?.library === 'blis' ? 'openblas' : 'blis';
    configs.splice(configs.findIndex((c) => c.name === 'native-blas') + 1, 0, { name: `native-${other}`, env: { REPRO_ENGINE: 'wasm', REPRO_BLAS: other }, label: `wasm + native BLAS matmul, ${other === 'blis' ? 'BLIS' : 'OpenBLAS'} forced` });
  }

  const matmul: Record<string, { n: number; gflops: number; cpuGflops: number; describe: string; blas?: EngineInfo['blas'] }> = {};
  for (const c of [...configs]) {
    const n = c.name === 'cpu' ? 512 : 1024;
    try {
      const r = await runChild(c, { kind: 'matmul', n, reps: c.name === 'cpu' ? 2 : quick ? 3 : 8 });
      matmul[c.name] = { n, gflops: r.value, cpuGflops: r.cpuValue, describe: r.describe, blas: r.engine.blas };
      console.log(`matmul ${n}^3  ${c.name.padEnd(15)} ${f1(r.cpuValue)} GFLOP/s CPU-time (${f1(r.value)} wall)   ${r.describe}`);
    } catch (e) {
      if (!c.name.startsWith('native-') || c.name === 'native-blas') throw e;
      console.log(`matmul        ${c.name}: skipped (${(e as Error).message.slice(0, 160)})`);
      configs.splice(configs.indexOf(c), 1);
    }
  }

  const steps: Record<string, StepRow> = {};
  const profiles: Record<string, OpProfile> = {};
  for (const c of configs) {
    if (quick && c.name === 'cpu') continue;
    const slow = c.name === 'cpu' || c.name === 'wasm-stock';
    const plan = c.name === 'cpu' ? { warmup: 1, steps: 1 } : quick ? { warmup: 1, steps: 2 } : slow ? { warmup: 1, steps: 3 } : { warmup: 2, steps: 10 };
    const r = await runChild(c, { kind: 'step', model, ...plan, profile: c.name === 'native-blas' });
    steps[c.name] = stepRow(r, plan.steps);
    if (r.profile) profiles.transformer = r.profile;
    console.log(`train step    ${c.name.padEnd(15)} ${f1(r.cpuValue)} ms/step CPU (${f1(r.value)} wall) over ${plan.steps} step(s); tensors leaked: ${r.leaked}`);
  }

  // The fused AdamW against the per-tensor one (the code before it) on the benchmark model and the
  // ancre-lm and mae cpu configs, on the best configuration.
  const best = configs.find((c) => c.name === 'native-blas') ?? configs.find((c) => c.name === 'wasm-repaired')!;
  const extra: { net: StepModel; describe: string; perTensor: StepRow; fused: StepRow; baseline: StepRow | null }[] = [];
  let baseline: Baseline | null = null;
  if (baselineRef) {
    console.log(`baseline      preparing commit ${baselineRef} (git archive, its own addon, tsc) ...`);
    baseline = prepareBaseline(baselineRef);
    console.log(`baseline      ${baseline.commit} in ${baseline.dir}`);
  }
  // Rounds interleaved (before, per-tensor, now; before, per-tensor, now; ...) and the median of each: one
  // measurement of each, taken minutes apart, moved the ratio by ±30 % on a shared machine.
  const rounds = quick ? 1 : 3;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const net of ['transformer', 'ancre-lm', 'mae'] as StepModel[]) {
    const plan = quick ? { warmup: 1, steps: 2 } : { warmup: 1, steps: 5 };
    const bases: StepRow[] = [];
    const befores: ChildResult[] = [];
    const afters: ChildResult[] = [];
    for (let k = 0; k < rounds; k++) {
      const base = baseline ? await runChild(best, { net, model, ...plan }, baseline.script) : null;
      // the baseline child prints StepTiming: ms, cpuMs, leaked, loss, describe
      const b = base as unknown as { ms: number; cpuMs: number; leaked: number; loss: number[]; describe: string } | null;
      if (b) bases.push({ ms: b.ms, cpuMs: b.cpuMs, steps: plan.steps, leaked: b.leaked, loss: b.loss, describe: b.describe });
      befores.push(await runChild(best, { kind: 'step', model, net, ...plan, fused: false }));
      afters.push(await runChild(best, { kind: 'step', model, net, ...plan, profile: k === 0 && net !== 'transformer' }));
    }
    const pick = <T extends { cpuMs: number }>(rows: T[]): T & { spread?: [number, number]; rounds: number[] } => {
      const m = median(rows.map((r) => r.cpuMs));
      const row = rows.find((r) => r.cpuMs === m)!;
      const spread: [number, number] | undefined = rows.length > 1 ? [Math.min(...rows.map((r) => r.cpuMs)), Math.max(...rows.map((r) => r.cpuMs))] : undefined;
      return { ...row, ...(spread ? { spread } : {}), rounds: rows.map((r) => r.cpuMs) };
    };
    const profiled = afters.find((a) => a.profile);
    if (profiled?.profile) profiles[net] = profiled.profile;
    const before = pick(befores.map((r) => ({ ...stepRow(r, plan.steps), cpuMs: r.cpuValue })));
    const fused = pick(afters.map((r) => stepRow(r, plan.steps)));
    const baseRow = bases.length ? pick(bases) : null;
    extra.push({ net, describe: befores[0].describeStep ?? net, perTensor: before, fused, baseline: baseRow });
    const span = (r: { spread?: [number, number] }) => (r.spread ? ` [${f1(r.spread[0])}–${f1(r.spread[1])}]` : '');
    console.log(`step ${net.padEnd(12)} ${baseRow ? `${baseline!.commit} ${f1(baseRow.cpuMs)}${span(baseRow)} ms CPU, ` : ''}per-tensor AdamW ${f1(before.cpuMs)}${span(before)} ms CPU, now ${f1(fused.cpuMs)}${span(fused)} ms CPU (${((baseRow?.cpuMs ?? before.cpuMs) / fused.cpuMs).toFixed(2)}x, medians of ${rounds} interleaved rounds)   ${befores[0].describeStep}`);
  }

  // 1 vs 2 processes on the best configuration (wall-clock throughput: that is the point).
  // Both processes start timing at one agreed moment (after their start-up and warm-up): timed from their own
  // starts, a process still starting up while the other was timed made the 2-process window look longer.
  const parPlan = { kind: 'step' as const, model, warmup: 1, steps: quick ? 3 : 16 };
  const loadPar = os.loadavg()[0];
  const one = await runChild(best, parPlan);
  const startAt = Date.now() + (quick ? 8000 : 12000);
  const two = await Promise.all([runChild(best, { ...parPlan, startAt }), runChild(best, { ...parPlan, startAt })]);
  const tput1 = (parPlan.steps * 1000) / (one.end! - one.start!);
  const window = Math.max(...two.map((r) => r.end!)) - Math.min(...two.map((r) => r.start!));
  const skew = Math.max(...two.map((r) => r.start!)) - Math.min(...two.map((r) => r.start!));
  const tput2 = (2 * parPlan.steps * 1000) / window;
  console.log(`processes     ${best.name}: 1 process ${tput1.toFixed(2)} steps/s, 2 processes ${tput2.toFixed(2)} steps/s (${(tput2 / tput1).toFixed(2)}x; starts ${skew} ms apart); CPU ms/step ${f1(one.cpuValue)} vs ${two.map((r) => f1(r.cpuValue)).join(', ')}; load average ${loadPar.toFixed(2)} before`);

  // PyTorch as installed, then with each other BLAS kernel that may suit the CPU better.
  const torchPlan = [2, quick ? 3 : 10] as const;
  const torchRuns: TorchResult[] = [];
  let torchSkip = '';
  const first = runTorch(model, ...torchPlan, torchVariants('')[0]);
  if (typeof first === 'string') torchSkip = first;
  else {
    torchRuns.push(first);
    for (const v of torchVariants(first.blas.kernel).slice(1)) {
      const r = runTorch(model, ...torchPlan, v);
      if (typeof r === 'string') console.log(`pytorch       ${v.name}: ${r}`);
      else torchRuns.push(r);
    }
  }
  if (torchSkip) console.log(`pytorch       skipped: ${torchSkip}`);
  for (const t of torchRuns) console.log(`pytorch       ${t.variant.padEnd(15)} ${t.torch}, ${t.blas.library} ${t.blas.kernel}: ${f1(t.cpuMs)} ms/step CPU (${f1(t.ms)} wall); 1024^3 matmul ${f1(t.matmulGflops)} GFLOP/s`);
  const torchBest = torchRuns.length ? torchRuns.reduce((a, b) => (b.cpuMs < a.cpuMs ? b : a)) : null;
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
        torchBest ? `${(s.cpuMs / torchBest.cpuMs).toFixed(2)}x` : 'n/a',
      ];
    });
  for (const t of torchRuns) {
    rows.push([`PyTorch ${t.torch}, ${t.variant} (${t.blas.library} ${t.blas.kernel})`, `${f1(t.matmulGflops)} (1024³)`, f1(t.cpuMs), f1(t.ms), f1((tokens * 1000) / t.cpuMs), f1(flops / (t.cpuMs / 1000) / 1e9), '', stock ? `${(stock.cpuMs / t.cpuMs).toFixed(2)}x` : '', `${(t.cpuMs / torchBest!.cpuMs).toFixed(2)}x`]);
  }
  const header = ['engine configuration', 'matmul GFLOP/s', 'ms/step (CPU)', 'ms/step (wall)', 'tokens/s', 'step GFLOP/s', 'of matmul', 'vs stock', 'time vs PyTorch best'];
  const mainTable = table(header, rows);
  const fastestMatmul = Math.max(...Object.values(matmul).map((m) => m.cpuGflops), ...torchRuns.map((t) => t.matmulGflops));
  const blasRows: (string | number)[][] = Object.entries(matmul)
    .filter(([k]) => k.startsWith('native-'))
    .map(([k, m]) => [`ours: ${k}`, m.blas ? `${m.blas.label}` : '', m.blas?.kernel ?? '', f1(m.cpuGflops), `${((100 * m.cpuGflops) / fastestMatmul).toFixed(0)}%`, m.blas?.reason ?? '']);
  for (const t of torchRuns) blasRows.push([`PyTorch: ${t.variant}`, t.blas.library, t.blas.kernel, f1(t.matmulGflops), `${((100 * t.matmulGflops) / fastestMatmul).toFixed(0)}%`, `${t.how}; sgemm_ from ${t.blas.file}`]);
  const blasTable = table(['side', 'BLAS library', 'kernel', '1024³ GFLOP/s (CPU)', 'of fastest', 'why'], blasRows);
  const withSpread = (r: StepRow) => (r.spread ? `${f1(r.cpuMs)} [${f1(r.spread[0])}–${f1(r.spread[1])}]` : f1(r.cpuMs));
  const extraTable = table(
    ['step', ...(baseline ? [`ms/step CPU, commit ${baseline.commit} (before)`] : []), 'ms/step CPU, per-tensor AdamW', 'ms/step CPU, now', 'speed-up', 'tensors leaked'],
    extra.map((e) => [
      e.describe, ...(e.baseline ? [withSpread(e.baseline)] : baseline ? ['failed'] : []), withSpread(e.perTensor), withSpread(e.fused),
      `${((e.baseline?.cpuMs ?? e.perTensor.cpuMs) / e.fused.cpuMs).toFixed(2)}x`, [e.baseline?.leaked, e.perTensor.leaked, e.fused.leaked].filter((x) => x !== undefined).join(', '),
    ]),
  );
  // CPU ms per step of each process: flat from 1 to 2 processes means the processes do not slow
  // each other down (one BLAS thread each); a speed-up below 2x then means the cores were busy.
  const cpuPer = [one, ...two].map((r) => f1(r.cpuValue));
  const par = table(
    ['configuration', '1 process steps/s', '2 processes steps/s', 'speed-up', 'CPU ms/step (1 process; each of 2)', 'load average before'],
    [[best.label, tput1.toFixed(2), tput2.toFixed(2), `${(tput2 / tput1).toFixed(2)}x`, `${cpuPer[0]}; ${cpuPer[1]}, ${cpuPer[2]}`, loadPar.toFixed(2)]],
  );
  const cpuInfo = os.cpus()[0]?.model ?? 'unknown CPU';
  let commit = 'unknown';
  try {
    commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).stdout.trim() || commit;
  } catch {
    /* not a git checkout */
  }
  const profileMd = Object.entries(profiles).flatMap(([net, p]) => [
    `Per-op profile, ${extra.find((e) => e.net === net)?.describe ?? net} (${best.name}, fused AdamW; one step, ${p.kernelCalls} kernel calls; kernel CPU times from tf.profile, shares of the step's ${f1(p.totalMs)} ms CPU measured without the profiler, whose own ${f1(p.profilerMs ?? 0)} ms are left out):`,
    '',
    profileTable(p),
    '',
  ]);
  const md = [
    '# Engine benchmark',
    '',
    `Machine: ${cpuInfo}, ${os.cpus().length} cores; Node ${process.version}; commit ${commit}; ${new Date().toISOString()}${quick ? '; --quick' : ''}. Load average ${load0.toFixed(2)} at start, ${load1.toFixed(2)} at end.`,
    '',
    `Model: TransformerStack (lib/models/transformer.ts), ${model.L} pre-LN blocks, width ${model.D}, ${model.H} heads, MLP ${model.F}, causal, batch ${model.B} x ${model.T} tokens, MSE loss, AdamW (lib/train/adamw.ts); ${(flops / 1e9).toFixed(2)} GFLOP per step (matmul FLOPs; step = 3 x forward). PyTorch: the same architecture and optimiser, \`torch.set_num_threads(1)\`.`,
    '',
    'Times are per process CPU time (user + system; every configuration computes on one thread), because the machine is shared and wall time includes waiting for other work; wall time is shown beside it. GFLOP/s, tokens/s and all ratios use CPU time. "of matmul": the step\'s GFLOP/s over the same engine\'s large-matmul GFLOP/s. "vs stock": speed-up over the stock wasm kernels. "time vs PyTorch best": step time over the fastest PyTorch row (lower is better).',
    '',
    mainTable,
    '',
    'BLAS library and kernel of each side (1024³ sgemm, one thread; "of fastest": over the fastest 1024³ figure of this run, either side):',
    '',
    blasTable,
    '',
    `Extra step rows (${best.name}): ${baseline ? `commit ${baseline.commit} (before the fused kernels, built in a copy of that commit in this run), ` : ''}today's code with the per-tensor AdamW (the fused norms, GELU, cross-entropy and copy kernels on), and today's code; each the median of ${rounds} rounds run interleaved (before, per-tensor, now, before, …), [min–max] over the rounds; "speed-up": ${baseline ? 'before' : 'per-tensor AdamW'} over now, medians:`,
    '',
    extraTable,
    '',
    ...profileMd,
    `Sweep throughput (wall clock): the same step in 1 process, then in 2 processes at once, both timing ${parPlan.steps} steps from one agreed moment after their start-up (starts ${skew} ms apart). It can only reach 2x when two cores are free (load average ${loadPar.toFixed(1)} just before); the CPU time per step shows whether the processes slow each other.`,
    '',
    par,
    '',
    `Engines: ${configs.map((c) => `${c.name}: ${matmul[c.name].describe}`).join('; ')}.`,
    torchSkip ? `PyTorch: ${torchSkip}.` : '',
    `All figures from one run of \`npm run bench${quick ? ' -- --quick' : ''}\`, ${((Date.now() - t0) / 1000).toFixed(0)} s.`,
    '',
  ].join('\n');
  console.log('\n' + mainTable + '\n\n' + blasTable + '\n\n' + extraTable + '\n\n' + par + '\n');
  const dir = path.join(resultsRoot(), 'bench');
  fs.mkdirSync(dir, { recursive: true });
  // --quick is a smoke check, not a measurement: it never replaces the committed bench.md / bench.json.
  const stem = quick ? 'bench-quick' : 'bench';
  fs.writeFileSync(path.join(dir, `${stem}.md`), md);
  const json = {
    quick, machine: { cpu: cpuInfo, cores: os.cpus().length, node: process.version, loadavg: [load0, load1], loadavgBeforeProcesses: loadPar, cpuFlags: cpuFlags().filter((f) => /^(avx|fma|sse4)/.test(f)) },
    commit, date: new Date().toISOString(), model, stepGflop: flops / 1e9,
    blas: { ours: probe.blas ?? null, torch: torchRuns.map((t) => ({ variant: t.variant, how: t.how, ...t.blas })) },
    matmul, steps, extraSteps: extra, baseline: baseline ? { commit: baseline.commit } : null, profile: profiles,
    processes: { config: best.name, steps: parPlan.steps, one: tput1, two: tput2, startSkewMs: skew, cpuMsPerStep: [one, ...two].map((r) => r.cpuValue) },
    torch: torchRuns.length ? torchRuns : torchSkip, torchBest: torchBest?.variant ?? null,
  };
  fs.writeFileSync(path.join(dir, `${stem}.json`), JSON.stringify(json, null, 2) + '\n');
  console.log(`wrote ${path.relative(REPO_ROOT, path.join(dir, `${stem}.md`))} and ${stem}.json`);
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
