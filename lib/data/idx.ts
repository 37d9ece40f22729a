/**
 * IDX files, the format of MNIST and Fashion-MNIST (LeCun et al., http://yann.lecun.com/exdb/mnist/):
 *
 *   bytes 0-1  0x00 0x00
 *   byte  2    element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
 *   byte  3    number of dimensions d
 *   then d big-endian uint32 sizes, then the elements, big-endian, row-major.
 *
 * Files may be gzip-compressed (detected by the magic bytes 1f 8b, not by the name).
 *
 * Nothing here allocates what a file merely declares: the declared element count is checked
 * against the bytes actually present before any array is made, and gunzip runs with a
 * `maxOutputLength` bound, so a corrupt or hostile file costs at most its own size (or the bound).
 * Every failure is a DataError naming the file and what is wrong.
 */
import * as fs from 'fs';
import * as zlib from 'zlib';
import { DataError } from '../errors';

export type IdxType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  type: IdxType;
  /** Sizes, outermost first, e.g. [60000, 28, 28]. */
  dims: number[];
  /** The elements in row-major order (a fresh copy, host byte order). */
  data: IdxData;
}

const TYPES: Record<number, { type: IdxType; size: number }> = {
  0x08: { type: 'uint8', size: 1 },
  0x09: { type: 'int8', size: 1 },
  0x0b: { type: 'int16', size: 2 },
  0x0c: { type: 'int32', size: 4 },
  0x0d: { type: 'float32', size: 4 },
  0x0e: { type: 'float64', size: 8 },
};
const TYPE_CODE: Record<IdxType, number> = { uint8: 0x08, int8: 0x09, int16: 0x0b, int32: 0x0c, float32: 0x0d, float64: 0x0e };

/** More dimensions than any real IDX file has; a larger count means a corrupt header. */
export const IDX_MAX_DIMS = 8;
/** Default bound on a decompressed IDX file: 1 GiB (Fashion-MNIST's largest is 47 MB). */
export const IDX_DEFAULT_MAX_BYTES = 1 << 30;

export interface IdxOptions {
  /** Bound on the (decompressed) file size in bytes; larger files are rejected. */
  maxBytes?: number;
}

function hex(n: number, width = 2): string {
  return '0x' + n.toString(16).padStart(width, '0');
}

/** True when the bytes start with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Gunzips with an output bound; every zlib failure becomes a DataError naming `name`. */
export function gunzipBounded(bytes: Uint8Array, name: string, maxBytes: number): Buffer {
  try {
    return zlib.gunzipSync(bytes, { maxOutputLength: maxBytes });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new DataError(`${name}: decompresses to more than ${maxBytes} bytes (the bound for an IDX file)`);
    }
    throw new DataError(`${name}: corrupt gzip data (${err.message})`);
  }
}

/**
 * Parses IDX bytes (raw or gzip). `name` is the file name used in error messages.
 * Throws DataError on: wrong magic, unknown type code, zero or too many dims, truncated data,
 * trailing bytes, corrupt gzip, or a file larger than `maxBytes`.
 */
export function parseIdx(input: Uint8Array, name: string, opts: IdxOptions = {}): IdxArray {
  const maxBytes = opts.maxBytes ?? IDX_DEFAULT_MAX_BYTES;
  let bytes = input;
  if (isGzip(bytes)) bytes = gunzipBounded(bytes, name, maxBytes);
  else if (bytes.length > maxBytes) throw new DataError(`${name}: ${bytes.length} bytes is more than the bound of ${maxBytes} bytes for an IDX file`);

  if (bytes.length < 4) throw new DataError(`${name}: truncated header: expected at least 4 bytes got ${bytes.length}`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const magic = ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
    throw new DataError(`${name}: wrong magic number ${hex(magic, 8)}; an IDX file starts with 0x00 0x00 <type> <ndims>`);
  }
  const t = TYPES[bytes[2]];
  if (!t) {
    throw new DataError(`${name}: wrong type code ${hex(bytes[2])}; expected one of 0x08 (uint8), 0x09 (int8), 0x0b (int16), 0x0c (int32), 0x0d (float32), 0x0e (float64)`);
  }
  const ndims = bytes[3];
  if (ndims === 0) throw new DataError(`${name}: no dimensions (ndims = 0)`);
  if (ndims > IDX_MAX_DIMS) throw new DataError(`${name}: too many dims: ${ndims} (at most ${IDX_MAX_DIMS})`);
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) {
    throw new DataError(`${name}: truncated header: expected ${headerBytes} bytes for ${ndims} dims got ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  // BigInt so a product of four 2^32 sizes is exact in the message instead of overflowing
  let count = 1n;
  for (let i = 0; i < ndims; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= BigInt(d);
  }
  const expected = count * BigInt(t.size);
  const got = BigInt(bytes.length - headerBytes);
  const shape = `[${dims.join(', ')}] ${t.type}`;
  if (got < expected) throw new DataError(`${name}: truncated: expected ${expected} bytes of data for ${shape} got ${got}`);
  if (got > expected) throw new DataError(`${name}: trailing bytes: expected ${expected} bytes of data for ${shape} got ${got} (${got - expected} extra)`);

  // only now, with the size proven by bytes present, allocate
  const n = Number(count);
  const off = headerBytes;
  let data: IdxData;
  switch (t.type) {
    case 'uint8':
      data = new Uint8Array(bytes.subarray(off, off + n)); // a copy: never a view into a pooled Buffer
      break;
    case 'int8':
      data = new Int8Array(n);
      for (let i = 0; i < n; i++) data[i] = view.getInt8(off + i);
      break;
    case 'int16':
      data = new Int16Array(n);
      for (let i = 0; i < n; i++) data[i] = view.getInt16(off + 2 * i, false);
      break;
    case 'int32':
      data = new Int32Array(n);
      for (let i = 0; i < n; i++) data[i] = view.getInt32(off + 4 * i, false);
      break;
    case 'float32':
      data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = view.getFloat32(off + 4 * i, false);
      break;
    case 'float64':
      data = new Float64Array(n);
      for (let i = 0; i < n; i++) data[i] = view.getFloat64(off + 8 * i, false);
      break;
  }
  return { type: t.type, dims, data };
}

/** Reads an IDX file (raw or gzip). The size on disk is checked before reading. */
export function readIdx(file: string, opts: IdxOptions = {}): IdxArray {
  const maxBytes = opts.maxBytes ?? IDX_DEFAULT_MAX_BYTES;
  let bytes: Buffer;
  try {
    const size = fs.statSync(file).size;
    if (size > maxBytes) throw new DataError(`${file}: ${size} bytes is more than the bound of ${maxBytes} bytes for an IDX file`);
    bytes = fs.readFileSync(file);
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(`${file}: cannot read (${(e as Error).message})`);
  }
  return parseIdx(bytes, file, opts);
}

/** Encodes an IDX file (big-endian); `gzip` compresses it. Used by tests and by dataset caches. */
export function encodeIdx(arr: { type: IdxType; dims: number[]; data: ArrayLike<number> }, gzip = false): Buffer {
  const size = Object.values(TYPES).find((t) => t.type === arr.type)!.size;
  const n = arr.dims.reduce((a, b) => a * b, 1);
  if (n !== arr.data.length) throw new DataError(`encodeIdx: dims [${arr.dims.join(', ')}] hold ${n} elements but data has ${arr.data.length}`);
  const out = Buffer.alloc(4 + 4 * arr.dims.length + n * size);
  out[2] = TYPE_CODE[arr.type];
  out[3] = arr.dims.length;
  arr.dims.forEach((d, i) => out.writeUInt32BE(d, 4 + 4 * i));
  const off = 4 + 4 * arr.dims.length;
  for (let i = 0; i < n; i++) {
    const v = arr.data[i];
    switch (arr.type) {
      case 'uint8': out.writeUInt8(v, off + i); break;
      case 'int8': out.writeInt8(v, off + i); break;
      case 'int16': out.writeInt16BE(v, off + 2 * i); break;
      case 'int32': out.writeInt32BE(v, off + 4 * i); break;
      case 'float32': out.writeFloatBE(v, off + 4 * i); break;
      case 'float64': out.writeDoubleBE(v, off + 8 * i); break;
    }
  }
  return gzip ? zlib.gzipSync(out) : out;
}
