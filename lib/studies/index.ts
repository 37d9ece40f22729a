/**
 * The registry of studies: one folder per paper table under `lib/studies/<name>/`, each with an
 * `index.ts` that exports its `experiment` (spec, runs, analysis, verdict). The command line
 * (`run-experiment`, `sweep`) finds a study here by name; nothing lists a folder. To add a study, add
 * its folder and one line below (docs/adding-a-study.md).
 */
import type { Experiment } from '../runner/types';
import { ConfigError, show } from '../errors';

/** Each study's module, loaded on first use (a study pulls in its models and data readers). */
const STUDIES = {
  'setup-check': () => require('./setup-check'),
  'mae-sweep': () => require('./mae-sweep'),
  'mae-length': () => require('./mae-length'),
  'mae-clutter': () => require('./mae-clutter'),
  'mae-long': () => require('./mae-long'),
  'ancre-lm': () => require('./ancre-lm'),
  'resnet-depth': () => require('./resnet-depth'),
  'linear-theory': () => require('./linear-theory'),
  'diffusion-fid': () => require('./diffusion-fid'),
  'diffusion-baselines': () => require('./diffusion-baselines'),
} as const satisfies Record<string, () => { experiment: Experiment<object> }>;

export type StudyName = keyof typeof STUDIES;
/** The registered studies, in the order of the notebooks. */
export const STUDY_NAMES = Object.keys(STUDIES) as StudyName[];

/** True for a registered study name. */
export function isStudyName(name: string): name is StudyName {
  return Object.prototype.hasOwnProperty.call(STUDIES, name);
}

/** The experiment of a registered study; an unknown name is a ConfigError listing exactly the studies. */
export function loadStudy(name: string): Experiment<object> {
  if (!isStudyName(name)) throw new ConfigError(`unknown study ${show(name)}; expected one of ${STUDY_NAMES.join(', ')}`);
  const exp = (STUDIES[name]() as { experiment: Experiment<object> }).experiment;
  if (exp.name !== name) throw new Error(`lib/studies/${name} exports the experiment '${exp.name}'`);
  return exp;
}
