/**
 * A cluster of real `synod start` processes for the chaos tester, launched the
 * way `synod up` launches them (launcherPath, memberArgs), with one twist: each
 * node's --initial-cluster lists the OTHER members at the ports of its own
 * proxies (network.ts), and itself at its real peer port. The cluster id
 * depends only on the member names and the token (src/server/identity.ts), so
 * the nodes still agree on it.
 *
 * The harness knows which process exits it caused (kill -9, the end of a run)
 * and which it expects (a node whose disk filled up); any other exit is an
 * anomaly the report names, with the tail of the node's stderr. Node output
 * goes through this process to a log file per node, so a per-process file
 * size limit (the disk-full fault) applies to the data files only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, statSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { launcherPath, memberArgs, type UpMember } from '../cli/up-command.js';
import type { Random } from '../core/random.js';
import { ProxyMesh } from './network.js';
import { freePort, within } from './wait.js';

export interface NodeStatus {
  readonly member: string;
  readonly role: string;
  readonly leader: string | null;
  readonly decidedThrough: number;
  readonly appliedThrough: number;
  readonly compactedThrough: number;
  readonly revision: number;
}

export type ExitCause = 'killed' | 'stopped' | 'disk-full' | 'unexpected';

export interface NodeExit {
  readonly name: string;
  readonly atMs: number;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly cause: ExitCause;
  /** The last lines the node wrote to stderr, and its last fatal/error log line. */
  readonly tail: string;
}

export interface ClusterOptions {
  readonly nodes: number;
  readonly dir: string;
  readonly heartbeatMs: number;
  readonly electionTimeoutMs: number;
  readonly snapshotCount: number;
  readonly random: Random;
  /** Milliseconds since the run began, for exit records. */
  readonly clock: () => number;
}

interface RunningNode {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  paused: boolean;
  /** What an exit now would be: set before the harness kills or stops it. */
  exitCause: ExitCause;
}

/** Where prlimit lives, if it does: the disk-full fault needs it. */
export function prlimitPath(): string | null {
  for (const candidate of ['/usr/bin/prlimit', '/bin/prlimit']) if (existsSync(candidate)) return candidate;
  return null;
}

const TAIL_CHARS = 2_000;

/** Every node process any cluster in this process started and has not seen exit. */
const liveChildren = new Set<ChildProcess>();

/**
 * kill -9 every node process this process started, at once and synchronously:
 * for an interrupted run (Ctrl-C), so no node outlives it, least of all a
 * paused one (SIGKILL ends a stopped process too).
 */
export function killEveryNodeNow(): number {
  let killed = 0;
  for (const child of liveChildren) {
    if (child.kill('SIGKILL')) killed += 1;
  }
  liveChildren.clear();
  return killed;
}

export class ChaosCluster {
  readonly members: UpMember[] = [];
  private readonly running = new Map<string, RunningNode>();
  private readonly logs = new Map<string, WriteStream>();
  private readonly tails = new Map<string, string>();
  readonly exits: NodeExit[] = [];
  mesh!: ProxyMesh;

  private constructor(readonly options: ClusterOptions) {}

  static async create(options: ClusterOptions): Promise<ChaosCluster> {
    const cluster = new ChaosCluster(options);
    mkdirSync(options.dir, { recursive: true });
    for (let i = 1; i <= options.nodes; i += 1) {
      cluster.members.push({ name: `n${i}`, clientPort: await freePort(), peerPort: await freePort(), adminPort: await freePort() });
    }
    cluster.mesh = await ProxyMesh.open(cluster.members, options.random.fork());
    return cluster;
  }

  get names(): string[] {
    return this.members.map((m) => m.name);
  }

  member(name: string): UpMember {
    const member = this.members.find((m) => m.name === name);
    if (member === undefined) throw new Error(`no member ${name}`);
    return member;
  }

  endpoint(name: string): string {
    return `127.0.0.1:${this.member(name).clientPort}`;
  }

  dataDir(name: string): string {
    return join(this.options.dir, name);
  }

  logFile(name: string): string {
    return join(this.options.dir, `${name}.log`);
  }

  /** The node's arguments: others at its proxies' ports, itself at its real peer port. */
  nodeArgs(name: string): string[] {
    const self = this.member(name);
    const seen = this.members.map((m) => (m.name === name ? m : { ...m, peerPort: this.mesh.portFor(name, m.name) }));
    return memberArgs(self, seen, this.options.dir, [
      '--heartbeat-interval', String(this.options.heartbeatMs),
      '--election-timeout', String(this.options.electionTimeoutMs),
      '--snapshot-count', String(this.options.snapshotCount),
    ]);
  }

  isRunning(name: string): boolean {
    return this.running.has(name);
  }

  isPaused(name: string): boolean {
    return this.running.get(name)?.paused === true;
  }

  /** Running and not paused: a node that can answer. */
  live(): string[] {
    return this.names.filter((n) => this.isRunning(n) && !this.isPaused(n));
  }

  /**
   * Starts the node. With `fileSizeLimitBytes`, the process may not grow any
   * file past that size (RLIMIT_FSIZE via prlimit; Node ignores SIGXFSZ, so a
   * write past it fails with EFBIG): a full disk for this node alone, undone
   * by the process's exit, leaving nothing behind.
   */
  start(name: string, fileSizeLimitBytes?: number): void {
    if (this.running.has(name)) throw new Error(`${name} is already running`);
    let log = this.logs.get(name);
    if (log === undefined) {
      log = createWriteStream(this.logFile(name), { flags: 'a' });
      this.logs.set(name, log);
    }
    const node = [launcherPath(), ...this.nodeArgs(name)];
    let command = process.execPath;
    let args = node;
    if (fileSizeLimitBytes !== undefined) {
      const prlimit = prlimitPath();
      if (prlimit === null) throw new Error('prlimit is not installed: cannot limit file sizes');
      command = prlimit;
      args = [`--fsize=${fileSizeLimitBytes}`, '--', process.execPath, ...node];
    }
    log.write(`--- ${new Date().toISOString()} start ${name}${fileSizeLimitBytes === undefined ? '' : ` (files limited to ${fileSizeLimitBytes} bytes)`}\n`);
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    liveChildren.add(child);
    const sink = log;
    child.stdout?.on('data', (chunk: Buffer) => {
      sink.write(chunk);
      this.noteFatalLines(name, chunk);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      sink.write(chunk);
      this.appendTail(name, chunk.toString());
    });
    const record: RunningNode = {
      child,
      paused: false,
      exitCause: fileSizeLimitBytes === undefined ? 'unexpected' : 'disk-full',
      exited: new Promise<void>((resolve) => {
        child.on('exit', (code, signal) => {
          liveChildren.delete(child);
          this.running.delete(name);
          sink.write(`--- exit ${name}: ${signal ?? `code ${code}`} (${record.exitCause})\n`);
          this.exits.push({ name, atMs: this.options.clock(), code, signal, cause: record.exitCause, tail: this.tails.get(name) ?? '' });
          this.tails.set(name, '');
          resolve();
        });
      }),
    };
    this.running.set(name, record);
  }

  /** kill -9: no shutdown, no final sync. Resolves once the process is gone. */
  async kill(name: string, cause: ExitCause = 'killed'): Promise<void> {
    const node = this.running.get(name);
    if (node === undefined) return;
    node.exitCause = cause;
    node.child.kill('SIGKILL');
    await within(node.exited, 10_000, undefined);
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(name: string, graceMs = 5_000): Promise<void> {
    const node = this.running.get(name);
    if (node === undefined) return;
    node.exitCause = 'stopped';
    if (node.paused) this.resume(name);
    node.child.kill('SIGTERM');
    const done = await within(node.exited.then(() => true), graceMs, false);
    if (!done) await this.kill(name, 'stopped');
  }

  /** SIGSTOP: the process freezes with its sockets open, as in a long GC pause or a VM stall. */
  pause(name: string): void {
    const node = this.running.get(name);
    if (node === undefined || node.paused) return;
    node.child.kill('SIGSTOP');
    node.paused = true;
  }

  resume(name: string): void {
    const node = this.running.get(name);
    if (node === undefined || !node.paused) return;
    node.child.kill('SIGCONT');
    node.paused = false;
  }

  /** Resolves once the node's process has exited, or after `timeoutMs`; true if it exited. */
  async waitForExit(name: string, timeoutMs: number): Promise<boolean> {
    const node = this.running.get(name);
    if (node === undefined) return true;
    return within(node.exited.then(() => true), timeoutMs, false);
  }

  /** From now on, an exit of this node is expected for `cause` (e.g. the end of a disk-full fault). */
  expectExit(name: string, cause: ExitCause): void {
    const node = this.running.get(name);
    if (node !== undefined) node.exitCause = cause;
  }

  async status(name: string, timeoutMs = 1_000): Promise<NodeStatus | null> {
    if (!this.isRunning(name) || this.isPaused(name)) return null;
    try {
      const response = await fetch(`http://127.0.0.1:${this.member(name).adminPort}/status`, { signal: AbortSignal.timeout(timeoutMs) });
      return (await response.json()) as NodeStatus;
    } catch {
      return null;
    }
  }

  /** The leader most live nodes name, or null if none is named. */
  async leader(): Promise<string | null> {
    const statuses = await Promise.all(this.live().map((name) => this.status(name, 500)));
    const votes = new Map<string, number>();
    for (const status of statuses) {
      if (status?.leader !== null && status?.leader !== undefined) votes.set(status.leader, (votes.get(status.leader) ?? 0) + 1);
    }
    let best: string | null = null;
    let bestVotes = 0;
    for (const [name, count] of votes) {
      if (count > bestVotes && this.names.includes(name)) {
        best = name;
        bestVotes = count;
      }
    }
    return best;
  }

  /** Size in bytes of the node's newest write-ahead log segment (0 if it has none yet). */
  newestSegmentBytes(name: string): number {
    const dir = join(this.dataDir(name), 'wal');
    if (!existsSync(dir)) return 0;
    const segments = readdirSync(dir).filter((file) => file.endsWith('.seg')).sort();
    const newest = segments[segments.length - 1];
    return newest === undefined ? 0 : statSync(join(dir, newest)).size;
  }

  unexpectedExits(): NodeExit[] {
    return this.exits.filter((exit) => exit.cause === 'unexpected');
  }

  /** Stops every node (SIGTERM, then SIGKILL) and closes the proxies and logs. */
  async shutdown(): Promise<void> {
    await Promise.all(this.names.map((name) => this.stop(name)));
    await this.mesh.close();
    await Promise.all([...this.logs.values()].map((log) => new Promise<void>((resolve) => log.end(() => resolve()))));
    this.logs.clear();
  }

  private appendTail(name: string, text: string): void {
    const tail = (this.tails.get(name) ?? '') + text;
    this.tails.set(name, tail.length > TAIL_CHARS ? tail.slice(-TAIL_CHARS) : tail);
  }

  /** Keeps pino's fatal and error lines (level >= 50) in the tail, since they explain an exit. */
  private noteFatalLines(name: string, chunk: Buffer): void {
    const text = chunk.toString();
    if (!text.includes('"level":5') && !text.includes('"level":6')) return;
    for (const line of text.split('\n')) {
      if (/"level":(5|6)\d/.test(line)) this.appendTail(name, `${line.slice(0, 600)}\n`);
    }
  }
}
