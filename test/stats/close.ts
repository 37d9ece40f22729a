import assert from 'node:assert/strict';

/** Asserts |actual − expected| ≤ rel·|expected| + abs, naming `what` and both numbers. */
export function close(actual: number | null, expected: number, rel: number, what: string, abs = 0): void {
  assert.equal(typeof actual, 'number', `${what}: got ${actual}`);
  assert.ok(!Number.isNaN(actual), `${what}: got NaN`);
  const err = Math.abs((actual as number) - expected);
  assert.ok(err <= rel * Math.abs(expected) + abs, `${what}: got ${actual}, scipy ${expected} (|error| ${err.toExponential(2)}, relative ${(err / Math.abs(expected)).toExponential(2)})`);
}

/** Every number in a (nested) result is not NaN. */
export function noNaN(value: unknown, what: string): void {
  const walk = (v: unknown, path: string): void => {
    if (typeof v === 'number') assert.ok(!Number.isNaN(v), `${what}${path} is NaN`);
    else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
  };
  walk(value, '');
}
