import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'util';
import { ConfigError, DataError } from '../../lib/errors';
import { resolveConfig } from '../../lib/runner/run';
import { experiment } from '../../lib/studies/linear-theory';

test('bad-input errors print as name, message and the project frame that raised them (no kernel internals)', () => {
  let err: unknown;
  try {
    resolveConfig(experiment, 'smoke', { tau: -1 });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ConfigError);
  const shown = inspect(err).split('\n');
  assert.equal(shown[0], 'ConfigError: tau must be > 0; got -1');
  assert.ok(shown.length <= 2 && /[\\/]lib[\\/]/.test(shown[1] ?? ''), shown.join('\n'));
  assert.ok((err as Error).stack!.split('\n').length > 2, 'the stack itself stays whole');
  assert.equal(inspect(new DataError('x')).split('\n')[0], 'DataError: x');
});
