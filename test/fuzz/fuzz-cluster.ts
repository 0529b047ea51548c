// Starting the live clusters the fuzz tests aim at, robustly: the harness
// picks ports with listen(0), which lie in the kernel's ephemeral range, so an
// outgoing connection (a node dialing its peers) can take one before the node
// meant to listen there binds it; that node then exits with EADDRINUSE. The
// ports are re-drawn below the ephemeral range (src/chaos/wait.ts), and a
// cluster that still fails to elect a leader is replaced, at most twice, with
// the reason printed.
import { freePort } from '../../src/chaos/wait.js';
import { TestCluster } from '../server/harness.js';
import { learnIncarnations } from './peer-inputs.js';

export async function startFuzzCluster(size: number, extraArgs: readonly string[] = []): Promise<TestCluster> {
  const reasons: string[] = [];
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    const cluster = await TestCluster.create(size, extraArgs);
    for (const [index, member] of cluster.members.entries()) {
      cluster.members[index] = { ...member, clientPort: await freePort(), peerPort: await freePort(), adminPort: await freePort() };
    }
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
