/** `--set key.path=value` for the sweep command: the same syntax run-experiment accepts (the tasks get the strings verbatim). */
import { ConfigError, show } from '../errors';

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

/** `a.b=3` -> { a: { b: 3 } } merged into `into`; values parse as JSON when they can, else stay strings. */
export function parseSetArg(s: string, into: Record<string, unknown>): void {
  const eq = s.indexOf('=');
  if (eq < 1) throw new ConfigError(`--set expects key=value; got ${show(s)}`);
  const keys = s.slice(0, eq).split('.');
  for (const k of keys) {
    if (k === '' || FORBIDDEN.has(k)) throw new ConfigError(`--set ${show(s)}: invalid key ${show(k)} in '${s.slice(0, eq)}'`);
  }
  const raw = s.slice(eq + 1);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    value = raw;
  }
  let o = into;
  for (const k of keys.slice(0, -1)) {
    const next = Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined;
    if (next !== undefined && (typeof next !== 'object' || next === null || Array.isArray(next))) {
      throw new ConfigError(`--set ${show(s)}: '${k}' was already set to ${show(next)}, not an object`);
    }
    o = (next ?? (o[k] = {})) as Record<string, unknown>;
  }
  o[keys[keys.length - 1]] = value;
}
