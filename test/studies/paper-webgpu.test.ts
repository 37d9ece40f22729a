/**
 * The `paper` presets of mae-sweep and ancre-lm take real training steps on the webgpu engine
 * (Mesa's llvmpipe where there is no GPU) through the real readers, on fixtures this test writes:
 * an ImageNet-style folder of JPEGs (sharp), C4 json.gz shards (zlib) and a T5-shaped tokenizer.json.
 * The models are overridden to tiny sizes; everything else is the paper preset's code path (the
 * ImageNet run with RandomResizedCrop + flip in a worker pool, gradient accumulation, the memory check,
 * kNN on val; C4 one document per row with pads masked, the pretrained tokenizer, perplexity).
 * Runs in a child process with REPRO_ENGINE=webgpu, whatever engine this pass uses.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { webgpuSkipReason } from '../backend/webgpu-probe';
import * as zlib from 'zlib';
import { tinyT5Json } from '../data/fixtures';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const sharp = require('sharp');
const lib = path.resolve(__dirname, '..', '..', 'lib');
let dir = '';


before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-paper-'));
  // ImageNet-style: 2 classes × 6 train images, 2 × 2 val; class 1 bluer than class 0
  for (const [split, per] of [['train', 6], ['val', 2]] as const) {
    for (const [k, c] of ['n01440764', 'n01443537'].entries()) {
      const d = path.join(dir, 'imagenet', split, c);
      fs.mkdirSync(d, { recursive: true });
      for (let i = 0; i < per; i++) {
        const w = 48 + 8 * i;
        const h = 40 + 4 * k;
        const px = Buffer.alloc(w * h * 3);
        for (let p = 0; p < w * h; p++) px.set(k ? [20, 40 + ((p * 7) % 60), 200] : [200, 40 + ((p * 5) % 80), 30], p * 3);
        await sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg().toFile(path.join(d, `${c}_${i}.JPEG`));
      }
    }
  }
  // C4: 8 training documents, 2 validation documents, a T5-shaped tokenizer
  const words = ['the', 'cat', 'sat', 'on', 'mat', 'a', 'dog', 'ran'];
  const doc = (n: number, s: number) => ({ text: Array.from({ length: n }, (_, i) => words[(i * 3 + s) % words.length]).join(' '), timestamp: '2019', url: 'u' });
  fs.mkdirSync(path.join(dir, 'c4'));
  const gz = (f: string, docs: object[]) => fs.writeFileSync(path.join(dir, 'c4', f), zlib.gzipSync(docs.map((d) => JSON.stringify(d)).join('\n') + '\n'));
  gz('c4-train.00000-of-01024.json.gz', Array.from({ length: 8 }, (_, i) => doc(5 + 3 * i, i)));
  gz('c4-validation.00000-of-00008.json.gz', [doc(40, 1), doc(30, 2)]);
  fs.writeFileSync(path.join(dir, 'c4', 'tokenizer.json'), tinyT5Json());
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs the first run of `experiment`'s paper preset with `overrides` in a webgpu child; returns its result. */
function paperRun(experiment: string, overrides: object, row = 0): { engine: string; software: boolean; metrics: Record<string, number>; history: Record<string, number[]>; lines: string[] } {
  const script = `
    const { initEngine } = require(${JSON.stringify(path.join(lib, 'backend'))});
    const { mergeChecked } = require(${JSON.stringify(path.join(lib, 'config'))});
    const { experiment } = require(${JSON.stringify(path.join(lib, 'studies', experiment))});
    (async () => {
      const info = await initEngine({ quiet: true });
      const c = mergeChecked(mergeChecked(experiment.defaults, experiment.presets.paper, 'paper'), ${JSON.stringify(overrides)}, 'test overrides');
      experiment.validate(c);
      const spec = experiment.runs(c)[${row}];
      const ck = require('fs').mkdtempSync(require('path').join(require('os').tmpdir(), 'repro-paper-ck-'));
      const r = await experiment.runOne(spec, { preset: 'paper', runId: 'paper-test', checkpointDir: ck, progress: () => {}, log: () => {} });
      process.stdout.write('RESULT ' + JSON.stringify({ engine: info.engine, software: !!(info.adapter && info.adapter.software), metrics: r.metrics, history: r.history }) + '\\n');
    })().catch((e) => { console.error(e.name + ': ' + e.message); process.exit(3); });`;
  const r = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, REPRO_ENGINE: 'webgpu', REPRO_DATA_CACHE: path.join(dir, 'cache') }, encoding: 'utf8', timeout: 240000 });
  const lines = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.trim());
  const res = lines.find((l) => l.startsWith('RESULT '));
  assert.ok(res, `no result (exit ${r.status}):\n${lines.filter((l) => !/^Warning: maxDynamic/.test(l)).join('\n')}`);
  return { ...JSON.parse(res!.slice(7)), lines };
}

describe('paper presets on webgpu through the real readers (tiny sizes)', () => {
  test('mae-sweep paper: ImageNet folder, RandomResizedCrop in a worker pool, 2 micro-batches per step, kNN on val', (t) => {
    const why = webgpuSkipReason();
    if (why) return t.skip(why);
    const r = paperRun('mae-sweep', {
      data: { dir: path.join(dir, 'imagenet') },
      model: { encoder: { image: 32, patch: 8, width: 32, depth: 2, heads: 2, mlpRatio: 2 }, decoderWidth: 16, decoderDepth: 2, decoderHeads: 2, decoderMlpRatio: 2 },
      rows: [{ name: 'α_min=0.6', wiring: { kind: 'decayed', alphaMin: 0.6 }, skips: true }],
      trainExamples: 12,
      batch: 4,
      evalTrain: 12,
      evalTest: 4,
      rankExamples: 4,
      knn: { k: 3 },
      seeds: [0],
      train: { steps: 4, accumSteps: 2, logEvery: 1, checkpointEvery: 2, schedule: { lr: 1e-3, warmupFraction: 0 } },
    });
    assert.equal(r.engine, 'webgpu');
    assert.equal(r.history.loss.length, 4);
    assert.ok(r.history.loss.every(Number.isFinite), `losses ${r.history.loss}`);
    assert.ok(r.metrics.knn >= 0 && r.metrics.knn <= 1 && Number.isFinite(r.metrics.valLoss), JSON.stringify(r.metrics));
    assert.equal(r.metrics.images, 12);
    assert.equal(r.metrics.classes, 2);
  });

  test('ancre-lm paper: C4 shards, the T5-shaped tokenizer.json, one document per row, ANCRe routing, perplexity', (t) => {
    const why = webgpuSkipReason();
    if (why) return t.skip(why);
    const r = paperRun(
      'ancre-lm',
      {
        c4Dir: path.join(dir, 'c4'),
        tokenizerFile: path.join(dir, 'c4', 'tokenizer.json'),
        tokenizerVocab: 128,
        modelPreset: '',
        vocabSize: 128,
        width: 32,
        heads: 2,
        mlpHidden: 64,
        depths: [2],
        seqLen: 8,
        batch: 4,
        evalEvery: 2,
        evalWindows: 2,
        finalEvalWindows: 4,
        evalBatch: 2,
        routingEvery: 2,
        train: { steps: 4, logEvery: 1, checkpointEvery: 2 },
      },
      1, // the ANCRe row
    );
    assert.equal(r.engine, 'webgpu');
    assert.equal(r.history.loss.length, 4);
    assert.ok(r.history.loss.every(Number.isFinite), `losses ${r.history.loss}`);
    assert.ok(Number.isFinite(r.metrics.valPerplexity) && r.metrics.valPerplexity > 1, JSON.stringify(r.metrics));
    assert.equal(r.metrics.packing, 'document' as unknown as number);
  });
});
