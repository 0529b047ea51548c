/**
 * Runs many seeds, on this thread or spread over worker threads. Results are
 * handed over as they finish; callers that need an order sort by seed.
 */
import { Worker } from 'node:worker_threads';
import { simOptions, type SimOptions } from '../sim/options.js';
import { runSimulation, type SimResult } from '../sim/simulator.js';

/** Everything about a run except its seed; must be cloneable (no trace callback) to cross threads. */
export type SimOverrides = Partial<Omit<SimOptions, 'seed'>>;

export interface SimJob {
  readonly seed: number;
  readonly overrides: SimOverrides;
}

export async function runSeeds(jobs: readonly SimJob[], threads: number, onResult: (result: SimResult) => void): Promise<void> {
  if (threads <= 1 || jobs.length <= 1) {
    for (const job of jobs) onResult(runSimulation(simOptions(job.seed, job.overrides)));
    return;
  }
  let next = 0;
  const workerCount = Math.min(threads, jobs.length);
  const workers: Worker[] = [];
  try {
    await Promise.all(
      Array.from({ length: workerCount }, () => {
        const worker = new Worker(new URL('./sim-worker.js', import.meta.url));
        workers.push(worker);
        return new Promise<void>((resolve, reject) => {
          const feed = (): void => {
            const job = jobs[next];
            next += 1;
            if (job === undefined) resolve();
            else worker.postMessage(job);
          };
          worker.on('message', (result: SimResult) => {
            onResult(result);
            feed();
          });
          worker.on('error', reject);
          worker.on('exit', (code) => reject(new Error(`a simulation worker exited early with code ${code}`)));
          feed();
        });
      }),
    );
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}
