/**
 * An etcd cluster for the benchmark: Debian's etcd-server (`etcd` binary),
 * one process per member on free loopback ports, temp data dirs, every
 * setting at etcd's default (so it fsyncs its WAL on every Ready, like Synod).
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchCluster, type ServerProcess } from './cluster.js';
import { freePort } from './waiting.js';

/** `etcd --version`'s first line, or null when there is no etcd on the PATH. */
export function etcdVersion(): string | null {
  const result = spawnSync('etcd', ['--version'], { encoding: 'utf8' });
  if (result.error !== undefined || result.status !== 0) return null;
  const line = result.stdout.split('\n').find((l) => l.startsWith('etcd Version'));
  return line === undefined ? 'etcd' : `etcd ${line.replace(/^etcd Version:\s*/, '')}`;
}

export interface EtcdClusterOptions {
  readonly nodes: number;
  readonly keepData?: boolean;
}

export async function startEtcdCluster(options: EtcdClusterOptions): Promise<BenchCluster> {
  const version = etcdVersion();
  if (version === null) throw new Error('etcd is not installed (npm run setup installs Debian\'s etcd-server)');
  const dir = mkdtempSync(join(tmpdir(), 'etcd-bench-'));
  const members: { name: string; client: string; peer: string }[] = [];
  for (let i = 1; i <= options.nodes; i += 1) {
    members.push({ name: `e${i}`, client: `http://127.0.0.1:${await freePort()}`, peer: `http://127.0.0.1:${await freePort()}` });
  }
  const initialCluster = members.map((m) => `${m.name}=${m.peer}`).join(',');
  const servers: ServerProcess[] = members.map((member) => {
    const logFile = join(dir, `${member.name}.log`);
    const log = openSync(logFile, 'a');
    const child = spawn(
      'etcd',
      [
        '--name', member.name,
        '--data-dir', join(dir, member.name),
        '--listen-client-urls', member.client,
        '--advertise-client-urls', member.client,
        '--listen-peer-urls', member.peer,
        '--initial-advertise-peer-urls', member.peer,
        '--initial-cluster', initialCluster,
        '--initial-cluster-state', 'new',
        '--initial-cluster-token', 'synod-bench',
        '--log-level', 'error',
      ],
      { stdio: ['ignore', log, log], cwd: dir },
    );
    closeSync(log);
    return { name: member.name, endpoint: member.client.replace(/^http:\/\//, ''), child, logFile };
  });
  return new BenchCluster('etcd', version, dir, servers, options.keepData ?? false);
}
