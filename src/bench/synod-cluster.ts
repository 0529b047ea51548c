/**
 * A Synod cluster for the benchmark: real `synod start` processes launched the
 * way `synod up` launches them (launcher, memberArgs), on free loopback ports,
 * with data in a temp dir. Synod fsyncs every log append; there is no switch.
 * Timing flags are left at their defaults (heartbeat 100 ms, election 1 s),
 * which are etcd's defaults too.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { launcherPath, memberArgs, type UpMember } from '../cli/up-command.js';
import { BenchCluster, type ServerProcess } from './cluster.js';
import { freePort } from './waiting.js';

export interface SynodClusterOptions {
  readonly nodes: number;
  /** Extra flags for the node processes' `node`, e.g. ['--cpu-prof', '--cpu-prof-dir=/tmp/p']. */
  readonly nodeArgs?: readonly string[];
  /** Extra flags for `synod start`, e.g. ['--no-read-lease']. */
  readonly memberFlags?: readonly string[];
  readonly keepData?: boolean;
}

function synodVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(dirname(launcherPath()), '..', 'package.json'), 'utf8')) as { version?: string };
    return `synod ${pkg.version ?? '?'} on node ${process.versions.node}`;
  } catch {
    return `synod on node ${process.versions.node}`;
  }
}

export async function startSynodCluster(options: SynodClusterOptions): Promise<BenchCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'synod-bench-'));
  const members: UpMember[] = [];
  for (let i = 1; i <= options.nodes; i += 1) {
    members.push({ name: `n${i}`, clientPort: await freePort(), peerPort: await freePort(), adminPort: await freePort() });
  }
  const servers: ServerProcess[] = members.map((member) => {
    const logFile = join(dir, `${member.name}.log`);
    const log = openSync(logFile, 'a');
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), launcherPath(), ...memberArgs(member, members, dir, ['--log-level', 'warn', ...(options.memberFlags ?? [])])], {
      stdio: ['ignore', log, log],
      cwd: dir,
    });
    closeSync(log);
    return { name: member.name, endpoint: `127.0.0.1:${member.clientPort}`, child, logFile, adminUrl: `http://127.0.0.1:${member.adminPort}` };
  });
  return new BenchCluster('synod', synodVersion(), dir, servers, options.keepData ?? false);
}
