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

test('progress: the final line of a call stopped short counts only what finished (no full bar, no 100 %)', () => {
  const lines: string[] = [];
  const bar = new ProgressBar('mae-sweep/smoke', 16, { write: (s) => lines.push(s), inPlace: true, tick: 0 });
  bar.update(0.6, 'run 1: step 30/50'); // a run in flight, counted fractionally while it runs
  bar.finish('0 ok, 0 failed, 1 interrupted, 15 not started in 00:07', 0);
  const last = lines[lines.length - 1];
  assert.match(last, /^\rmae-sweep\/smoke \[\.{24}\] 0\/16 0% 00:0\d 0 ok, 0 failed, 1 interrupted, 15 not started in 00:07 *\n$/);
  assert.doesNotMatch(last, /#|100%|<|run\/s/);

  const part: string[] = [];
  const b2 = new ProgressBar('runs', 4, { write: (s) => part.push(s), inPlace: false, tick: 0 });
  b2.finish('3 ok, 1 interrupted', 3);
  assert.match(part[part.length - 1], /^runs \[#{18}\.{6}\] 3\/4 75% 00:00 3 ok, 1 interrupted\n$/);

  const full: string[] = [];
  const b3 = new ProgressBar('runs', 4, { write: (s) => full.push(s), inPlace: false, tick: 0 });
  b3.finish('4 ok'); // no count given: the work is complete
  assert.match(full[full.length - 1], /^runs \[#{24}\] 4\/4 100% 00:00</);
});
