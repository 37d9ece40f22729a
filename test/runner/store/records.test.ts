/**
 * Per-run record files and runs.jsonl built from them: a record is never replaced, the sync keeps the
 * bytes runs.jsonl had (the committed reference files included), concurrent syncs from several
 * processes lose and duplicate nothing, and failure notes come and go.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { readRuns } from '../../../lib/runner/store/runs';
import {
  clearFailure,
  loadRecords,
  noteFailure,
  publishRecord,
  readFailure,
  readRecordFiles,
  recordFile,
  syncRunsJsonl,
  writeRecordFile,
} from '../../../lib/runner/store/records';
import { REPO_ROOT } from '../../../lib/paths';
import { makeRecord, tmpDir } from '../../report/helpers';

const RECORDS_JS = path.resolve(__dirname, '../../../lib/runner/store/records.js');

describe('record files', () => {
  test('written once: a second record of the same run is dropped, the first stays byte for byte', () => {
    const dir = tmpDir('rec');
    const a = makeRecord({ runId: 'r1', metrics: { knn: 0.5 } });
    assert.equal(writeRecordFile(dir, a), 'written');
    const before = fs.readFileSync(recordFile(dir, 'r1'), 'utf8');
    assert.equal(writeRecordFile(dir, makeRecord({ runId: 'r1', metrics: { knn: 0.9 } })), 'exists');
    assert.equal(fs.readFileSync(recordFile(dir, 'r1'), 'utf8'), before);
    assert.deepEqual(JSON.parse(before), a);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'records')), ['r1.json'], 'no temporary file left');
    fs.rmSync(dir, { recursive: true });
  });

  test('bad record files are skipped with a warning naming the file; a wrong name is refused', () => {
    const dir = tmpDir('bad');
    writeRecordFile(dir, makeRecord({ runId: 'ok1' }));
    fs.writeFileSync(recordFile(dir, 'cut'), '{"experiment":"mae-sw');
    fs.writeFileSync(recordFile(dir, 'shape'), JSON.stringify({ runId: 'shape' }));
    fs.writeFileSync(recordFile(dir, 'other'), JSON.stringify(makeRecord({ runId: 'ok1' })));
    const { records, warnings } = readRecordFiles(dir);
    assert.deepEqual(records.map((r) => r.runId), ['ok1']);
    assert.equal(warnings.length, 3);
    assert.match(warnings.join('\n'), /cut\.json: not valid JSON/);
    assert.match(warnings.join('\n'), /shape\.json: not a run record: field 'experiment' must be a string/);
    assert.match(warnings.join('\n'), /other\.json: holds run 'ok1', not the run its name says/);
    assert.throws(() => writeRecordFile(dir, { ...makeRecord(), seed: 1.5 } as never), /not a valid RunRecord: field 'seed' must be an integer/);
    fs.rmSync(dir, { recursive: true });
  });

  test('sync appends what runs.jsonl lacks after its unchanged bytes (a cut-short last line kept), once', () => {
    const dir = tmpDir('sync');
    const file = path.join(dir, 'runs.jsonl');
    const old = JSON.stringify(makeRecord({ runId: 'old' })) + '\n' + '{"experiment":"cut';
    fs.writeFileSync(file, old);
    writeRecordFile(dir, makeRecord({ runId: 'old', metrics: { knn: 0.1 } })); // already in runs.jsonl: not added
    writeRecordFile(dir, makeRecord({ runId: 'n2', finishedAt: '2026-11-22T15:00:00.000Z' }));
    writeRecordFile(dir, makeRecord({ runId: 'n1', finishedAt: '2026-11-22T14:30:00.000Z' }));
    assert.equal(syncRunsJsonl(dir), 2);
    const text = fs.readFileSync(file, 'utf8');
    assert.ok(text.startsWith(old + '\n'), 'the old bytes stay, the new lines start on a fresh line');
    const { records, warnings } = readRuns(file);
    assert.deepEqual(records.map((r) => r.runId), ['old', 'n1', 'n2'], 'finish order');
    assert.equal(records[0].metrics.knn, 0.5, 'the runs.jsonl copy wins');
    assert.equal(warnings.length, 1);
    assert.equal(syncRunsJsonl(dir), 0);
    assert.equal(fs.readFileSync(file, 'utf8'), text, 'a second sync changes nothing');
    assert.equal(fs.existsSync(file + '.lock'), false);
    fs.rmSync(dir, { recursive: true });
  });

  test('loadRecords: runs.jsonl first, then the record files it does not hold yet', () => {
    const dir = tmpDir('load');
    fs.writeFileSync(path.join(dir, 'runs.jsonl'), JSON.stringify(makeRecord({ runId: 'a' })) + '\n');
    writeRecordFile(dir, makeRecord({ runId: 'b' }));
    writeRecordFile(dir, makeRecord({ runId: 'a', seed: 7 }));
    const r = loadRecords(dir);
    assert.deepEqual(r.records.map((x) => [x.runId, x.seed]), [['a', 0], ['b', 0]]);
    assert.equal(r.unsynced, 1);
    fs.rmSync(dir, { recursive: true });
  });

  test('failure notes: written, read, cleared by publishing the run', () => {
    const dir = tmpDir('fail');
    noteFailure(dir, { runId: 'x', row: 'residual', seed: 2, message: 'boom', name: 'Error' });
    const f = readFailure(dir, 'x')!;
    assert.equal(f.message, 'boom');
    assert.equal(f.seed, 2);
    assert.ok(Date.parse(f.at) > 0);
    publishRecord(dir, makeRecord({ runId: 'x' }));
    assert.equal(readFailure(dir, 'x'), null);
    clearFailure(dir, 'x'); // none: no error
    fs.rmSync(dir, { recursive: true });
  });

  test('4 processes publishing 5 records each into one folder at once: 20 lines, each run once', async () => {
    const dir = tmpDir('conc');
    const code = (k: number) => `
      const { publishRecord } = require(${JSON.stringify(RECORDS_JS)});
      const base = ${JSON.stringify(makeRecord())};
      for (let i = 0; i < 5; i++) publishRecord(${JSON.stringify(dir)}, { ...base, runId: 'p${k}-' + i, seed: i });
      // every process also tries to publish run 'shared': exactly one copy may survive
      publishRecord(${JSON.stringify(dir)}, { ...base, runId: 'shared', seed: ${k} });`;
    await Promise.all(
      [0, 1, 2, 3].map(
        (k) =>
          new Promise<void>((resolve, reject) => {
            const c = spawn(process.execPath, ['-e', code(k)], { stdio: ['ignore', 'ignore', 'pipe'] });
            let err = '';
            c.stderr.on('data', (d) => (err += d));
            c.on('exit', (status) => (status === 0 ? resolve() : reject(new Error(err))));
          }),
      ),
    );
    const { records, warnings } = readRuns(path.join(dir, 'runs.jsonl'));
    assert.deepEqual(warnings, []);
    assert.equal(records.length, 21);
    assert.equal(new Set(records.map((r) => r.runId)).size, 21);
    const shared = records.find((r) => r.runId === 'shared')!;
    assert.equal(JSON.parse(fs.readFileSync(recordFile(dir, 'shared'), 'utf8')).seed, shared.seed, 'runs.jsonl holds the copy that won');
    fs.rmSync(dir, { recursive: true });
  });
});

describe('the committed reference runs.jsonl files', () => {
  const committed = fs
    .readdirSync(path.join(REPO_ROOT, 'results'))
    .map((e) => path.join(REPO_ROOT, 'results', e, 'cpu', 'runs.jsonl'))
    .filter((f) => fs.existsSync(f));

  test('are read exactly as before and a sync leaves their bytes as they are', () => {
    assert.ok(committed.length >= 6, `found ${committed.length}`);
    for (const f of committed) {
      const dir = tmpDir('committed');
      const copy = path.join(dir, 'runs.jsonl');
      fs.copyFileSync(f, copy);
      const before = fs.readFileSync(copy);
      const loaded = loadRecords(dir);
      assert.deepEqual(loaded.records, readRuns(f).records, f);
      assert.equal(loaded.unsynced, 0);
      assert.equal(syncRunsJsonl(dir), 0);
      // A new run finishing beside them is added after their unchanged bytes.
      publishRecord(dir, makeRecord({ runId: 'new-run', experiment: loaded.records[0].experiment, preset: 'cpu' }));
      const after = fs.readFileSync(copy);
      assert.ok(after.subarray(0, before.length).equals(before), `${f}: the committed bytes are kept`);
      assert.equal(readRuns(copy).records.length, loaded.records.length + 1);
      fs.rmSync(dir, { recursive: true });
    }
  });
});
