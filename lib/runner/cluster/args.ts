/**
 * `--set key.path=value` for the sweep command: the same syntax and checks as run-experiment's
 * (the array tasks get the strings verbatim), so it is the one parser of lib/runner/cli.ts.
 */
export { parseSet as parseSetArg } from '../cli';
