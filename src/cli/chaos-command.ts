/**
 * `synod chaos`: a Jepsen-style test of a real cluster on loopback. Starts N
 * `synod start` processes behind fault-injecting proxies, runs register, cas
 * and lock clients through the etcd gRPC API while a seeded nemesis kills,
 * pauses, partitions, slows and starves nodes, then heals, waits for recovery
 * and checks the history. Exit status 1 on any anomaly (with the seed and the
 * command that replays the schedule), 2 on a bad command line.
 */
import { randomInt } from 'node:crypto';
import { Command, InvalidArgumentError, Option } from 'commander';
import { killEveryNodeNow } from '../chaos/cluster.js';
import { formatHeader, formatReport } from '../chaos/report.js';
import { DEFAULT_CHAOS, runChaos } from '../chaos/run.js';
import { FAULT_DESCRIPTIONS, FAULT_KINDS, isFaultKind, type FaultKind } from '../chaos/schedule.js';
import type { CliIo } from './io.js';

interface ChaosFlags {
  readonly duration: number;
  readonly nodes: '3' | '5';
  readonly seed?: number;
  readonly clients: number;
  readonly lockClients: number;
  readonly faults: FaultKind[];
  readonly heartbeatInterval: number;
  readonly electionTimeout: number;
  readonly snapshotCount: number;
  readonly dataDir?: string;
  readonly keepData?: boolean;
  readonly quiet?: boolean;
  readonly serializableReads?: boolean;
}

function integer(flag: string, min: number, max = Number.MAX_SAFE_INTEGER): (text: string) => number {
  return (text) => {
    if (!/^\d+$/.test(text)) throw new InvalidArgumentError(`${flag} must be a whole number`);
    const value = Number(text);
    if (value < min || value > max) throw new InvalidArgumentError(`${flag} must be between ${min} and ${max}`);
    return value;
  };
}

function faultList(text: string): FaultKind[] {
  const kinds = text.split(',').map((k) => k.trim()).filter((k) => k.length > 0);
  if (kinds.length === 1 && kinds[0] === 'none') return [];
  for (const kind of kinds) {
    if (!isFaultKind(kind)) throw new InvalidArgumentError(`unknown fault "${kind}"; choose from ${FAULT_KINDS.join(', ')} (or none)`);
  }
  return [...new Set(kinds)] as FaultKind[];
}

const FAULT_HELP = FAULT_KINDS.map((kind) => `  ${kind.padEnd(20)} ${FAULT_DESCRIPTIONS[kind]}`).join('\n');

export function chaosCommand(io: CliIo): Command {
  return new Command('chaos')
    .description('Jepsen-style test: a real cluster on 127.0.0.1 under a seeded nemesis, with its history checked for linearizability')
    .option('--duration <seconds>', 'length of the faulty phase', integer('--duration', 1, 86_400), DEFAULT_CHAOS.durationMs / 1000)
    .addOption(new Option('--nodes <n>', 'cluster size').choices(['3', '5']).default(String(DEFAULT_CHAOS.nodes)))
    .option('--seed <n>', 'seed of the fault schedule and the clients (default: random, printed)', integer('--seed', 0, 2 ** 32 - 1))
    .option('--clients <n>', 'key-value clients, alternately register and compare-and-set', integer('--clients', 1, 64), DEFAULT_CHAOS.clients)
    .option('--lock-clients <n>', 'clients contending for an etcd lock (0: none)', integer('--lock-clients', 0, 16), DEFAULT_CHAOS.lockClients)
    .addOption(new Option('--faults <kinds>', 'comma-separated fault kinds (listed below), or "none"').argParser(faultList).default([...FAULT_KINDS], 'all'))
    .option('--heartbeat-interval <ms>', 'the nodes\' heartbeat interval', integer('--heartbeat-interval', 1), DEFAULT_CHAOS.heartbeatMs)
    .option('--election-timeout <ms>', 'the nodes\' election timeout', integer('--election-timeout', 3), DEFAULT_CHAOS.electionTimeoutMs)
    .option('--snapshot-count <slots>', 'the nodes\' --snapshot-count (small, so snapshots and catch-up by snapshot happen)', integer('--snapshot-count', 1), DEFAULT_CHAOS.snapshotCount)
    .option('--data-dir <dir>', 'parent of the run directory (default: the system temp dir)')
    .option('--keep-data', 'keep data, logs and history even when the run passes')
    .option('--quiet', 'do not print each fault as it is injected and healed')
    .option('--serializable-reads', 'read from the local replica (may be stale): a run that must find anomalies, to see the checker work')
    .addHelpText(
      'after',
      `\nFault kinds:\n${FAULT_HELP}\n\nEvery run prints its seed; a failing run prints the command that replays its fault\n` +
        'schedule (the schedule is a function of the seed; process timing is not).\n' +
        'A long run: node bin/synod.js chaos --duration 600',
    )
    .action(async (flags: ChaosFlags) => {
      const options = {
        ...DEFAULT_CHAOS,
        seed: flags.seed ?? randomInt(0, 2 ** 32 - 1),
        durationMs: flags.duration * 1000,
        nodes: Number(flags.nodes),
        clients: flags.clients,
        lockClients: flags.lockClients,
        faults: flags.faults,
        heartbeatMs: flags.heartbeatInterval,
        electionTimeoutMs: flags.electionTimeout,
        snapshotCount: flags.snapshotCount,
        keepData: flags.keepData === true ? ('always' as const) : ('on-anomaly' as const),
        verbose: flags.quiet !== true,
        workload: { ...DEFAULT_CHAOS.workload, serializableReads: flags.serializableReads === true },
        ...(flags.dataDir === undefined ? {} : { baseDir: flags.dataDir }),
      };
      if (options.electionTimeoutMs < options.heartbeatMs * 3) {
        io.err(`synod chaos: --election-timeout must be at least 3 times --heartbeat-interval`);
        io.setExitCode(2);
        return;
      }
      io.out(formatHeader(options));
      // An interrupted run must not leave nodes behind (a paused one would sit there forever).
      const interrupted = (signal: NodeJS.Signals): void => {
        const killed = killEveryNodeNow();
        io.err(`synod chaos: ${signal}: killed ${killed} node processes; the run's directory is left as it was`);
        process.exit(130);
      };
      process.once('SIGINT', interrupted);
      process.once('SIGTERM', interrupted);
      let report;
      try {
        report = await runChaos(options, (line) => io.out(line));
      } finally {
        process.removeListener('SIGINT', interrupted);
        process.removeListener('SIGTERM', interrupted);
      }
      io.out(formatReport(report));
      io.setExitCode(report.anomalies.length > 0 ? 1 : 0);
    });
}
