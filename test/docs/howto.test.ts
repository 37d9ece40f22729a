/**
 * The how-to documents run as written: docs/adding-a-wiring.md and docs/adding-a-study.md mark their
 * worked examples (`<!-- howto:wiring -->`, `<!-- howto:study file=… -->` before a ```ts block). This test
 * extracts those blocks, type-checks them where the docs say they go (lib/residual/scaled-skip.ts,
 * lib/studies/toy-wiring/), places their JavaScript at the same spots of the build tree, loads them, and
 * checks what the docs promise: the wiring registers without a library edit and trains in every model
 * family; the study runs its smoke preset through the runner and writes its records; the file lists name
 * files that exist.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';
import * as tf from '@tensorflow/tfjs';
import { REPO_ROOT } from '../../lib/paths';
import { ConfigError } from '../../lib/errors';
import type { Param } from '../../lib/models/transformer';
import {
  makeWiring,
  registeredWiringKinds,
  registerWiring,
  resolveWiring,
  validateWiring,
  WIRING_DEFAULTS,
  type Wiring,
  type WiringConfig,
  type WiringConfigMaker,
} from '../../lib/residual';
import { TransformerStack, TRANSFORMER_DEFAULTS } from '../../lib/models/transformer';
import { Mae, MAE_DEFAULTS } from '../../lib/models/mae';
import { DiT, DIT_DEFAULTS } from '../../lib/models/dit';
import { flowMatchingLoss } from '../../lib/models/diffusion';
import { Llama, LLAMA_DEFAULTS } from '../../lib/models/llama';
import { ResMlpClassifier } from '../../lib/models/resmlp';
import { train, TRAIN_DEFAULTS } from '../../lib/train/loop';
import { resolveConfig, runExperiment, type Experiment } from '../../lib/runner';
import { initTestEngine } from '../residual/engine';

const DOCS = path.join(REPO_ROOT, 'docs');
const BUILD_LIB = path.resolve(__dirname, '..', '..', 'lib'); // build/lib, next to this compiled test

interface Snippet {
  tag: string;
  file?: string;
  code: string;
}

/** The ```ts blocks right after a `<!-- howto:<tag> [file=<name>] -->` comment, in document order. */
function snippets(doc: string): Snippet[] {
  const text = fs.readFileSync(path.join(DOCS, doc), 'utf8');
  const re = /<!-- howto:([a-z-]+)(?: file=(\S+))? -->\s*```ts\n([\s\S]*?)```/g;
  return [...text.matchAll(re)].map((m) => ({ tag: m[1], file: m[2], code: m[3] }));
}

/** The paths of the `<!-- howto:files -->` list: `path` at the start of each item, and whether it is marked (new). */
function fileList(doc: string): { file: string; isNew: boolean }[] {
  const text = fs.readFileSync(path.join(DOCS, doc), 'utf8');
  const start = text.indexOf('<!-- howto:files -->');
  assert.ok(start >= 0, `${doc} has no <!-- howto:files --> list`);
  const items: { file: string; isNew: boolean }[] = [];
  for (const line of text.slice(start).split('\n').slice(1)) {
    if (!line.startsWith('- ')) {
      if (items.length) break;
      continue;
    }
    const m = /^- `([^`]+)`( \(new\))?/.exec(line);
    assert.ok(m, `${doc}: a file-list item that does not start with a path: ${line}`);
    items.push({ file: m[1], isNew: !!m[2] });
  }
  return items;
}

/** Type-checks sources placed (virtually) in the source tree, with the project's compiler options. */
function typeCheck(files: Map<string, string>): void {
  const configFile = ts.readConfigFile(path.join(REPO_ROOT, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(configFile.config, ts.sys, REPO_ROOT);
  const opts: ts.CompilerOptions = { ...options, noEmit: true, incremental: false, declaration: false, tsBuildInfoFile: undefined };
  const host = ts.createCompilerHost(opts);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.fileExists = (f) => files.has(path.resolve(f)) || ts.sys.fileExists(f);
  const dirs = new Set([...files.keys()].map((f) => path.dirname(f)));
  host.directoryExists = (d) => dirs.has(path.resolve(d)) || ts.sys.directoryExists(d);
  host.readFile = (f) => files.get(path.resolve(f)) ?? readFile(f);
  host.getSourceFile = (f, lang, ...rest) => {
    const code = files.get(path.resolve(f));
    return code !== undefined ? ts.createSourceFile(f, code, lang) : getSourceFile(f, lang, ...rest);
  };
  const program = ts.createProgram([...files.keys()], opts, host);
  const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => !d.file || files.has(path.resolve(d.file.fileName)));
  const text = ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => REPO_ROOT, getNewLine: () => '\n' });
  assert.equal(diagnostics.length, 0, `the docs' code does not type-check:\n${text}`);
}

/** Transpiles a snippet to CommonJS and writes it where its .ts would compile to. */
function place(code: string, jsFile: string, written: string[]): void {
  const { outputText } = ts.transpileModule(code, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2021, esModuleInterop: true },
    fileName: path.basename(jsFile).replace(/\.js$/, '.ts'),
  });
  fs.mkdirSync(path.dirname(jsFile), { recursive: true });
  fs.writeFileSync(jsFile, outputText);
  written.push(jsFile);
}

const written: string[] = [];
// Unique names in the build tree, so that a parallel run of this test does not load another's files.
const tag = `howto-${process.pid}`;
const wiringJs = path.join(BUILD_LIB, 'residual', `${tag}-scaled-skip.js`);
const studyDir = path.join(BUILD_LIB, 'studies', `${tag}-toy-wiring`);
let scaledSkip: WiringConfigMaker<{ gamma: number; learnGamma: boolean }>;
let experiment: Experiment<{ wirings: { label: string; wiring: WiringConfig }[] } & Record<string, unknown>>;

before(async () => {
  await initTestEngine();
  const wiring = snippets('adding-a-wiring.md').filter((s) => s.tag === 'wiring');
  const study = snippets('adding-a-study.md').filter((s) => s.tag === 'study');
  assert.equal(wiring.length, 1, 'adding-a-wiring.md marks one howto:wiring block');
  assert.deepEqual(study.map((s) => s.file), ['spec.ts', 'run.ts', 'index.ts'], 'adding-a-study.md marks spec.ts, run.ts, index.ts');
  typeCheck(
    new Map([
      [path.join(REPO_ROOT, 'lib', 'residual', 'scaled-skip.ts'), wiring[0].code],
      ...study.map((s) => [path.join(REPO_ROOT, 'lib', 'studies', 'toy-wiring', s.file!), s.code] as [string, string]),
    ]),
  );
  place(wiring[0].code, wiringJs, written);
  for (const s of study) place(s.code, path.join(studyDir, s.file!.replace(/\.ts$/, '.js')), written);
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  scaledSkip = require(wiringJs).scaledSkip;
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  experiment = require(path.join(studyDir, 'index.js')).experiment;
});

after(() => {
  for (const f of written) fs.rmSync(f, { force: true });
  fs.rmSync(studyDir, { recursive: true, force: true });
});

describe('docs/adding-a-wiring.md: the scaled-skip example', () => {
  test('registers without a library edit; its maker writes plain JSON configs', () => {
    assert.ok(registeredWiringKinds().includes('scaled-skip'));
    assert.deepEqual(scaledSkip({ gamma: 0.8 }), { kind: 'scaled-skip', gamma: 0.8 });
    assert.deepEqual(resolveWiring(scaledSkip()), { ...WIRING_DEFAULTS, kind: 'scaled-skip', gamma: 0.9, learnGamma: false });
  });

  test('the built-in kinds resolve exactly as before (their configs, hence run ids, are untouched)', () => {
    assert.deepEqual(resolveWiring({ kind: 'decayed', alphaMin: 0.6 }), { kind: 'decayed', alphaMin: 0.6, tau: 0.01, normalisation: 'incoming' });
    assert.deepEqual(Object.keys(resolveWiring({ kind: 'ancre', tau: 0.1 })), ['kind', 'alphaMin', 'tau', 'normalisation']);
  });

  test('by hand: one branch f(x) = 2x, γ = 0.5 gives 2.5x; states and beforeBlock per block; nothing leaks', async () => {
    const w = makeWiring(scaledSkip({ gamma: 0.5 }), 1, 1);
    assert.equal(w.variables.length, 0);
    const got = tf.tidy(() => w.run(tf.scalar(2), [[(x) => tf.mul(x, 2)]]).out.dataSync()[0]);
    assert.equal(got, 5);
    const w2 = makeWiring(scaledSkip({ gamma: 0.5 }), 3, 2);
    assert.equal(w2.granularity, 'sublayer');
    assert.equal(w2.n, 6);
    assert.deepEqual(w2.coefficients(), [new Array(6).fill(0.5), new Array(6).fill(1)]);
    assert.equal(w2.alphaEff(), 0.5 ** 6);
    assert.ok(!w2.describe().includes('\n'));
    const seen: number[] = [];
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const { out, states } = w2.run(tf.ones([2, 3]), Array.from({ length: 3 }, () => [(x: tf.Tensor) => tf.neg(x), (x: tf.Tensor) => tf.mul(x, 0.1)]), {
        beforeBlock: (l, h) => (seen.push(l), h),
      });
      assert.equal(states.length, 3);
      for (const s of [out, ...states]) assert.deepEqual(s.shape, [2, 3]);
    });
    assert.deepEqual(seen, [0, 1, 2]);
    assert.equal(tf.memory().numTensors, before);
  });

  test('validation names the value; an unknown key lists the kind\'s keys; built-in kinds cannot be replaced', () => {
    const rejects = (c: unknown, message: string) =>
      assert.throws(() => validateWiring(c as WiringConfig), (e: unknown) => e instanceof ConfigError && e.message === message);
    rejects(scaledSkip({ gamma: 1.5 }), 'gamma must be [0, 1]; got 1.5');
    rejects({ kind: 'scaled-skip', gama: 0.5 }, "unknown key 'gama' in wiring config; expected one of kind, alphaMin, tau, normalisation, gamma, learnGamma");
    rejects({ kind: 'decayed', gamma: 0.5 }, "unknown key 'gamma' in wiring config; expected one of kind, alphaMin, tau, normalisation");
    rejects({ kind: 'scaled-skipp' }, "unknown wiring 'scaled-skipp'; expected one of residual, decayed, ancre, scaled, learnable-alpha, rezero, constant-average, plain, scaled-skip");
    const build = () => { throw new Error('never built'); };
    assert.throws(() => registerWiring('decayed', { defaults: {}, build }), /'decayed' is a built-in wiring/);
    assert.throws(() => registerWiring('Scaled', { defaults: {}, build }), /kebab-case/);
    assert.throws(() => registerWiring('other', { defaults: { tau: 1 }, build }), /parameter 'tau' clashes/);
  });

  test('gradients reach the learned γ; a loss and its gradients leak nothing', async () => {
    const w = makeWiring(scaledSkip({ gamma: 0.7, learnGamma: true }), 2, 2);
    assert.equal(w.variables.length, 1);
    assert.ok(w.variables[0].name.startsWith('wiring/'));
    assert.deepEqual(w.overhead(), { stored: 1, trainable: 1, free: 1 });
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() =>
      tf.tidy(() => tf.sum(tf.square(w.run(tf.tensor1d([0.3, -1.2]), [[tf.tanh, tf.sin], [tf.tanh, tf.sin]]).out)) as tf.Scalar),
    );
    const g = (await grads[w.variables[0].name].data())[0];
    assert.ok(Number.isFinite(g) && Math.abs(g) > 1e-6, `dL/dγ = ${g}`);
    tf.dispose([value, ...Object.values(grads)]);
    assert.equal(tf.memory().numTensors, before);
    w.dispose();
  });

  // Every model family, built through makeWiring with the example's config: a few AdamW steps.
  interface Family {
    build(wiring: WiringConfig): { params: Param[]; wiring: Wiring; loss(): tf.Scalar; dispose(): void; data: tf.Tensor[] };
  }
  const families: Record<string, Family> = {
    'TransformerStack (ViT/MAE trunk)': {
      build(wiring) {
        const m = new TransformerStack({ ...TRANSFORMER_DEFAULTS, width: 16, depth: 2, heads: 2, mlpHidden: 32, seed: 3, wiring }, 'howto-t');
        const x = tf.randomNormal([2, 5, 16], 0, 1, 'float32', 1);
        const target = tf.randomNormal([2, 5, 16], 0, 1, 'float32', 7);
        tf.tidy(() => {
          const { out, states } = m.forward(x);
          assert.deepEqual(out.shape, [2, 5, 16]);
          assert.deepEqual(states.map((s) => s.shape), [[2, 5, 16], [2, 5, 16]]);
        });
        const loss = () => tf.tidy(() => tf.mean(tf.square(tf.sub(m.forward(x).out, target))) as tf.Scalar);
        return { params: m.params(), wiring: m.wiring, loss, dispose: () => m.dispose(), data: [x, target] };
      },
    },
    'Mae (encoder)': {
      build(wiring) {
        const m = new Mae({ ...MAE_DEFAULTS, encoder: { ...MAE_DEFAULTS.encoder, width: 16, depth: 2, heads: 2, seed: 5, wiring }, decoderWidth: 16, decoderDepth: 1, decoderHeads: 2 }, 'howto-mae');
        const x = tf.randomUniform([4, 28, 28], 0, 1, 'float32', 2);
        return { params: m.params(), wiring: m.encoder.stack.wiring, loss: () => m.loss(x, 3), dispose: () => m.dispose(), data: [x] };
      },
    },
    DiT: {
      build(wiring) {
        const m = new DiT({ ...DIT_DEFAULTS, imageSize: 8, patch: 4, width: 16, depth: 2, heads: 2, mlpRatio: 2, classes: 3, freqDim: 16, seed: 1, wiring }, 'howto-dit');
        const x = tf.randomUniform([4, 8, 8, 1], -1, 1, 'float32', 4) as tf.Tensor4D;
        const y = tf.tensor1d([0, 1, 2, 0], 'int32');
        return { params: m.params(), wiring: m.stack.wiring, loss: () => flowMatchingLoss(m, x, y, 123), dispose: () => m.dispose(), data: [x, y] };
      },
    },
    Llama: {
      build(wiring) {
        const m = new Llama({ ...LLAMA_DEFAULTS, vocabSize: 50, width: 16, depth: 2, heads: 2, mlpHidden: 24, maxSeqLen: 8, seed: 5, wiring }, 'howto-lm');
        const x = tf.randomUniform([2, 8], 0, 50, 'int32', 3) as tf.Tensor2D;
        const y = tf.randomUniform([2, 8], 0, 50, 'int32', 4) as tf.Tensor2D;
        return { params: m.params(), wiring: m.wiring, loss: () => m.loss(x, y), dispose: () => m.dispose(), data: [x, y] };
      },
    },
    ResMlpClassifier: {
      build(wiring) {
        const m = new ResMlpClassifier({ inputs: 6, width: 8, blocks: 3, layersPerBlock: 1, classes: 3, wiring }, 2);
        const x = tf.randomNormal([8, 6], 0, 1, 'float32', 1) as tf.Tensor2D;
        const y = tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32');
        return { params: m.params, wiring: m.wiring, loss: () => m.loss(x, y), dispose: () => m.dispose(), data: [x, y] };
      },
    },
  };
  const steps = { ...TRAIN_DEFAULTS, steps: 3, schedule: { lr: 1e-2, warmupFraction: 0, minRatio: 1 }, optimizer: { ...TRAIN_DEFAULTS.optimizer, weightDecay: 0 }, logEvery: 1, checkpointEvery: 0 };

  for (const [name, family] of Object.entries(families)) {
    test(`${name}: builds with scaled-skip (learned γ), trains with a finite loss, γ moves, no tensor leaks`, async () => {
      const start = tf.memory().numTensors;
      const m = family.build(scaledSkip({ gamma: 0.8, learnGamma: true }));
      assert.equal(m.wiring.kind, 'scaled-skip');
      const gamma = m.wiring.variables[0];
      assert.ok(m.params.some((p) => p.variable === gamma), 'the model adopted the wiring variable');
      const r1 = await train(steps, { params: m.params, loss: () => m.loss() }, { checkpointFile: null });
      assert.ok(r1.history.loss.every(Number.isFinite), `losses ${r1.history.loss}`);
      r1.dispose();
      const g = (await gamma.data())[0];
      assert.ok(Number.isFinite(g) && Math.abs(g - 0.8) > 1e-4, `γ moved from 0.8 (now ${g}): its gradient reached it`);
      const before = tf.memory().numTensors; // the first steps built the models' caches (masks, rotary tables)
      const r2 = await train(steps, { params: m.params, loss: () => m.loss() }, { checkpointFile: null });
      r2.dispose();
      assert.equal(tf.memory().numTensors, before, 'a training run leaks tensors');
      m.dispose();
      tf.dispose(m.data);
      assert.equal(tf.memory().numTensors, start, 'dispose frees everything the model and its training made');
    });
  }

  test('a fixed γ adds no variable and trains (Llama)', async () => {
    const m = families.Llama.build(scaledSkip({ gamma: 0.9 }));
    assert.equal(m.wiring.variables.length, 0);
    assert.ok(!m.params.some((p) => p.name.startsWith('wiring/')));
    const r = await train(steps, { params: m.params, loss: () => m.loss() }, { checkpointFile: null });
    assert.ok(r.history.loss.every(Number.isFinite));
    r.dispose();
    m.dispose();
    tf.dispose(m.data);
  });
});

describe('docs/adding-a-study.md: the toy-wiring example', () => {
  let results: string;
  before(() => {
    results = fs.mkdtempSync(path.join(os.tmpdir(), 'howto-results-'));
    process.env.REPRO_RESULTS = results;
  });
  after(() => fs.rmSync(results, { recursive: true, force: true }));

  test('its smoke preset runs end to end through runExperiment and writes one record per run; a rerun reuses them', async () => {
    const runs = await runExperiment(experiment, { preset: 'smoke', workers: 1, verbose: false });
    assert.equal(runs.experiment, 'toy-wiring');
    assert.equal(runs.executed, 3);
    assert.deepEqual(runs.records.map((r) => r.row), ['residual', 'decayed α_min=0.6', 'plain']);
    const file = path.join(results, 'toy-wiring', 'smoke', 'runs.jsonl');
    assert.equal(runs.dir, path.dirname(file));
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
    assert.equal(lines.length, 3);
    for (const r of lines) {
      assert.ok(Number.isFinite(r.metrics.finalLoss) && r.metrics.trainAccuracy >= 0 && r.metrics.trainAccuracy <= 1, JSON.stringify(r.metrics));
      assert.equal(r.history.loss.length, 3);
      assert.equal(r.config.label, undefined, 'the label is the row, not part of the run id');
    }
    const again = await runExperiment(experiment, { preset: 'smoke', workers: 1, verbose: false });
    assert.equal(again.executed, 0);
    assert.equal(again.reused, 3);
  });

  test("the wiring doc's example runs as a row of the study (overrides)", async () => {
    const overrides = { wirings: [{ label: 'scaled-skip γ=0.8', wiring: scaledSkip({ gamma: 0.8 }) }] };
    const runs = await runExperiment(experiment, { preset: 'smoke', workers: 1, verbose: false, overrides });
    assert.equal(runs.executed, 1);
    assert.deepEqual((runs.records[0].config as { wiring?: unknown }).wiring, { kind: 'scaled-skip', gamma: 0.8 });
    assert.match(String(runs.records[0].extra?.wiring), /^scaled-skip γ=0.8/);
  });

  test('an unknown config key and a bad value are rejected before any work', async () => {
    await assert.rejects(
      runExperiment(experiment, { preset: 'smoke', workers: 1, verbose: false, overrides: { widht: 8 } as object }),
      (e: unknown) => e instanceof ConfigError && /unknown key 'widht'/.test(e.message) && /width/.test(e.message),
    );
    assert.throws(() => resolveConfig(experiment, 'smoke', { lr: 0 }), (e: unknown) => e instanceof ConfigError && e.message === 'lr must be (0, 1]; got 0');
    assert.throws(
      () => resolveConfig(experiment, 'smoke', { wirings: [{ label: 'x', wiring: { kind: 'decay' } as unknown as WiringConfig }] }),
      /unknown wiring 'decay'/,
    );
    assert.ok(!fs.existsSync(path.join(results, 'toy-wiring', 'cpu')));
  });

  test('its registry line has the shape of the lines in lib/studies/index.ts, under the name of the experiment and the folder', () => {
    const [line] = snippets('adding-a-study.md').filter((s) => s.tag === 'registry-line');
    const shape = /^ {2}'([a-z0-9-]+)': \(\) => require\('\.\/([a-z0-9-]+)'\),$/;
    const m = shape.exec(line.code.trimEnd());
    assert.ok(m, line.code);
    assert.equal(m[1], experiment.name);
    assert.equal(m[2], experiment.name);
    const registry = fs.readFileSync(path.join(REPO_ROOT, 'lib', 'studies', 'index.ts'), 'utf8');
    assert.ok(registry.split('\n').filter((l) => shape.test(l)).length >= 9, 'the STUDIES lines look like the documented one');
    const files = fileList('adding-a-study.md').map((f) => f.file);
    assert.ok(files.includes(`lib/studies/${experiment.name}/index.ts`));
  });
});

describe('the file lists of the how-to documents', () => {
  for (const doc of ['adding-a-wiring.md', 'adding-a-study.md']) {
    test(`${doc}: every file not marked (new) exists`, () => {
      const files = fileList(doc);
      assert.ok(files.length >= 4, `${files.length} files`);
      for (const { file, isNew } of files) {
        if (!isNew) assert.ok(fs.existsSync(path.join(REPO_ROOT, file)), `${doc} names ${file}, which does not exist`);
      }
    });
  }
});
