/**
 * A worker process of the experiment runner: takes run requests over IPC, executes each in this
 * process (engine initialised once), and replies with the results record or the error.
 */
import { executeRun, experimentFromModule, runIdOf, WorkerRequest } from './execute';
import { requestStop, STOP_SIGNALS } from '../train/interrupt';

// SIGINT (Ctrl-C reaches the whole process group), SIGTERM/SIGHUP (forwarded by the runner): finish the
// current step, checkpoint, reply with an InterruptedError. The runner then sends no further run.
for (const s of STOP_SIGNALS) process.on(s, () => requestStop(s));

process.on('message', async (msg: WorkerRequest | { type: 'exit' }) => {
  if ('type' in msg && msg.type === 'exit') {
    process.disconnect?.();
    process.exit(0);
  }
  const req = msg as WorkerRequest;
  let reply;
  try {
    if (!req.module) throw new Error(`the runner sent no module for experiment '${req.experiment}'`);
    const exp = experimentFromModule(req.module, req.experiment);
    const runId = runIdOf(exp.name, req.spec, req.dataKey);
    let last = 0;
    reply = await executeRun(req, exp, (done, total, info) => {
      const now = Date.now();
      if (now - last < 200 && done < total) return; // IPC at most 5 messages a second
      last = now;
      process.send!({ type: 'progress', runId, done, total, info });
    });
  } catch (e) {
    reply = { type: 'error' as const, message: (e as Error).message };
  }
  process.send!(reply);
});
