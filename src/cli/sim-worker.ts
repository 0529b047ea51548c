/**
 * A worker thread that runs simulations for `runSeeds` (pool.ts): it receives
 * jobs and answers each with its result. Runs are independent and deterministic,
 * so spreading seeds over threads changes only how fast they finish.
 */
import { parentPort } from 'node:worker_threads';
import { simOptions } from '../sim/options.js';
import { runSimulation } from '../sim/simulator.js';
import type { SimJob } from './pool.js';

const port = parentPort;
if (port !== null) {
  port.on('message', (job: SimJob) => {
    port.postMessage(runSimulation(simOptions(job.seed, job.overrides)));
  });
}
