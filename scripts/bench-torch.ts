/**
 * PyTorch's side of `npm run bench`: the benchmark model's training step (the same architecture,
 * optimiser and clipping as scripts/bench-steps.ts 'transformer') in Debian's python3-torch on one
 * thread, and which BLAS library and kernel its sgemm ran (found with dlsym from libtorch_cpu and
 * dladdr, then openblas_get_corename / bli_arch_string on that library).
 *
 * Variants: as installed (Debian's libblas.so.3 alternative: OpenBLAS), with BLIS
 * (LD_LIBRARY_PATH to BLIS's libblas.so.3) when installed, and, when OpenBLAS's own pick is a
 * generic kernel on an AVX2/FMA CPU and the user set no OPENBLAS_CORETYPE, OpenBLAS with a fast
 * kernel forced for this child only. "PyTorch at its best" is the fastest of them.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cpuFlags, cpuHasFma, OPENBLAS_FAST_KERNELS } from '../lib/backend/blas-select';
import type { ModelShape } from './bench-steps';

export const TORCH_SCRIPT = String.raw`
import ctypes, json, math, sys, time
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
def blas():
    class DlInfo(ctypes.Structure):
        _fields_ = [('fname', ctypes.c_char_p), ('fbase', ctypes.c_void_p), ('sname', ctypes.c_char_p), ('saddr', ctypes.c_void_p)]
    try:
        import os.path
        lib = ctypes.CDLL(os.path.join(os.path.dirname(torch.__file__), 'lib', 'libtorch_cpu.so'))
        addr = ctypes.cast(lib.sgemm_, ctypes.c_void_p)
        info = DlInfo()
        libc = ctypes.CDLL(None)
        if not libc.dladdr(addr, ctypes.byref(info)): return {'library': 'unknown', 'kernel': '', 'file': ''}
        fname = info.fname.decode()
        b = ctypes.CDLL(fname)
        try:
            f = b.openblas_get_corename; f.restype = ctypes.c_char_p
            return {'library': 'OpenBLAS', 'kernel': f().decode(), 'file': os.path.realpath(fname)}
        except AttributeError: pass
        def blis_arch(l):
            q = l.bli_arch_query_id; q.restype = ctypes.c_int
            s = l.bli_arch_string; s.restype = ctypes.c_char_p; s.argtypes = [ctypes.c_int]
            return s(q()).decode()
        try: return {'library': 'BLIS', 'kernel': blis_arch(b), 'file': os.path.realpath(fname)}
        except AttributeError: pass
        # Debian's BLIS libblas.so.3 hides BLIS's own symbols; its sibling libblis.so.4 is the same build and picks the same kernel
        sib = os.path.join(os.path.dirname(os.path.realpath(fname)), 'libblis.so.4')
        if 'blis' in os.path.realpath(fname) and os.path.exists(sib):
            return {'library': 'BLIS', 'kernel': blis_arch(ctypes.CDLL(sib)) + ' (queried from its libblis.so.4)', 'file': os.path.realpath(fname)}
        return {'library': 'other', 'kernel': '', 'file': os.path.realpath(fname)}
    except Exception as e:
        return {'library': 'unknown', 'kernel': '', 'file': str(e)}
a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
a @ b
c0 = time.process_time()
for _ in range(4): a @ b
mm = 2 * 1024 ** 3 * 4 / (time.process_time() - c0) / 1e9
for _ in range(warmup): step()
t0, c0 = time.perf_counter(), time.process_time()
for _ in range(steps): step()
ms = (time.perf_counter() - t0) / steps * 1000
cpu_ms = (time.process_time() - c0) / steps * 1000
print('BENCH ' + json.dumps({'ms': ms, 'cpuMs': cpu_ms, 'torch': torch.__version__, 'threads': torch.get_num_threads(), 'blas': blas(), 'matmulGflops': mm}))
`;

export interface TorchVariant {
  name: string;
  /** what this variant changes, in words */
  how: string;
  env: Record<string, string>;
}

export interface TorchResult {
  variant: string;
  how: string;
  ms: number;
  cpuMs: number;
  torch: string;
  threads: number;
  blas: { library: string; kernel: string; file: string };
  /** 1024³ torch.matmul, GFLOP/s of CPU time */
  matmulGflops: number;
}

const PY = '/usr/bin/python3';
const BLIS_DIRS = ['/usr/lib/x86_64-linux-gnu/blis-pthread', '/usr/lib/aarch64-linux-gnu/blis-pthread', '/usr/lib/x86_64-linux-gnu/blis-openmp'];

/** The variants worth running here (`asInstalledKernel`: what OpenBLAS picked in PyTorch's process). */
export function torchVariants(asInstalledKernel: string): TorchVariant[] {
  const v: TorchVariant[] = [{ name: 'as-installed', how: "as installed (Debian's libblas.so.3 alternative)", env: {} }];
  const blis = BLIS_DIRS.find((d) => fs.existsSync(path.join(d, 'libblas.so.3')));
  if (blis) v.push({ name: 'blis', how: `BLIS through LD_LIBRARY_PATH=${blis}`, env: { LD_LIBRARY_PATH: [blis, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') } });
  const flags = cpuFlags();
  if (!process.env.OPENBLAS_CORETYPE && asInstalledKernel && cpuHasFma(flags) && !OPENBLAS_FAST_KERNELS.includes(asInstalledKernel)) {
    const core = flags.includes('avx512f') ? 'SkylakeX' : 'Haswell';
    v.push({ name: `openblas-${core}`, how: `OpenBLAS with OPENBLAS_CORETYPE=${core} (its pick, ${asInstalledKernel}, is generic)`, env: { OPENBLAS_CORETYPE: core } });
  }
  return v;
}

/** Runs one variant; a string says why it did not run. */
export function runTorch(m: ModelShape, warmup: number, steps: number, variant: TorchVariant): TorchResult | string {
  if (!fs.existsSync(PY)) return 'no /usr/bin/python3';
  const probe = spawnSync(PY, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return 'PyTorch not installed (apt-get install python3-torch)';
  const file = path.join(os.tmpdir(), `repro-bench-torch-${process.pid}.py`);
  fs.writeFileSync(file, TORCH_SCRIPT);
  const env = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: process.env.OPENBLAS_NUM_THREADS ?? '1', MKL_NUM_THREADS: '1', BLIS_NUM_THREADS: '1', ...variant.env };
  const r = spawnSync(PY, [file, ...[m.B, m.T, m.D, m.H, m.F, m.L, warmup, steps].map(String)], { encoding: 'utf8', env, timeout: 600000 });
  fs.rmSync(file, { force: true });
  const line = (r.stdout || '').split('\n').find((l) => l.startsWith('BENCH '));
  if (r.status !== 0 || !line) return `PyTorch run failed: ${(r.stderr || '').trim().split('\n').slice(-1)[0]}`;
  return { variant: variant.name, how: variant.how, ...JSON.parse(line.slice(6)) };
}
