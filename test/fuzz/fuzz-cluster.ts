// Starting the live clusters the fuzz tests aim at, robustly: a cluster that
// fails to elect a leader is replaced, at most twice, with the reason printed.
// Its ports come from the harness's freePort, below the kernel's ephemeral
// range, so an outgoing connection cannot take one before its node binds it.
import { TestCluster } from '../server/harness.js';
import { learnIncarnations } from './peer-inputs.js';

export async function startFuzzCluster(size: number, extraArgs: readonly string[] = []): Promise<TestCluster> {
  const reasons: string[] = [];
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    const cluster = await TestCluster.create(size, extraArgs);
    cluster.startAll();
    try {
      await cluster.leader(20_000);
      learnIncarnations(cluster.dir, cluster.members.map((m) => m.name));
      return cluster;
    } catch (error) {
      const exits = await Promise.all(
        cluster.members.map((m) =>
          cluster.exited(m.name, 100).then(
            (result) => `${m.name} exited (${result.signal ?? `code ${result.code}`}): ${result.stderr.trim().slice(0, 300)}`,
            () => `${m.name} running`,
          ),
        ),
      );
      reasons.push(`attempt ${attempt}: ${error instanceof Error ? error.message : String(error)}; ${exits.join('; ')}`);
      process.stderr.write(`fuzz cluster did not start, retrying: ${reasons[reasons.length - 1]}\n`);
      await cluster.destroy();
    }
  }
  throw new Error(`no cluster of ${size} elected a leader:\n${reasons.join('\n')}`);
}
