import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressBar } from '../../lib/train/progress';

test('progress: redraws on a timer without updates, and stops with finish()', async () => {
  const lines: string[] = [];
  const bar = new ProgressBar('runs', 4, { write: (s) => lines.push(s), inPlace: true, tick: 0.3 });
  await new Promise((r) => setTimeout(r, 1050));
  assert.ok(lines.length >= 3, `expected timer redraws, got ${lines.length}`);
  assert.match(lines[lines.length - 1], /^\rruns \[\.+\] 0\/4 0% 00:0\d<--:-- /);
  bar.finish('done');
  const n = lines.length;
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(lines.length, n, 'no redraw after finish()');
});

test('progress: the ETA is measured from the first progress, not from the start (start-up excluded)', async () => {
  const lines: string[] = [];
  const bar = new ProgressBar('runs', 10, { write: (s) => lines.push(s), inPlace: false, every: 0, tick: 0 });
  await new Promise((r) => setTimeout(r, 1200)); // start-up: nothing done
  bar.update(1);
  assert.match(lines[lines.length - 1], /<--:-- /, 'no ETA from a single point');
  await new Promise((r) => setTimeout(r, 1100));
  bar.update(2); // 1 item in ~1.1 s since the first progress -> ~9 s left (not ~18 s from the start)
  const eta = /<(\d\d):(\d\d) /.exec(lines[lines.length - 1]);
  assert.ok(eta, lines[lines.length - 1]);
  const sec = Number(eta[1]) * 60 + Number(eta[2]);
  assert.ok(sec >= 7 && sec <= 11, `ETA ${sec} s`);
  bar.stop();
});
