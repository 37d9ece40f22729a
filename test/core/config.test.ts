import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, checkPreset, configHash, mergeChecked } from '../../lib/config';
import { checkNumber, checkOneOf, ConfigError } from '../../lib/errors';
import { resolveConfig } from '../../lib/runner/run';
import { experiment as setupCheck } from '../../lib/studies/setup-check';

test('mergeChecked merges nested objects and rejects unknown keys with the valid ones', () => {
  const base = { a: 1, train: { lr: 0.1, steps: 10 }, seeds: [0, 1] };
  assert.deepEqual(mergeChecked(base, { train: { lr: 0.2 }, seeds: [5] }, 'cfg'), { a: 1, train: { lr: 0.2, steps: 10 }, seeds: [5] });
  assert.throws(() => mergeChecked(base, { train: { lrr: 1 } }, 'cfg'), /unknown key 'lrr' in cfg\.train; expected one of lr, steps/);
  assert.throws(() => mergeChecked(base, { b: 1 }, 'cfg'), ConfigError);
  assert.throws(() => mergeChecked(base, { a: '3' }, 'cfg'), /^ConfigError: cfg\.a must be a number; got '3'$/);
  assert.throws(() => mergeChecked(base, { seeds: 3 }, 'cfg'), /cfg\.seeds must be a list; got 3/);
  assert.throws(() => mergeChecked(base, { train: 'fast' }, 'cfg'), /cfg\.train must be an object; got 'fast'/);
  assert.deepEqual(base.train, { lr: 0.1, steps: 10 }, 'the defaults are not mutated');
});

test('configHash ignores key order and differs on any value', () => {
  assert.equal(configHash({ a: 1, b: { c: [1, 2] } }), configHash({ b: { c: [1, 2] }, a: 1 }));
  assert.notEqual(configHash({ a: 1 }), configHash({ a: 1.0000001 }));
  assert.equal(canonicalJson({ b: 1, a: undefined, c: 'x' }), '{"b":1,"c":"x"}');
  assert.throws(() => canonicalJson({ a: NaN }), /finite numbers only/);
});

test('value checks name the value and the valid range', () => {
  assert.throws(() => checkNumber('alphaMin', 1.3, { lo: 0, loOpen: true, hi: 1 }), /^ConfigError: alphaMin must be \(0, 1\]; got 1\.3$/);
  assert.throws(() => checkOneOf('wiring', 'decay', ['residual', 'decayed']), /unknown wiring 'decay'; expected one of residual, decayed/);
  assert.throws(() => checkPreset('fast'), /unknown preset 'fast'; expected one of smoke, cpu, paper/);
});

test('an experiment rejects an override of a field that does not exist, or a bad value, before any work', () => {
  assert.throws(() => resolveConfig(setupCheck, 'smoke', { hiden: 3 } as never), /unknown key 'hiden' in setup-check overrides; expected one of hidden, /);
  assert.throws(() => resolveConfig(setupCheck, 'smoke', { train: { steps: -5 } }), /train\.steps must be an integer in \[1, 10000000\]; got -5/);
  assert.equal(resolveConfig(setupCheck, 'smoke').hidden, 64);
});

test('issue 31, 8: an override of the wrong kind (Map, Date, an object with a prototype) is a ConfigError, not ignored', () => {
  const base = { train: { steps: 10, lr: 0.1 }, name: 'x' };
  assert.throws(() => mergeChecked(base, { train: new Map([['steps', 5]]) }, 'cfg'), (e: Error) => e instanceof ConfigError && /cfg\.train must be an object; got a Map: /.test(e.message));
  assert.throws(() => mergeChecked(base, { train: new Date(0) }, 'cfg'), /cfg\.train must be an object; got a Date: /);
  assert.throws(() => mergeChecked(base, { train: Object.create({ steps: 5 }) }, 'cfg'), /cfg\.train must be an object; got an object with a prototype \(not plain data\): /);
  assert.throws(() => mergeChecked(base, new Map(), 'cfg'), /cfg must be an object; got a Map: /);
  // plain data from another realm (a notebook's vm context) and prototype-less objects are plain
  const vm = require('vm') as typeof import('vm');
  const foreign = vm.runInNewContext('({ train: { steps: 5 } })');
  assert.equal(mergeChecked(base, foreign, 'cfg').train.steps, 5);
  const bare = Object.assign(Object.create(null), { steps: 7 });
  assert.equal(mergeChecked(base, { train: bare }, 'cfg').train.steps, 7);
});

test('issue 31, minor: a 100 kB value is cut in messages (with its length); a non-object wiring names what is expected', () => {
  const { show } = require('../../lib/errors') as typeof import('../../lib/errors');
  const long = 'x'.repeat(100_000);
  const s = show(long);
  assert.ok(s.length < 260, `${s.length} characters`);
  assert.match(s, /^'x{200}…' \(100000 characters\)$/);
  assert.throws(() => resolveConfig(setupCheck, 'smoke', { hidden: long } as never), (e: Error) => e.message.length < 500 && /100000 characters/.test(e.message));
  const { validateWiring } = require('../../lib/residual/config') as typeof import('../../lib/residual/config');
  assert.throws(() => validateWiring(null as never), /the wiring config must be an object such as \{ kind: 'decayed', alphaMin: 0\.6 \} \(kinds: residual, .*\); got null/);
});
