/**
 * Checkpoints: one binary file per run, written atomically (temporary file, fsync, rename), so a
 * run killed at any moment (even during a write) leaves either the previous checkpoint or the new
 * one, never a torn file.
 *
 * Layout: `REPROCK1` | u32 LE header length H | H bytes of JSON header | payload of raw tensors |
 * SHA-256 of everything before it (32 bytes). The header lists every tensor (name, dtype, shape,
 * byte offset) and the run's JSON state (step, optimiser counter, RNG and data positions, history).
 * The loader trusts nothing the file declares: sizes are checked against the real file length
 * before anything is allocated.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { DataError } from '../errors';
import { writeError } from '../io/atomic';
import { pidAlive } from '../io/lock';

const MAGIC = Buffer.from('REPROCK1', 'ascii');
const MAX_HEADER = 64 * 1024 * 1024;

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface TensorEntry {
  name: string;
  dtype: 'float32' | 'int32';
  shape: number[];
  /** byte offset into the payload */
  offset: number;
}

export interface Checkpoint {
  /** Tensors by name, as typed arrays (the caller copies them into variables). */
  tensors: Map<string, { dtype: 'float32' | 'int32'; shape: number[]; values: Float32Array | Int32Array }>;
  state: Json;
}

/** Writes `named` tensors and `state` to `file` atomically. */
export function saveCheckpoint(file: string, named: { name: string; tensor: tf.Tensor }[], state: Json): void {
  const entries: TensorEntry[] = [];
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const { name, tensor } of named) {
    if (tensor.dtype !== 'float32' && tensor.dtype !== 'int32') {
      throw new Error(`checkpoint: tensor '${name}' has dtype ${tensor.dtype}; only float32 and int32 are stored`);
    }
    const data = tensor.dataSync() as Float32Array | Int32Array;
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    entries.push({ name, dtype: tensor.dtype, shape: tensor.shape.slice(), offset });
    chunks.push(Buffer.from(buf)); // copy: the typed array may be a view the engine reuses
    offset += buf.byteLength;
  }
  const payload = Buffer.concat(chunks);
  const header = Buffer.from(JSON.stringify({ version: 2, tensors: entries, state, payloadBytes: payload.byteLength }), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.byteLength, 0);
  const hash = createHash('sha256').update(MAGIC).update(len).update(header).update(payload).digest();
  writeAtomic(file, [MAGIC, len, header, payload, hash]);
}

/** Reads a checkpoint, or returns null when `file` does not exist. Throws DataError when it is corrupt. */
export function loadCheckpoint(file: string): Checkpoint | null {
  removeStaleTemporaries(file);
  let bytes: Buffer;
  try {
    if (fs.statSync(file).isDirectory()) {
      throw new DataError(`checkpoint path ${file} is a folder, not a checkpoint file; move it away (the run then restarts from scratch)`);
    }
    bytes = fs.readFileSync(file);
  } catch (e) {
    if (e instanceof DataError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    throw new DataError(`cannot read checkpoint ${file}: ${code ?? (e as Error).message}${code === 'EACCES' || code === 'EPERM' ? ' (permission denied: fix its permissions)' : ''}`);
  }
  return parseCheckpoint(bytes, file);
}

/** Parses checkpoint bytes; every inconsistency is a DataError naming `file` and what is wrong. */
export function parseCheckpoint(bytes: Buffer, file: string): Checkpoint {
  const bad = (what: string): never => {
    throw new DataError(`corrupt checkpoint ${file}: ${what}; delete it to restart this run from scratch`);
  };
  if (bytes.byteLength < 44) bad(`file is ${bytes.byteLength} bytes, shorter than the smallest checkpoint (44)`);
  if (!bytes.subarray(0, 8).equals(MAGIC)) bad(`wrong magic bytes (not a checkpoint of this project)`);
  const body = bytes.subarray(0, bytes.byteLength - 32);
  if (!createHash('sha256').update(body).digest().equals(bytes.subarray(bytes.byteLength - 32))) {
    bad('checksum mismatch (truncated or damaged)');
  }
  const h = bytes.readUInt32LE(8);
  if (h > MAX_HEADER || 12 + h > body.byteLength) bad(`header declares ${h} bytes but the file has ${body.byteLength - 12} after the preamble`);
  let header: unknown;
  try {
    header = JSON.parse(bytes.subarray(12, 12 + h).toString('utf8'));
  } catch (e) {
    return bad(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null) return bad('header is not an object');
  const hd = header as { version?: unknown; tensors?: unknown; state?: unknown; payloadBytes?: unknown };
  if (hd.version !== 2) bad(`unsupported version ${JSON.stringify(hd.version)}`);
  const payload = body.subarray(12 + h);
  if (hd.payloadBytes !== payload.byteLength) bad(`payload is ${payload.byteLength} bytes, header declares ${String(hd.payloadBytes)}`);
  if (!Array.isArray(hd.tensors)) return bad('header has no tensor list');
  const tensors: Checkpoint['tensors'] = new Map();
  for (const e of hd.tensors as unknown[]) {
    const t = e as Partial<TensorEntry>;
    if (typeof t !== 'object' || t === null || typeof t.name !== 'string') return bad('tensor entry without a name');
    if (t.dtype !== 'float32' && t.dtype !== 'int32') return bad(`tensor '${t.name}' has dtype ${String(t.dtype)}`);
    if (!Array.isArray(t.shape) || t.shape.some((d) => !Number.isInteger(d) || d < 0)) return bad(`tensor '${t.name}' has an invalid shape`);
    const size = t.shape.reduce((a, b) => a * b, 1);
    const off = t.offset;
    if (!Number.isInteger(off) || (off as number) < 0 || (off as number) + size * 4 > payload.byteLength) {
      return bad(`tensor '${t.name}' lies outside the payload`);
    }
    const slice = Buffer.from(payload.subarray(off as number, (off as number) + size * 4)); // aligned copy
    const values = t.dtype === 'float32'
      ? new Float32Array(slice.buffer, slice.byteOffset, size)
      : new Int32Array(slice.buffer, slice.byteOffset, size);
    if (tensors.has(t.name)) bad(`tensor '${t.name}' appears twice`);
    tensors.set(t.name, { dtype: t.dtype, shape: t.shape as number[], values });
  }
  return { tensors, state: (hd.state ?? null) as Json };
}

/**
 * Copies checkpoint tensors into variables by name. Every variable must be present with the same
 * shape, else a DataError says which one differs (a checkpoint from another config).
 */
export function restoreVariables(ck: Checkpoint, named: { name: string; variable: tf.Variable }[], file: string): void {
  for (const { name, variable } of named) {
    const t = ck.tensors.get(name);
    if (!t) throw new DataError(`checkpoint ${file} has no tensor '${name}'; it was written by another model config`);
    if (t.shape.join(',') !== variable.shape.join(',')) {
      throw new DataError(`checkpoint ${file}: '${name}' has shape [${t.shape}] in the file and [${variable.shape}] in the model`);
    }
    tf.tidy(() => variable.assign(tf.tensor(t.values, t.shape, t.dtype)));
  }
}

/** Deletes `<file>.tmp-<pid>` files left by processes that were killed mid-write (their pid is gone). */
function removeStaleTemporaries(file: string): void {
  const dir = path.dirname(file);
  const prefix = `${path.basename(file)}.tmp-`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (!Number.isInteger(pid) || pid === process.pid || pidAlive(pid)) continue;
    fs.rmSync(path.join(dir, name), { force: true });
  }
}


/** Writes parts to `file` through a temporary file in the same folder, fsync and rename. */
export function writeAtomic(file: string, parts: (Buffer | string)[]): void {
  // Every failure names the file and the fix (a bare `ENOSPC: no space left on device, write` does neither);
  // the previous checkpoint stays intact.
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
  } catch (e) {
    throw writeError(e, 'create the checkpoint folder', path.dirname(file));
  }
  const tmp = `${file}.tmp-${process.pid}`;
  let fd: number;
  try {
    // 'w' without following a link (a planted one at this predictable name would be written through)
    fd = fs.openSync(tmp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW, 0o644);
  } catch (e) {
    throw writeError(e, 'write the checkpoint', tmp);
  }
  try {
    for (const [i, p] of parts.entries()) {
      fs.writeSync(fd, typeof p === 'string' ? Buffer.from(p) : p);
      if (i === 0) faultPoint('checkpoint-write');
    }
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw writeError(e, 'write the checkpoint', `${file} (the previous checkpoint, if any, is intact)`);
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw writeError(e, 'replace the checkpoint', file);
  }
  try {
    const dfd = fs.openSync(path.dirname(file), 'r');
    fs.fsyncSync(dfd);
    fs.closeSync(dfd);
  } catch {
    /* directory fsync is best-effort (not supported everywhere) */
  }
}

let faultCount = 0;
/**
 * Fault injection for the kill test: with `REPRO_FAULT=<point>:<n>`, the n-th time the process
 * reaches `point` it kills itself with SIGKILL (e.g. halfway through writing a checkpoint).
 */
export function faultPoint(point: string): void {
  const spec = process.env.REPRO_FAULT;
  if (!spec) return;
  const [name, n] = spec.split(':');
  if (name !== point) return;
  faultCount += 1;
  if (faultCount === Number(n)) process.kill(process.pid, 'SIGKILL');
}
