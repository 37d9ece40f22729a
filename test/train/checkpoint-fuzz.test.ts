/**
 * Fuzzes the checkpoint loader with 10,000+ mutated files: bit flips, truncations, huge declared
 * sizes, forged headers. Only the project's DataError may come out; nothing hangs or allocates
 * what a file merely declares.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { DataError } from '../../lib/errors';
import { Rng } from '../../lib/data/rng';
import { parseCheckpoint, saveCheckpoint } from '../../lib/train/checkpoint';

test('checkpoint loader: 12,000 mutated files give only DataError or a valid parse', () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'repro-ckfuzz-')), 'ck.bin');
  const ts = [tf.randomNormal([7, 5], 0, 1, 'float32', 1), tf.tensor1d([1, 2, 3], 'int32')];
  saveCheckpoint(file, [{ name: 'w', tensor: ts[0] }, { name: 'i', tensor: ts[1] }], { step: 3, task: { epoch: 1, position: 9 } });
  tf.dispose(ts);
  const good = fs.readFileSync(file);
  const rng = new Rng(42);
  const headerLen = good.readUInt32LE(8);
  let valid = 0;
  let rejected = 0;
  const t0 = Date.now();
  for (let i = 0; i < 12000; i++) {
    let b = Buffer.from(good);
    switch (i % 6) {
      case 0: // bit flips anywhere
        for (let k = 0; k <= rng.int(4); k++) b[rng.int(b.length)] ^= 1 << rng.int(8);
        break;
      case 1: // truncation
        b = b.subarray(0, rng.int(b.length));
        break;
      case 2: // a huge or wrong header length
        b.writeUInt32LE([0xffffffff, 0x7fffffff, headerLen + 1 + rng.int(100), rng.int(headerLen)][rng.int(4)], 8);
        break;
      case 3: { // forged header with consistent checksum but absurd shapes/offsets
        const h = JSON.parse(b.subarray(12, 12 + headerLen).toString());
        const t = h.tensors[rng.int(h.tensors.length)];
        const forge = [
          () => (t.shape = [1e9, 1e9]),
          () => (t.shape = [-1]),
          () => (t.offset = 2 ** 40),
          () => (t.offset = -4),
          () => (t.dtype = 'float64'),
          () => (h.tensors = { length: 1e12 }),
          () => (h.payloadBytes = 'x'),
          () => (h.tensors.push({ ...t })),
        ];
        forge[rng.int(forge.length)]();
        const hb = Buffer.from(JSON.stringify(h));
        const len = Buffer.alloc(4);
        len.writeUInt32LE(hb.length, 0);
        const rest = b.subarray(12 + headerLen, b.length - 32);
        const body = Buffer.concat([b.subarray(0, 8), len, hb, rest]);
        b = Buffer.concat([body, createHash('sha256').update(body).digest()]); // a valid checksum: the checks behind it must hold

        break;
      }
      case 4: // random bytes after a valid magic
        b = Buffer.concat([good.subarray(0, 8), Buffer.from(Array.from({ length: rng.int(200) }, () => rng.int(256)))]);
        break;
      default: // header bytes scrambled
        for (let k = 0; k < 3; k++) b[12 + rng.int(headerLen)] = rng.int(256);
    }
    try {
      parseCheckpoint(b, 'fuzz.bin');
      valid++;
    } catch (e) {
      assert.ok(e instanceof DataError, `mutation ${i} (kind ${i % 6}) threw ${(e as Error).name}: ${(e as Error).message}`);
      assert.match((e as Error).message, /^corrupt checkpoint fuzz\.bin: /);
      rejected++;
    }
  }
  assert.ok(rejected >= 11990, `only ${rejected} rejected, ${valid} parsed`);
  assert.ok(Date.now() - t0 < 30000, 'fuzzing took too long');
  void valid;
});
