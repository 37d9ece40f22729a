/**
 * Issue 18, the in-process half: each case a careless user or an unlucky machine hit, as a unit test
 * (the command-line half, with real runs and signals, is test/experiments/reliability-cli.test.ts).
 * Numbers refer to the cases.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { mergeChecked } from '../../lib/config';
import { ConfigError, DataError } from '../../lib/errors';
import { parseRunArgs, parseSet } from '../../lib/runner/cli';
import { executeRun, noteSession, runIdOf } from '../../lib/runner/execute';
import { loadStudy as loadExperiment } from '../../lib/studies';
import { planWorkers } from '../../lib/runner/guards';
import { resolveConfig, runExperiment } from '../../lib/runner/run';
import { recordedRuns } from '../../lib/runner/recorded';
import { experiment as setupCheck } from '../../lib/studies/setup-check';
import { experiment as maeSweep } from '../../lib/studies/mae-sweep';
import { experiment as linearTheory } from '../../lib/studies/linear-theory';
import { validateWiring } from '../../lib/residual/config';
import { encodeIdx, fashionMnistSearchPaths, loadFashionMnist } from '../../lib/data';
import { dataKeyOf, takeDataUses } from '../../lib/data/identity';
import { inspectRuns, readRuns } from '../../lib/runner/store/runs';
import { summarise } from '../../lib/report/table';
import { loadCheckpoint, saveCheckpoint } from '../../lib/train/checkpoint';
import { REPO_ROOT } from '../../lib/paths';
import { makeRecord } from '../report/helpers';
import { FID_CLASSIFIER_DEFAULTS, loadOrTrainFidClassifier, loadReferenceFidClassifier, REFERENCE_FID_CLASSIFIER } from '../../lib/models/fid-classifier';
import * as tf from '@tensorflow/tfjs';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-i18-'));

function withEnv<T>(env: Record<string, string | undefined>, fn: () => T): T {
  const old: Record<string, string | undefined> = {};
  for (const k of Object.keys(env)) {
    old[k] = process.env[k];
    if (env[k] === undefined) delete process.env[k];
    else process.env[k] = env[k];
  }
  try {
    return fn();
  } finally {
    for (const k of Object.keys(old)) {
      if (old[k] === undefined) delete process.env[k];
      else process.env[k] = old[k];
    }
  }
}

/** withEnv for async work: the variables stay set until `fn`'s promise settles. */
async function withEnvAsync<T>(env: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const old: Record<string, string | undefined> = {};
  for (const k of Object.keys(env)) {
    old[k] = process.env[k];
    if (env[k] === undefined) delete process.env[k];
    else process.env[k] = env[k];
  }
  try {
    return await fn();
  } finally {
    for (const k of Object.keys(old)) {
      if (old[k] === undefined) delete process.env[k];
      else process.env[k] = old[k];
    }
  }
}

describe('2, 11: command-line flags', () => {
  test('--workers with no value or a non-number is a ConfigError, never NaN workers', () => {
    assert.throws(() => parseRunArgs(['setup-check', '--workers']), /--workers needs a number of worker processes \(an integer >= 1\); got nothing/);
    assert.throws(() => parseRunArgs(['setup-check', '--workers', 'two']), /--workers must be an integer >= 1; got 'two'/);
    assert.throws(() => parseRunArgs(['setup-check', '--workers', '--preset', 'smoke']), /got '--preset'/);
    assert.throws(() => parseRunArgs(['setup-check', '--workers', '0']), /integer >= 1; got '0'/);
    assert.throws(() => parseRunArgs(['setup-check', '--workers', '1.5']), ConfigError);
    assert.equal(parseRunArgs(['setup-check', '--workers', '3'], {}).workers, 3);
  });

  test('REPRO_PRESET is read after the flags: --preset smoke wins over REPRO_PRESET=Smoke', () => {
    assert.equal(parseRunArgs(['setup-check', '--preset', 'smoke'], { REPRO_PRESET: 'Smoke' }).preset, 'smoke');
    assert.throws(() => parseRunArgs(['setup-check'], { REPRO_PRESET: 'Smoke' }), /REPRO_PRESET is 'Smoke'; expected one of smoke, cpu, paper/);
    assert.equal(parseRunArgs(['setup-check'], { REPRO_PRESET: 'smoke' }).preset, 'smoke');
    assert.equal(parseRunArgs(['setup-check'], {}).preset, 'cpu');
  });
});

describe('5: keys that reach Object.prototype', () => {
  test('--set __proto__.x / constructor.prototype.x are rejected and nothing is polluted', () => {
    for (const s of ['__proto__.x=1', 'constructor.prototype.x=1', 'train.__proto__.polluted=1', 'prototype=3']) {
      assert.throws(() => parseSet(s, {}), /is not allowed \(it would change every object's prototype\)/, s);
    }
    assert.equal(({} as Record<string, unknown>).x, undefined);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('an override object holding __proto__ or constructor (JSON, a notebook) is rejected by the merge', () => {
    const evil = JSON.parse('{"__proto__": {"polluted": 1}}');
    assert.throws(() => resolveConfig(setupCheck, 'smoke', evil), /key '__proto__' in setup-check overrides is not allowed/);
    assert.throws(() => mergeChecked({ a: 1 }, { constructor: { prototype: { polluted: 1 } } }, 'cfg'), /key 'constructor' in cfg is not allowed/);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

describe('7: worker caps and BLAS oversubscription', () => {
  test('workers are capped at the cores unless forced, and never exceed the runs', () => {
    const p = planWorkers(undefined, 10, { REPRO_WORKERS: '999' }, 2);
    assert.equal(p.workers, 2);
    assert.match(p.warnings[0], /REPRO_WORKERS=999 is more than the 2 core\(s\); using 2 \(set REPRO_WORKERS_FORCE=1/);
    assert.equal(planWorkers(undefined, 10, { REPRO_WORKERS: '8', REPRO_WORKERS_FORCE: '1' }, 2).workers, 8);
    assert.equal(planWorkers(999, 3, {}, 16).workers, 3);
    assert.deepEqual(planWorkers(undefined, 5, {}, 2), { workers: 2, blasThreads: 1, warnings: [] });
    assert.throws(() => planWorkers(undefined, 5, { REPRO_WORKERS: 'lots' }, 2), /REPRO_WORKERS must be an integer >= 1; got 'lots'/);
    assert.throws(() => planWorkers(NaN, 5, {}, 2), /workers must be an integer >= 1; got NaN/);
  });

  test('workers × OPENBLAS_NUM_THREADS above the cores is warned about', () => {
    const p = planWorkers(undefined, 4, { OPENBLAS_NUM_THREADS: '64' }, 2);
    assert.equal(p.blasThreads, 64);
    assert.match(p.warnings.join('\n'), /2 worker\(s\) × 64 BLAS thread\(s\) \(OPENBLAS_NUM_THREADS\) = 128 threads on 2 core\(s\): oversubscribed/);
    assert.deepEqual(planWorkers(1, 4, { OPENBLAS_NUM_THREADS: '2' }, 2).warnings, []);
  });
});

describe('3: REPRO_DATA and the data identity', () => {
  const tiny = (dir: string, prefix: string, n: number, shift = 0) => {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${prefix}-images-idx3-ubyte.gz`), encodeIdx({ type: 'uint8', dims: [n, 28, 28], data: Array.from({ length: n * 784 }, (_, i) => (i + shift) % 256) }, true));
    fs.writeFileSync(path.join(dir, `${prefix}-labels-idx1-ubyte.gz`), encodeIdx({ type: 'uint8', dims: [n], data: Array.from({ length: n }, (_, i) => i % 10) }, true));
  };

  test('a set REPRO_DATA that cannot be used names the path and the cause, and never falls through', () => {
    const missing = path.join(tmp, 'no-such-folder');
    withEnv({ REPRO_DATA: missing }, () => assert.throws(() => loadFashionMnist('test'), (e: unknown) => e instanceof DataError && e.message.includes(`${missing} does not exist`)));
    const loop = path.join(tmp, 'loop');
    fs.symlinkSync(loop, loop);
    withEnv({ REPRO_DATA: loop }, () => assert.throws(() => fashionMnistSearchPaths(), /loop is a symbolic link loop/));
    const file = path.join(tmp, 'a-file');
    fs.writeFileSync(file, 'x');
    withEnv({ REPRO_DATA: file }, () => assert.throws(() => loadFashionMnist('test'), /a-file is a file, not a folder/));
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty);
    withEnv({ REPRO_DATA: empty }, () =>
      assert.throws(() => loadFashionMnist('test'), /REPRO_DATA=.*empty is set, but neither .*empty nor .*empty\/fashion-mnist holds Fashion-MNIST \(test\).*unset REPRO_DATA/),
    );
  });

  test('canonical data keeps the run ids of the committed records; other data changes them', () => {
    // The committed reference records are found under the ids this checkout computes for the cpu presets.
    let checked = 0;
    for (const name of fs.readdirSync(path.join(REPO_ROOT, 'results'))) {
      const file = path.join(REPO_ROOT, 'results', name, 'cpu', 'runs.jsonl');
      if (!fs.existsSync(file)) continue;
      const exp = loadExperiment(name);
      const key = withEnv({ REPRO_DATA: undefined }, () => dataKeyOf(exp.data ?? []));
      assert.equal(key, undefined, `${name}: the installed Fashion-MNIST is the canonical copy`);
      const have = new Set(readRuns(file).records.map((r) => r.runId));
      // A cpu preset may have grown rows or changed recipe since its records were made (a study in
      // progress), so not every id need be there; but ids that gained a data key would match none.
      const ids = exp.runs(resolveConfig(exp, 'cpu')).map((s) => runIdOf(exp.name, s, key));
      const found = ids.filter((i) => have.has(i)).length;
      assert.ok(found > 0, `${name}: none of the ${ids.length} cpu runs is found among the committed records by its run id`);
      checked += found;
    }
    assert.ok(checked >= 150, `only ${checked} committed runs found by their ids`);
    // A non-canonical copy (here: a tiny one) gets a data key, so its runs get other ids.
    const other = path.join(tmp, 'other-data');
    tiny(other, 'train', 20);
    tiny(other, 't10k', 10);
    const key = withEnv({ REPRO_DATA: other }, () => dataKeyOf(['fashion-mnist']));
    assert.match(String(key), /^[0-9a-f]{12}$/);
    tiny(other, 't10k', 10, 1); // one pixel value changed everywhere: another key
    assert.notEqual(withEnv({ REPRO_DATA: other }, () => dataKeyOf(['fashion-mnist'])), key);
    const spec = setupCheck.runs(resolveConfig(setupCheck, 'smoke'))[0];
    assert.notEqual(runIdOf('setup-check', spec, key), runIdOf('setup-check', spec));
  });

  test('a run on another copy of the data gets its own run id, records that copy, and is reused under that id', { timeout: 120_000 }, async () => {
    const other = path.join(tmp, 'run-data');
    tiny(other, 'train', 200);
    tiny(other, 't10k', 100);
    const results = path.join(tmp, 'run-data-results');
    const overrides = { trainExamples: 200, testExamples: 100, batch: 50, train: { steps: 20, logEvery: 10, checkpointEvery: 10 } };
    const canonicalId = runIdOf('setup-check', setupCheck.runs(resolveConfig(setupCheck, 'smoke', overrides))[0]);
    const first = await withEnvAsync({ REPRO_DATA: other, REPRO_RESULTS: results }, () => runExperiment(setupCheck, { preset: 'smoke', workers: 1, verbose: false, overrides }));
    assert.equal(first.executed, 1);
    const rec = first.records[0];
    assert.notEqual(rec.runId, canonicalId);
    const data = rec.data as unknown as { dataset: string; path: string; canonical: boolean }[];
    assert.deepEqual(data.map((d) => [d.dataset, d.path, d.canonical]), [['fashion-mnist/train', other, false], ['fashion-mnist/test', other, false]]);
    const again = await withEnvAsync({ REPRO_DATA: other, REPRO_RESULTS: results }, () => runExperiment(setupCheck, { preset: 'smoke', workers: 1, verbose: false, overrides }));
    assert.equal(again.executed, 0);
    assert.equal(again.records[0].runId, rec.runId);
    // issue 31, 2: a notebook's table (recordedRuns / studyRuns) keys runs the same way: on the other copy it
    // shows that copy's record, never the canonical one beside it (and the other way round).
    const canonical = await withEnvAsync({ REPRO_DATA: undefined, REPRO_RESULTS: results }, () => runExperiment(setupCheck, { preset: 'smoke', workers: 1, verbose: false, overrides }));
    assert.equal(canonical.records[0].runId, canonicalId);
    const onOther = withEnv({ REPRO_DATA: other, REPRO_RESULTS: results }, () => recordedRuns(setupCheck, 'smoke', overrides));
    assert.deepEqual(onOther.records.map((r) => r.runId), [rec.runId]);
    const onCanonical = withEnv({ REPRO_DATA: undefined, REPRO_RESULTS: results }, () => recordedRuns(setupCheck, 'smoke', overrides));
    assert.deepEqual(onCanonical.records.map((r) => r.runId), [canonicalId]);
  });

  test('each load notes the split it used: folder, MD5s, canonical or not', () => {
    const other = path.join(tmp, 'noted');
    tiny(other, 't10k', 10);
    takeDataUses();
    withEnv({ REPRO_DATA: other }, () => loadFashionMnist('test'));
    const [id] = takeDataUses();
    assert.equal(id.dataset, 'fashion-mnist/test');
    assert.equal(id.path, other);
    assert.equal(id.canonical, false);
    assert.match(id.md5['t10k-images-idx3-ubyte'], /^[0-9a-f]{32}$/);
  });
});

describe('4: FIDs of different feature networks are never tabled together', () => {
  test('summarise groups FID rows by classifier and says so', () => {
    const recs = [
      makeRecord({ row: 'standard', metrics: { fid: 40, classifier: 'eaaa87ef900d' } }),
      makeRecord({ row: 'standard', seed: 1, metrics: { fid: 42, classifier: 'eaaa87ef900d' } }),
      makeRecord({ row: 'standard', seed: 2, metrics: { fid: 90, classifier: '0123456789ab' } }),
    ];
    const warn = console.warn;
    const said: string[] = [];
    console.warn = (m: string) => said.push(m);
    let t;
    try {
      t = summarise(recs, { metrics: ['fid'] });
    } finally {
      console.warn = warn;
    }
    assert.deepEqual((t.objects() as Record<string, unknown>[]).map((o) => [o.row, o.classifier, o.n, o.fid_mean]), [
      ['standard', 'eaaa87ef900d', 2, 41],
      ['standard', '0123456789ab', 1, 90],
    ]);
    assert.match(said.join('\n'), /FIDs from 2 feature networks \(classifier eaaa87ef900d, 0123456789ab\).*one row per network/);
    // One network: the table is as before (no classifier column).
    assert.deepEqual(summarise(recs.slice(0, 2), { metrics: ['fid'] }).columnNames(), ['row', 'n', 'fid_mean', 'fid_std', 'fid_n']);
  });
});

describe('8: messages name the path and the cause', () => {
  test('a checkpoint write hitting a full disk (ENOSPC) names the checkpoint; the previous one is intact', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'full-'));
    const file = path.join(dir, 'ckpt.bin');
    const t = tf.tensor1d([1, 2, 3]);
    saveCheckpoint(file, [{ name: 'w', tensor: t }], { step: 1 });
    const before = fs.readFileSync(file);
    // The disk fills up mid-write: the write of the temporary file fails with ENOSPC (as the OS reports it).
    const fsModule = require('fs') as { writeSync: unknown }; // the module object itself (namespace imports read through it)
    const realWrite = fs.writeSync;
    fsModule.writeSync = (fd: number, ...rest: unknown[]) => {
      if (fs.fstatSync(fd).isFile()) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
      return (realWrite as (...a: unknown[]) => number)(fd, ...rest);
    };
    try {
      assert.throws(
        () => saveCheckpoint(file, [{ name: 'w', tensor: t }], { step: 2 }),
        (e: unknown) => /cannot write the checkpoint .*ckpt\.bin \(the previous checkpoint, if any, is intact\): ENOSPC; the disk is full/.test((e as Error).message),
      );
    } finally {
      fsModule.writeSync = realWrite;
    }
    assert.deepEqual(fs.readFileSync(file), before);
    assert.equal(fs.existsSync(`${file}.tmp-${process.pid}`), false);
    // (Before issue 31 this test planted a link to /dev/full at the temporary name; such a link is now refused.)
    const victim = path.join(dir, 'victim');
    fs.writeFileSync(victim, 'victim');
    fs.symlinkSync(victim, `${file}.tmp-${process.pid}`);
    assert.throws(() => saveCheckpoint(file, [{ name: 'w', tensor: t }], { step: 3 }), /ELOOP; the path is a symbolic link/);
    assert.equal(fs.readFileSync(victim, 'utf8'), 'victim');
    assert.deepEqual(fs.readFileSync(file), before);
    t.dispose();
  });

  test('a checkpoint path that is a folder is a DataError saying so', () => {
    const dir = path.join(tmp, 'ckdir', 'ckpt.bin');
    fs.mkdirSync(dir, { recursive: true });
    assert.throws(() => loadCheckpoint(dir), /checkpoint path .*ckpt\.bin is a folder, not a checkpoint file/);
  });

  test('a results path that is a file fails before any work, naming it, and claims no saved runs', async () => {
    const file = path.join(tmp, 'afile');
    fs.writeFileSync(file, 'not a folder');
    await withEnvAsync({ REPRO_RESULTS: file }, () =>
      assert.rejects(
        () => runExperiment(setupCheck, { preset: 'smoke', workers: 1, verbose: false }),
        (e: unknown) => /cannot create the results folder .*afile\/setup-check\/smoke: ENOTDIR; a part of the path is a file/.test((e as Error).message) && !/finished runs are saved/.test((e as Error).message),
      ),
    );
  });
});

describe('9: unreadable and conflicting records', () => {
  test('a UTF-8 BOM at the start is ignored; a damaged line is kept aside once and names its run', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'runs-'));
    const file = path.join(dir, 'runs.jsonl');
    const a = JSON.stringify(makeRecord({ runId: 'aaaaaaaaaaaa' }));
    const b = JSON.stringify(makeRecord({ runId: 'bbbbbbbbbbbb', seed: 1 }));
    fs.writeFileSync(file, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${a}\n${b.replace('"seed":1', '"seed":1;')}\n`)]));
    const r = inspectRuns(file, { keepAside: true });
    assert.deepEqual(r.records.map((x) => x.runId), ['aaaaaaaaaaaa']);
    assert.equal(r.unreadable.length, 1);
    assert.equal(r.unreadable[0].runId, 'bbbbbbbbbbbb');
    assert.match(r.warnings[0], /runs\.jsonl:2: not valid JSON .*skipped$/);
    assert.equal(r.asideFile, `${file}.unreadable`);
    inspectRuns(file, { keepAside: true });
    const aside = fs.readFileSync(`${file}.unreadable`, 'utf8').trim().split('\n');
    assert.equal(aside.length, 1, 'kept aside once, however often it is read');
    assert.equal(JSON.parse(aside[0]).line, 2);
  });

  test('a later record of the same run with other metrics is flagged, and the first one is used', async () => {
    const results = fs.mkdtempSync(path.join(tmp, 'conflict-'));
    const spec = setupCheck.runs(resolveConfig(setupCheck, 'smoke'))[0];
    const runId = runIdOf('setup-check', spec);
    const file = path.join(results, 'setup-check', 'smoke', 'runs.jsonl');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const rec = (acc: number, secs: number) => JSON.stringify(makeRecord({ experiment: 'setup-check', runId, row: spec.row, seed: spec.seed, config: spec.config, metrics: { testAccuracy: acc, trainSeconds: secs } }));
    fs.writeFileSync(file, [rec(0.75, 1), rec(0.75, 2), rec(0.99, 1)].join('\n') + '\n');
    const c = inspectRuns(file);
    assert.deepEqual(c.conflicts, [{ runId, lines: [1, 3], differences: ['testAccuracy: 0.75 vs 0.99'] }], 'a timing difference is no conflict');
    const warn = console.warn;
    const said: string[] = [];
    console.warn = (m: string) => said.push(m);
    try {
      const r = await withEnvAsync({ REPRO_RESULTS: results }, () => runExperiment(setupCheck, { preset: 'smoke', workers: 1, verbose: false }));
      assert.equal(r.executed, 0);
      assert.equal(r.records[0].metrics.testAccuracy, 0.75);
    } finally {
      console.warn = warn;
    }
    assert.match(said.join('\n'), new RegExp(`WARNING: .*runs\\.jsonl: run ${runId} has conflicting records on lines 1, 3 \\(testAccuracy: 0\\.75 vs 0\\.99\\); the first \\(line 1\\) is used`));
  });
});

describe('10: values that passed validation and failed later', () => {
  test('seeds must be integers in [0, 2^31 - 1]', () => {
    assert.throws(() => resolveConfig(setupCheck, 'smoke', { seeds: [1e300] }), /seeds\[0\] must be an integer in \[0, 2147483647\]; got 1e\+300/);
    assert.throws(() => resolveConfig(maeSweep, 'smoke', { seeds: [0, -1] }), /seeds\[1\] must be an integer in \[0, 2147483647\]; got -1/);
  });

  test('tau must be in [1e-4, 1e4]', () => {
    assert.throws(() => resolveConfig(linearTheory, 'smoke', { tau: 1e-300 }), /tau must be in \[0\.0001, 10000\]; got 1e-300 \(below 0\.0001 the routing logits/);
    assert.throws(() => validateWiring({ kind: 'ancre', tau: 1e-300 }), /tau must be in \[0\.0001, 10000\]/);
  });

  test('an engine running out of memory mid-run is reported as that, with what to do', async () => {
    const exp = { ...setupCheck, name: 'setup-check', runOne: async () => { throw new RangeError('memory access out of bounds'); } };
    const spec = setupCheck.runs(resolveConfig(setupCheck, 'smoke'))[0];
    const reply = await withEnvAsync({ REPRO_RESULTS: path.join(tmp, 'oom') }, () => executeRun({ experiment: 'setup-check', preset: 'smoke', spec }, exp as never, () => {}));
    assert.equal(reply.type, 'error');
    assert.match((reply as { message: string }).message, /ran out of memory \(memory access out of bounds\): the wasm engine's heap holds at most 4 GiB; use a smaller model/);
  });

  test('a model too large for memory is refused before anything is allocated', () => {
    const before = tf.memory().numBytes;
    assert.throws(() => resolveConfig(setupCheck, 'smoke', { hidden: 1e6 }), /setup-check: hidden=1000000 needs about 14\.7 GiB of memory; at most [0-9.]+ GiB is available/);
    // issue 31, 11: this one passed the check and died of wasm OOM 35–63 s later; the step's peak now counts
    assert.throws(() => resolveConfig(setupCheck, 'smoke', { trainExamples: 60000, batch: 60000, hidden: 4096 }), /setup-check: hidden=4096 needs about 6\.1 GiB of memory; at most [0-9.]+ GiB is available/);
    assert.equal(tf.memory().numBytes, before);
    resolveConfig(setupCheck, 'cpu', { hidden: 4096 });
  });
});

describe('11: row keys and engines', () => {
  test('a mae-sweep row with an unknown key is rejected', () => {
    const rows = resolveConfig(maeSweep, 'smoke').rows.map((r, i) => (i === 0 ? { ...r, skip: true } : r));
    assert.throws(() => resolveConfig(maeSweep, 'smoke', { rows } as never), /unknown key 'skip' in rows\[0\]; expected one of name, wiring, skips/);
  });

  test('a run resumed on another engine records both engines; a fresh run only its own', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'eng-'));
    assert.deepEqual(noteSession(dir, { engine: 'wasm' }), [{ engine: 'wasm' }]);
    fs.writeFileSync(path.join(dir, 'ckpt.bin'), 'x'); // a checkpoint: the next session resumes
    assert.deepEqual(noteSession(dir, { engine: 'cpu' }), [{ engine: 'wasm' }, { engine: 'cpu' }]);
    assert.deepEqual(noteSession(dir, { engine: 'cpu' }), [{ engine: 'wasm' }, { engine: 'cpu' }]);
    fs.rmSync(path.join(dir, 'ckpt.bin'));
    assert.deepEqual(noteSession(dir, { engine: 'cpu' }), [{ engine: 'cpu' }], 'no checkpoint: a fresh start');
  });
});

describe('4: the committed FID feature network', () => {
  test('the default config loads the committed reference (SHA-256 verified), never retrains it', async () => {
    const said: string[] = [];
    const before = tf.memory().numTensors;
    const { model, info } = await loadOrTrainFidClassifier(FID_CLASSIFIER_DEFAULTS, { log: (m) => said.push(m) });
    assert.equal(info.sha256, REFERENCE_FID_CLASSIFIER.sha256);
    assert.equal(info.testAccuracy, 0.9066);
    assert.equal(info.featureDim, 256);
    assert.deepEqual(said, [], 'nothing was trained');
    const sidecar = fs.readFileSync(path.join(REFERENCE_FID_CLASSIFIER.dir, 'fid-cnn-10c42544c6e9.sha256'), 'utf8');
    assert.equal(sidecar, `${REFERENCE_FID_CLASSIFIER.sha256}  fid-cnn-10c42544c6e9.bin\n`);
    model.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  test('a missing or altered reference is a DataError saying how to restore it', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'fidref-'));
    assert.throws(() => loadReferenceFidClassifier(FID_CLASSIFIER_DEFAULTS, dir), /reference FID classifier .*fid-cnn-10c42544c6e9\.bin is missing; restore it with 'git checkout -- data\/fid-classifier', or set REPRO_FID_RETRAIN=1/);
    for (const ext of ['bin', 'json']) fs.copyFileSync(path.join(REFERENCE_FID_CLASSIFIER.dir, `fid-cnn-10c42544c6e9.${ext}`), path.join(dir, `fid-cnn-10c42544c6e9.${ext}`));
    const bin = path.join(dir, 'fid-cnn-10c42544c6e9.bin');
    const bytes = fs.readFileSync(bin);
    bytes[bytes.length >> 1] ^= 1;
    fs.writeFileSync(bin, bytes);
    assert.throws(() => loadReferenceFidClassifier(FID_CLASSIFIER_DEFAULTS, dir), /has SHA-256 [0-9a-f]{64}, not the committed eaaa87ef900d/);
  });

  test('every committed FID record names its network, and it is the committed one', () => {
    const recs = readRuns(path.join(REPO_ROOT, 'results', 'diffusion-fid', 'cpu', 'runs.jsonl')).records;
    assert.ok(recs.length >= 15);
    for (const r of recs) assert.equal(r.metrics.classifier, REFERENCE_FID_CLASSIFIER.sha256.slice(0, 12));
  });
});

test('cleanup', () => {
  fs.rmSync(tmp, { recursive: true, force: true });
});
