/**
 * `npm run gpu-check -- --tiny` on webgpu (Mesa's llvmpipe here): the engine line, matmul throughput
 * and correctness, a training step of the MAE and of the LLaMA with time and memory, and a short
 * training run on Brown whose loss falls; no WebGPU validation error on the way (each one would have
 * silently zeroed a command buffer). A bad argument exits 2.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { webgpuSkipReason } from '../../backend/webgpu-probe';

const script = path.resolve(__dirname, '..', '..', '..', 'scripts', 'gpu-check.js');


describe('gpu-check --tiny', () => {
  test('runs every part on webgpu and the loss falls', (t) => {
    const why = webgpuSkipReason();
    if (why) return t.skip(why);
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-gpucheck-'));
    const env: NodeJS.ProcessEnv = { ...process.env, REPRO_DATA_CACHE: cache };
    delete env.REPRO_ENGINE; // the script picks webgpu itself
    const r = spawnSync(process.execPath, [script, '--tiny'], { env, encoding: 'utf8', timeout: 300000 });
    fs.rmSync(cache, { recursive: true, force: true });
    const out = `${r.stdout}\n${r.stderr}`;
    assert.equal(r.status, 0, out.slice(-3000));
    assert.match(out, /^engine: webgpu 4\.22\.0 · matmul webgpu-shaders .* via (opengl|vulkan)/m);
    assert.match(out, /^matmul 256³ float32: [\d.]+ ms, [\d.]+ TFLOP\/s \(relative error [\d.e+-]+ vs float64\)/m);
    assert.match(out, /^step MAE \(tiny ViT\) at batch 4: [\d.]+ ms; memory estimated [\d.]+ (MiB|GiB)/m);
    assert.match(out, /^step LLaMA \(tiny\) at batch 4×16: [\d.]+ ms/m);
    assert.match(out, /^LLaMA \(tiny\), 24 steps on Brown .* \(falls\)/m);
    assert.ok(!/^validation:/m.test(out), `a WebGPU validation error:\n${out.split('\n').filter((l) => /validation|exceeds|invalid/i.test(l)).slice(0, 5).join('\n')}`);
    const report = JSON.parse(out.split('\n').find((l) => l.startsWith('GPUCHECK '))!.slice(9));
    assert.equal(report.engine, 'webgpu');
    assert.ok(report.matmul.relError < 1e-5, `matmul relative error ${report.matmul.relError}`);
    assert.ok(report.convergence.lastLoss <= report.convergence.firstLoss - 0.3);
  });

  test('an unknown argument exits 2 with the usage', () => {
    const r = spawnSync(process.execPath, [script, '--huge'], { encoding: 'utf8', timeout: 30000 });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown argument --huge; usage: npm run gpu-check \[-- --tiny\]/);
  });
});
