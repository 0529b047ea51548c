/**
 * A benchmarked system: a set of real server processes on loopback, whatever
 * they run. Synod and etcd are launched differently (synod-cluster.ts,
 * etcd-cluster.ts) and then measured through this one interface, by the same
 * client code.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { findLeader } from './client.js';
import { until, withTimeout } from './waiting.js';

export type SystemName = 'synod' | 'etcd';

export const SYSTEM_NAMES: readonly SystemName[] = ['synod', 'etcd'];

/** What a BenchCluster runs: a benchmarked system, or the do-nothing gRPC server of the floors. */
export type ServerKind = SystemName | 'grpc-noop';

export interface ServerProcess {
  readonly name: string;
  /** host:port of its etcd v3 gRPC endpoint. */
  readonly endpoint: string;
  readonly child: ChildProcess;
  /** Where its stdout and stderr go, for post-mortems. */
  readonly logFile: string;
  /** Synod's admin HTTP base URL (for /status counters); none for etcd. */
  readonly adminUrl?: string;
}

export class BenchCluster {
  private stopped = false;

  constructor(
    readonly system: ServerKind,
    readonly version: string,
    readonly dir: string,
    readonly servers: readonly ServerProcess[],
    /** Keep the data directory after stopping (for inspection, profiles). */
    private readonly keepData: boolean,
  ) {}

  get endpoints(): string[] {
    return this.servers.map((s) => s.endpoint);
  }

  /** The server pids, for CPU accounting; the launcher runs the node in-process, so these are the servers themselves. */
  pids(): number[] {
    return this.servers.map((s) => s.child.pid).filter((pid): pid is number => pid !== undefined);
  }

  serverAt(endpoint: string): ServerProcess | undefined {
    return this.servers.find((s) => s.endpoint === endpoint);
  }

  /** A server that exited is a failed run, not a slow one: the caller stops measuring. */
  exitedServers(): string[] {
    return this.servers.filter((s) => s.child.exitCode !== null || s.child.signalCode !== null).map((s) => `${s.name} (see ${s.logFile})`);
  }

  /** Waits for every member to agree on a leader; returns the leader's endpoint. */
  async leader(timeoutMs = 30_000): Promise<string> {
    return until(`a ${this.system} leader agreed by all members`, async () => {
      const exited = this.exitedServers();
      if (exited.length > 0) throw new Error(`${this.system} server exited: ${exited.join(', ')}`);
      return findLeader(this.endpoints);
    }, timeoutMs, 200);
  }

  /**
   * SIGTERM (graceful: a Synod node writes its CPU profile then), SIGKILL after
   * `graceMs`; removes the data directory unless asked to keep it.
   */
  async stop(graceMs = 8_000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const exits = this.servers.map(
      (s) => new Promise<void>((resolve) => (s.child.exitCode !== null || s.child.signalCode !== null ? resolve() : s.child.once('exit', () => resolve()))),
    );
    for (const s of this.servers) s.child.kill('SIGTERM');
    try {
      await withTimeout(`${this.system} shutdown`, Promise.all(exits), graceMs);
    } catch {
      for (const s of this.servers) s.child.kill('SIGKILL');
      await withTimeout(`${this.system} kill`, Promise.all(exits), 5_000).catch(() => undefined);
    }
    if (!this.keepData) rmSync(this.dir, { recursive: true, force: true });
  }
}
