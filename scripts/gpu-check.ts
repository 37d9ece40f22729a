/**
 * The GPU check in one command (lib/studies/setup-check/gpu-check.ts holds the logic):
 *
 *   npm run gpu-check              on a GPU machine: the engine line, matmul TFLOP/s, a training step of
 *                                  ViT-B/16 MAE at batch 64 and of LLaMA-60M at 64 × 256 (time, memory),
 *                                  300 steps of LLaMA-60M on the Brown corpus whose loss must fall (< 8 min)
 *   npm run gpu-check -- --tiny    the same at sizes Mesa's llvmpipe runs in under a minute (the test)
 *
 * Uses REPRO_ENGINE=webgpu unless REPRO_ENGINE is set. Prints one line per part, then
 * `GPUCHECK {json}`; exits 1 when the loss does not fall, 2 on bad arguments.
 */
import { gpuCheck } from '../lib/studies/setup-check/gpu-check';

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== '--tiny');
  if (unknown.length) {
    console.error(`unknown argument ${unknown[0]}; usage: npm run gpu-check [-- --tiny]`);
    return 2;
  }
  if (!process.env.REPRO_ENGINE) process.env.REPRO_ENGINE = 'webgpu';
  const report = await gpuCheck({ tiny: args.includes('--tiny'), log: (l) => console.log(l) });
  if (report.info.adapter?.software && !args.includes('--tiny')) console.log('WARNING: a software adapter (no GPU visible): these are not GPU numbers');
  if (report.engine !== 'webgpu' && report.engine !== 'tfjs-node-gpu') console.log(`WARNING: the engine is ${report.engine}, not a GPU engine`);
  console.log(`GPUCHECK ${JSON.stringify({ ...report, info: undefined })}`);
  console.log(`gpu-check: ${report.convergence.fell ? 'passed' : 'FAILED (the loss did not fall)'} in ${report.seconds.toFixed(0)} s`);
  return report.convergence.fell ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`${(e as Error).name}: ${(e as Error).message}`);
    process.exit(1);
  },
);
