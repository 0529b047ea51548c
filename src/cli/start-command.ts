/**
 * `synod start`: one node, configured with etcd's flag names. Runs until
 * SIGTERM or SIGINT, then shuts down gracefully (stops taking requests, lets
 * the last sync finish, closes the log).
 */
import { Command } from 'commander';
import { pino } from 'pino';
import { ConfigError, parseNodeConfig, type RawNodeOptions } from '../server/config.js';
import { startAdminServer } from '../server/admin.js';
import { startClientServer } from '../server/grpc/server.js';
import { SynodNode } from '../server/node.js';
import type { CliIo } from './io.js';

export function startCommand(io: CliIo): Command {
  return new Command('start')
    .description('run one Synod node (flags as etcd names them)')
    .requiredOption('--name <name>', 'this member\'s name, as listed in --initial-cluster')
    .option('--data-dir <dir>', 'where the write-ahead log and snapshots live (default: <name>.synod)')
    .option('--listen-client-urls <url>', 'where clients connect (etcd v3 gRPC)', 'http://127.0.0.1:2379')
    .option('--listen-peer-urls <url>', 'where peers connect', 'http://127.0.0.1:2380')
    .option('--listen-admin-url <url>', 'admin HTTP: /health, /metrics, /status, /events')
    .option('--initial-cluster <members>', 'every member: name=http://host:peerport,...')
    .option('--initial-cluster-client-urls <members>', 'every member\'s client URL: name=http://host:clientport,... (for member list and status)')
    .option('--initial-cluster-state <state>', 'new or existing', 'new')
    .option('--initial-cluster-token <token>', 'distinguishes clusters; nodes with different tokens refuse each other', 'synod-cluster')
    .option('--heartbeat-interval <ms>', 'leader heartbeat interval in milliseconds', '100')
    .option('--election-timeout <ms>', 'election timeout in milliseconds', '1000')
    .option('--snapshot-count <n>', 'applied slots or commands (whichever comes first) between snapshots; each member takes them up to a quarter sooner, by an amount its member id fixes, so members do not all pause at the same slot', '10000')
    .option('--no-read-lease', 'confirm every linearizable read with a quorum round, instead of serving reads under the leader\'s lease (which assumes that clocks and timers run within 10% of each other)')
    .option('--experimental-watch-progress-notify-interval <duration>', 'how often watchers that asked for progress notifications get one (e.g. 10m, 30s)', '10m')
    .option('--watch-queue-bytes-max <bytes>', 'events queued for one slow watch stream before it is cancelled', String(64 * 1024 * 1024))
    .option('--log-level <level>', 'debug, info, warn or error', 'info')
    .action(async (options: RawNodeOptions) => {
      let config;
      try {
        config = parseNodeConfig(options);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        io.err(`synod start: ${error.message}`);
        io.setExitCode(2);
        return;
      }
      const logger = pino({ level: config.logLevel, base: { member: config.name } });
      let node: SynodNode;
      try {
        node = await SynodNode.start(config, logger);
      } catch (error) {
        // Corrupt files and unusable directories end here, with the reason and
        // the file named; the node refuses to start rather than lose data.
        logger.fatal({ err: error }, 'cannot start');
        io.err(`synod start: ${error instanceof Error ? error.message : String(error)}`);
        io.setExitCode(1);
        return;
      }
      const client = await startClientServer(node, config.clientListen, {
        progressNotifyIntervalMs: config.watchProgressNotifyIntervalMs,
        watcherQueueBytesMax: config.watchQueueBytesMax,
      });
      const admin = config.adminListen === null ? null : await startAdminServer(node, config.adminListen);
      logger.info({ client: `${config.clientListen.host}:${client.port}`, admin: admin?.url ?? null }, 'serving clients');
      await new Promise<void>((resolve) => {
        const stop = (reason: string): void => {
          logger.info({ reason }, 'shutting down');
          resolve();
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
        node.onFatalError(() => {
          io.setExitCode(1);
          stop('fatal error');
        });
        // etcd's behaviour: a member removed from the cluster exits (status 0).
        node.onRemoved(() => stop('removed from the cluster'));
      });
      await client.close();
      await admin?.close();
      await node.stop();
      logger.flush();
    });
}
