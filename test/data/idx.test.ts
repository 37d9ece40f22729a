import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { encodeIdx, parseIdx, readIdx, IdxType } from '../../lib/data/idx';
import { DataError } from '../../lib/errors';

/** Asserts that `fn` throws a DataError whose message is exactly `message`. */
function throwsData(fn: () => unknown, message: string) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DataError, `expected DataError, got ${e}`);
    assert.equal((e as Error).message, message);
    return true;
  });
}

function header(type: number, dims: number[]): Buffer {
  const b = Buffer.alloc(4 + 4 * dims.length);
  b[2] = type;
  b[3] = dims.length;
  dims.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
  return b;
}

describe('IDX reader', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idx-test-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const cases: { type: IdxType; dims: number[]; data: number[] }[] = [
    { type: 'uint8', dims: [2, 3, 2], data: [0, 1, 2, 127, 128, 255, 9, 8, 7, 6, 5, 4] },
    { type: 'int8', dims: [4], data: [-128, -1, 0, 127] },
    { type: 'int16', dims: [2, 2], data: [-32768, -2, 258, 32767] },
    { type: 'int32', dims: [3], data: [-2147483648, 16909060, 2147483647] },
    { type: 'float32', dims: [1, 3], data: [0.5, -1.25, 3.0000001e30].map(Math.fround) },
    { type: 'float64', dims: [2], data: [Math.PI, -1e-300] },
  ];
  for (const c of cases) {
    for (const gz of [false, true]) {
      test(`round trip ${c.type} [${c.dims}] ${gz ? 'gzip' : 'raw'} through a file`, () => {
        const file = path.join(dir, `${c.type}${gz ? '.gz' : ''}`);
        fs.writeFileSync(file, encodeIdx(c, gz));
        const bytes = fs.readFileSync(file);
        assert.equal(bytes[0] === 0x1f && bytes[1] === 0x8b, gz);
        const got = readIdx(file);
        assert.equal(got.type, c.type);
        assert.deepEqual(got.dims, c.dims);
        assert.deepEqual(Array.from(got.data), c.data);
      });
    }
  }

  test('big-endian layout on disk matches the MNIST spec', () => {
    const b = encodeIdx({ type: 'uint8', dims: [1, 2, 2], data: [1, 2, 3, 4] });
    assert.deepEqual(Array.from(b), [0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4]);
  });

  test('wrong magic', () => {
    throwsData(() => parseIdx(Buffer.from([1, 2, 8, 1, 0, 0, 0, 0]), 'x.idx'), "x.idx: wrong magic number 0x01020801; an IDX file starts with 0x00 0x00 <type> <ndims>");
    throwsData(() => parseIdx(Buffer.from('PK\x03\x04 a zip file'), 'a.zip'), 'a.zip: wrong magic number 0x504b0304; an IDX file starts with 0x00 0x00 <type> <ndims>');
  });
  test('wrong type code', () => {
    throwsData(() => parseIdx(header(0x0a, [1]), 'f'), 'f: wrong type code 0x0a; expected one of 0x08 (uint8), 0x09 (int8), 0x0b (int16), 0x0c (int32), 0x0d (float32), 0x0e (float64)');
  });
  test('zero and too many dims', () => {
    throwsData(() => parseIdx(header(8, []), 'f'), 'f: no dimensions (ndims = 0)');
    throwsData(() => parseIdx(header(8, new Array(9).fill(1)), 'f'), 'f: too many dims: 9 (at most 8)');
  });
  test('truncated header', () => {
    throwsData(() => parseIdx(Buffer.from([0, 0, 8]), 'f'), 'f: truncated header: expected at least 4 bytes got 3');
    throwsData(() => parseIdx(Buffer.from([0, 0, 8, 3, 0, 0, 0, 1, 0, 0]), 'f'), 'f: truncated header: expected 16 bytes for 3 dims got 10');
  });
  test('truncated data: expected N bytes got M', () => {
    const full = encodeIdx({ type: 'int16', dims: [2, 3], data: [1, 2, 3, 4, 5, 6] });
    throwsData(() => parseIdx(full.subarray(0, full.length - 3), 'f'), 'f: truncated: expected 12 bytes of data for [2, 3] int16 got 9');
  });
  test('trailing bytes', () => {
    const full = encodeIdx({ type: 'uint8', dims: [2], data: [1, 2] });
    throwsData(() => parseIdx(Buffer.concat([full, Buffer.from([0, 0])]), 'f'), 'f: trailing bytes: expected 2 bytes of data for [2] uint8 got 4 (2 extra)');
  });
  test('huge declared sizes are refused from the byte count, exactly, without allocating', () => {
    const h = Buffer.concat([header(0x0e, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]), Buffer.alloc(8)]);
    const before = process.memoryUsage().arrayBuffers;
    throwsData(
      () => parseIdx(h, 'big'),
      'big: truncated: expected 2722258932832206508135981771861358805000 bytes of data for [4294967295, 4294967295, 4294967295, 4294967295] float64 got 8',
    );
    assert.ok(process.memoryUsage().arrayBuffers - before < 1e6);
  });
  test('gzip: corrupt stream, and output bounded by maxBytes (a gzip bomb stops at the bound)', () => {
    const gz = encodeIdx({ type: 'uint8', dims: [100], data: new Array(100).fill(3) }, true);
    const broken = Buffer.from(gz);
    broken.fill(0xff, 10, 20);
    assert.throws(() => parseIdx(broken, 'b.gz'), (e: unknown) => e instanceof DataError && /^b\.gz: corrupt gzip data \(/.test((e as Error).message));
    throwsData(() => parseIdx(gz.subarray(0, gz.length - 10), 't.gz'), 't.gz: corrupt gzip data (unexpected end of file)');
    const bomb = zlib.gzipSync(Buffer.alloc(50 * 1024 * 1024)); // 50 MB of zeros in ~50 kB
    throwsData(() => parseIdx(bomb, 'bomb.gz', { maxBytes: 1 << 20 }), 'bomb.gz: decompresses to more than 1048576 bytes (the bound for an IDX file)');
  });
  test('a missing file names the file', () => {
    const f = path.join(dir, 'nope');
    assert.throws(() => readIdx(f), (e: unknown) => e instanceof DataError && (e as Error).message.startsWith(`${f}: cannot read (ENOENT`));
  });
  test('data is a fresh copy, not a view into the input buffer', () => {
    const b = encodeIdx({ type: 'uint8', dims: [3], data: [1, 2, 3] });
    const got = parseIdx(b, 'f');
    b[b.length - 1] = 99;
    assert.deepEqual(Array.from(got.data), [1, 2, 3]);
    assert.equal(got.data.byteOffset, 0);
    assert.equal(got.data.buffer.byteLength, 3);
  });
});
