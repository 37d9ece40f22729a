/** Test helper: the project's engine when lib/backend exists, else the pure-JS cpu backend. */
import * as tf from '@tensorflow/tfjs';

export async function initTestEngine(): Promise<void> {
  let backend: { initEngine?: () => Promise<unknown> } | null = null;
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    backend = require('../../lib/backend');
  } catch (e) {
    if ((e as { code?: string }).code !== 'MODULE_NOT_FOUND') throw e;
  }
  if (backend?.initEngine) await backend.initEngine();
  else await tf.setBackend('cpu');
  await tf.ready();
}
