/**
 * TensorBoard event files (lib/runner/store/tensorboard.ts), read back by an independent parser: a Python
 * script that checks TFRecord's framing and masked CRC-32C itself and decodes the Event protobufs with
 * Google's protobuf library (python3-protobuf) from a descriptor of TensorFlow's event.proto / summary.proto.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { crc32c, writeEventFiles } from '../../../lib/runner/store/tensorboard';
import { makeRecord } from '../../report/helpers';

const READER = String.raw`
import json, struct, sys
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

def crc32c(data):
    crc = 0xffffffff
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82f63b78 if crc & 1 else crc >> 1
    return crc ^ 0xffffffff

def masked(data):
    c = crc32c(data)
    return ((((c >> 15) | (c << 17)) & 0xffffffff) + 0xa282ead8) & 0xffffffff

f = descriptor_pb2.FileDescriptorProto(name='tb.proto', package='tensorboard')
F = descriptor_pb2.FieldDescriptorProto
v = f.message_type.add(name='Value')
v.field.add(name='tag', number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
v.field.add(name='simple_value', number=2, type=F.TYPE_FLOAT, label=F.LABEL_OPTIONAL)
s = f.message_type.add(name='Summary')
s.field.add(name='value', number=1, type=F.TYPE_MESSAGE, type_name='.tensorboard.Value', label=F.LABEL_REPEATED)
e = f.message_type.add(name='Event')
e.field.add(name='wall_time', number=1, type=F.TYPE_DOUBLE, label=F.LABEL_OPTIONAL)
e.field.add(name='step', number=2, type=F.TYPE_INT64, label=F.LABEL_OPTIONAL)
e.field.add(name='file_version', number=3, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
e.field.add(name='summary', number=5, type=F.TYPE_MESSAGE, type_name='.tensorboard.Summary', label=F.LABEL_OPTIONAL)
pool = descriptor_pool.DescriptorPool()
pool.Add(f)
get = getattr(message_factory, 'GetMessageClass', None)
Event = get(pool.FindMessageTypeByName('tensorboard.Event')) if get else message_factory.MessageFactory(pool).GetPrototype(pool.FindMessageTypeByName('tensorboard.Event'))

buf = open(sys.argv[1], 'rb').read()
out, pos = [], 0
while pos < len(buf):
    (n,) = struct.unpack('<Q', buf[pos:pos + 8])
    assert struct.unpack('<I', buf[pos + 8:pos + 12])[0] == masked(buf[pos:pos + 8]), 'length crc'
    data = buf[pos + 12:pos + 12 + n]
    assert struct.unpack('<I', buf[pos + 12 + n:pos + 16 + n])[0] == masked(data), 'data crc'
    pos += 16 + n
    ev = Event()
    ev.ParseFromString(data)
    if ev.file_version:
        out.append({'version': ev.file_version, 'wall': ev.wall_time})
    for val in ev.summary.value:
        out.append({'step': ev.step, 'tag': val.tag, 'value': val.simple_value})
print(json.dumps(out))
`;

test('CRC-32C: the standard check value', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
});

test('event files are read back by an independent parser: framing, CRCs, steps, tags and values', () => {
  const rec = makeRecord({
    runId: 'tb1',
    row: 'α_min=0.6 / skips',
    seed: 2,
    metrics: { knn: 0.3125, params: 1000, note: 'text is not a scalar' },
    history: { step: [10, 20], loss: [1.5, 0.75], lr: [0.001, 0.0005], rankStep: [20], erank: [12.5] },
    extra: { curve: { step: [10, 20], knn: [0.25, 0.3125], evalLoss: [0.6, 0.5] } },
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-tb-'));
  const [file] = writeEventFiles(dir, [rec]);
  assert.equal(path.basename(path.dirname(file)), 'α_min=0.6 _ skips · seed 2 · tb1');
  assert.match(path.basename(file), /^events\.out\.tfevents\.\d+\.repro$/);
  const py = fs.mkdtempSync(path.join(os.tmpdir(), 'repro-tb-py-'));
  fs.writeFileSync(path.join(py, 'read.py'), READER);
  // Debian's python3 holds python3-protobuf (npm run setup installs it); a python3 earlier on the PATH may not
  const python = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import google.protobuf'], { encoding: 'utf8' }).status === 0);
  assert.ok(python, 'no python3 with google.protobuf: npm run setup installs python3-protobuf');
  const r = spawnSync(python, [path.join(py, 'read.py'), file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as { step?: number; tag?: string; value?: number; version?: string; wall?: number }[];
  assert.deepEqual(got[0], { version: 'brain.Event:2', wall: Date.parse(rec.finishedAt) / 1000 });
  const scalars = got.slice(1).map((x) => `${x.step} ${x.tag} ${Number(x.value!.toPrecision(6))}`).sort();
  assert.deepEqual(scalars, [
    '10 eval/evalLoss 0.6', '10 eval/knn 0.25', '10 train/loss 1.5', '10 train/lr 0.001',
    '20 eval/erank 12.5', '20 eval/evalLoss 0.5', '20 eval/knn 0.3125', '20 final/knn 0.3125', '20 final/params 1000', '20 train/loss 0.75', '20 train/lr 0.0005',
  ].sort());
  // written again from the same record: the same bytes
  const bytes = fs.readFileSync(file);
  writeEventFiles(dir, [rec]);
  assert.deepEqual(fs.readFileSync(file), bytes);
});
