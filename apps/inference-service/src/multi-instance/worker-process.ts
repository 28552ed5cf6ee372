// A service instance with its job worker, in its own process, so a test can
// SIGKILL it in the middle of a job. Started by jobs.test.ts as
// `node --conditions=source worker-process.ts` with REDIS_URL, SIMULATOR_URL,
// KEY_PREFIX, LOCK_MS and STALLED_MS in the environment; prints `ready` once serving.
import { slowAgreement, WORKER_TIMING } from './job-timing.ts';
import { startInstance } from './instances.ts';

const env = process.env;
const instance = await startInstance({
  redisUrl: env.REDIS_URL!,
  simulatorUrl: env.SIMULATOR_URL!,
  agreement: slowAgreement(),
  config: { runWorker: true },
  redis: { keyPrefix: env.KEY_PREFIX, jobs: WORKER_TIMING },
});
process.stdout.write(`ready ${instance.url}\n`);
process.on('SIGTERM', () => void instance.stop().then(() => process.exit(0)));
