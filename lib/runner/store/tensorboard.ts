/**
 * TensorBoard event files for run records, so `tensorboard --logdir results/` shows every run's curves in the
 * viewer researchers already use. One folder per run (`<study>/<preset>/tensorboard/<row> · seed <s> · <runId>/`)
 * holding one file `events.out.tfevents.<finish time>.repro` with scalars:
 *
 *   train/<k>  the training history (loss, lr, gradNorm, … : every `history` series with a `step` beside it)
 *   eval/<k>   evaluations along training (`extra.curve`: kNN, probes, rank, held-out loss in mae-long; the
 *              `eval*` series of other studies' histories)
 *   final/<k>  the record's numeric metrics at the last step
 *
 * The format (TensorFlow's, read by TensorBoard without TensorFlow): TFRecord framing — uint64 length, masked
 * CRC-32C of the length, the bytes, masked CRC-32C of the bytes — around `Event` protobufs (wall_time 1: double,
 * step 2: int64, file_version 3: string, summary 5: Summary { value 1: Value { tag 1: string, simple_value 2:
 * float } }). The file is written whole and atomically from the record, so rewriting it gives the same bytes.
 */
import * as path from 'path';
import { writeFileAtomic } from '../../io/atomic';
import type { RunRecord } from './runs';

// ---------------------------------------------------------------------------------------------
// CRC-32C (Castagnoli) and TFRecord framing

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32C of `buf`. */
export function crc32c(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: rotate right by 15, add 0xa282ead8. */
function maskedCrc(buf: Uint8Array): number {
  const c = crc32c(buf);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

function tfRecord(data: Uint8Array): Buffer {
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(data.length));
  const head = Buffer.alloc(4);
  head.writeUInt32LE(maskedCrc(len));
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(maskedCrc(data));
  return Buffer.concat([len, head, Buffer.from(data), tail]);
}

// ---------------------------------------------------------------------------------------------
// The few protobuf encodings an Event needs

function varint(n: number | bigint): number[] {
  let v = BigInt(n);
  if (v < 0n) v += 1n << 64n; // int64 two's complement
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}

const key = (field: number, wire: number) => varint((field << 3) | wire);

function bytesField(field: number, data: Uint8Array): Buffer {
  return Buffer.from([...key(field, 2), ...varint(data.length), ...data]);
}

function scalarValue(tag: string, v: number): Buffer {
  const f = Buffer.alloc(4);
  f.writeFloatLE(v);
  return Buffer.concat([bytesField(1, Buffer.from(tag, 'utf8')), Buffer.from(key(2, 5)), f]);
}

function event(wallTime: number, step: number, body: Buffer): Buffer {
  const w = Buffer.alloc(8);
  w.writeDoubleLE(wallTime);
  return Buffer.concat([Buffer.from(key(1, 1)), w, Buffer.from([...key(2, 0), ...varint(step)]), body]);
}

/** The scalars of one step: tag → value. */
export type StepScalars = Map<number, Map<string, number>>;

/** The scalars TensorBoard shows for a run record (see the module comment), by step. */
export function recordScalars(rec: RunRecord): StepScalars {
  const out: StepScalars = new Map();
  const put = (step: number, tag: string, v: unknown) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || !Number.isFinite(step)) return;
    if (!out.has(step)) out.set(step, new Map());
    out.get(step)!.set(tag, v);
  };
  const h = rec.history ?? {};
  const steps = h.step ?? [];
  for (const [k, ys] of Object.entries(h)) {
    if (k === 'step' || k.endsWith('Step') || !Array.isArray(ys)) continue;
    // A series with its own step axis (`erank` on `rankStep`, `x` on `xStep`) is an evaluation; the others are
    // training series on `step` (the logging windows).
    const own = h[`${k}Step`] ?? (k === 'erank' ? h.rankStep : undefined);
    if (own && own.length === ys.length) ys.forEach((y, i) => put(own[i], `eval/${k}`, y));
    else if (ys.length === steps.length) ys.forEach((y, i) => put(steps[i], `train/${k}`, y));
  }
  const curve = (rec.extra as { curve?: { [k: string]: number[] } } | undefined)?.curve;
  if (curve && Array.isArray(curve.step)) {
    for (const [k, ys] of Object.entries(curve)) if (k !== 'step' && Array.isArray(ys)) ys.forEach((y, i) => put(curve.step[i], `eval/${k}`, y));
  }
  const last = Math.max(0, ...[...out.keys()], ...(steps.length ? [steps[steps.length - 1]] : []));
  for (const [k, v] of Object.entries(rec.metrics)) put(last, `final/${k}`, v);
  return out;
}

/** The bytes of a run's event file: the file_version event, then one event per step holding all its scalars. */
export function eventFileBytes(rec: RunRecord): Buffer {
  const t = Date.parse(rec.finishedAt) / 1000;
  const parts = [tfRecord(event(t, 0, bytesField(3, Buffer.from('brain.Event:2'))))];
  const scalars = recordScalars(rec);
  for (const step of [...scalars.keys()].sort((a, b) => a - b)) {
    const values = [...scalars.get(step)!.entries()].map(([tag, v]) => bytesField(1, scalarValue(tag, v)));
    parts.push(tfRecord(event(t, step, bytesField(5, Buffer.concat(values)))));
  }
  return Buffer.concat(parts);
}

/** A folder name for the run: its row, seed and id, with characters a path cannot hold replaced. */
export function runFolderName(rec: RunRecord): string {
  const row = rec.row.replace(/[/\\:*?"<>|\u0000-\u001f]/g, '_').slice(0, 80);
  return `${row} · seed ${rec.seed} · ${rec.runId}`;
}

/**
 * Writes the event file of each record under `<dir>/tensorboard/<run>/` (dir = the study's results folder);
 * returns the files written. `tensorboard --logdir <dir>/tensorboard` (or the whole results folder) shows them.
 */
export function writeEventFiles(dir: string, records: readonly RunRecord[]): string[] {
  return records.map((rec) => {
    const file = path.join(dir, 'tensorboard', runFolderName(rec), `events.out.tfevents.${Math.floor(Date.parse(rec.finishedAt) / 1000)}.repro`);
    return writeFileAtomic(file, eventFileBytes(rec));
  });
}
