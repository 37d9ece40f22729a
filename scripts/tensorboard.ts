#!/usr/bin/env node
/**
 * `npm run tensorboard [-- <study> ...] [--preset cpu]`: writes TensorBoard event files for the finished runs
 * of the studies (all by default) under `results/<study>/<preset>/tensorboard/`, then says how to view them:
 * `tensorboard --logdir results/`. New runs get theirs when they finish; this fills in the committed ones.
 */
import * as fs from 'fs';
import * as path from 'path';
import { checkPreset, type PresetName } from '../lib/config';
import { experimentDir, resultsRoot } from '../lib/paths';
import { loadRecords } from '../lib/runner/store/records';
import { writeEventFiles } from '../lib/runner/store/tensorboard';
import { isStudyName, STUDY_NAMES } from '../lib/studies';

function main(): void {
  const args = process.argv.slice(2);
  let preset: PresetName = 'cpu';
  const studies: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--preset') preset = checkPreset(args[++i]);
    else if (isStudyName(args[i])) studies.push(args[i]);
    else throw new Error(`unknown argument '${args[i]}'; expected study names (${STUDY_NAMES.join(', ')}) and --preset smoke|cpu|paper`);
  }
  let total = 0;
  for (const s of studies.length ? studies : STUDY_NAMES) {
    const dir = experimentDir(s, preset);
    if (!fs.existsSync(dir)) continue;
    const { records } = loadRecords(dir);
    total += writeEventFiles(dir, records).length;
    if (records.length) console.log(`${s}/${preset}: ${records.length} run(s) -> ${path.relative(process.cwd(), path.join(dir, 'tensorboard'))}`);
  }
  if (!total) throw new Error(`no finished runs under ${resultsRoot()} for preset ${preset}`);
  console.log(`${total} event file(s); view them with: tensorboard --logdir ${path.relative(process.cwd(), resultsRoot()) || '.'}`);
}

try {
  main();
} catch (e) {
  console.error(`tensorboard: ${(e as Error).message}`);
  process.exit(1);
}
