// Real node processes on loopback for the server tests: free ports, spawn,
// kill -9, restart, and a small promise-based etcd KV client. Every wait is
// bounded; every process is killed when the test ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { until as untilBounded } from '../../src/bench/waiting.js';
import { freePort } from '../../src/net/free-port.js';
import { launcherPath, memberArgs, type UpMember } from '../../src/cli/up-command.js';
import { loadEtcdProtos } from '../../src/server/proto.js';

/** Ports below the kernel's ephemeral range, never handed out twice in one process (src/net/free-port.ts). */
export { freePort };

/** Polls `probe` until it gives a value (bounded); see src/bench/waiting.ts. */
export function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000, everyMs = 100): Promise<T> {
  return untilBounded(what, async () => probe(), timeoutMs, everyMs);
}

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

export class TestCluster {
  readonly dir: string;
  readonly members: UpMember[] = [];
  private readonly processes = new Map<string, ChildProcess>();
  private readonly exits = new Map<string, Promise<ProcessResult>>();
  private readonly clients = new Map<string, KvClient>();

  private constructor(
    dir: string,
    readonly extraArgs: readonly string[],
    readonly env: Readonly<Record<string, string>>,
  ) {
    this.dir = dir;
  }

  /** `env` is added to each node's environment. */
  static async create(size: number, extraArgs: readonly string[] = [], env: Readonly<Record<string, string>> = {}): Promise<TestCluster> {
    const cluster = new TestCluster(mkdtempSync(join(tmpdir(), 'synod-test-')), extraArgs, env);
    for (let i = 1; i <= size; i += 1) {
      cluster.members.push({ name: `n${i}`, clientPort: await freePort(), peerPort: await freePort(), adminPort: await freePort() });
    }
    return cluster;
  }

  member(name: string): UpMember {
    const member = this.members.find((m) => m.name === name);
    if (member === undefined) throw new Error(`no member ${name}`);
    return member;
  }

  /** Adds a member (not started) on fresh ports, e.g. one to join with --initial-cluster-state existing. */
  async addMember(name: string): Promise<UpMember> {
    const member = { name, clientPort: await freePort(), peerPort: await freePort(), adminPort: await freePort() };
    this.members.push(member);
    return member;
  }

  start(name: string, extraArgs: readonly string[] = []): void {
    const member = this.member(name);
    // The node's structured log goes to a file beside its data, for post-mortems.
    const log = openSync(join(this.dir, `${name}.log`), 'a');
    const child = spawn(process.execPath, [launcherPath(), ...memberArgs(member, this.members, this.dir, ['--heartbeat-interval', '50', '--election-timeout', '500', ...this.extraArgs, ...extraArgs])], {
      stdio: ['ignore', log, 'pipe'],
      env: { ...process.env, ...this.env },
    });
    closeSync(log);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    this.processes.set(name, child);
    this.exits.set(name, new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr }))));
  }

  startAll(): void {
    for (const member of this.members) this.start(member.name);
  }

  /** kill -9: no shutdown, no final sync. */
  async kill(name: string): Promise<void> {
    this.processes.get(name)?.kill('SIGKILL');
    await this.exited(name);
  }

  /** SIGSTOP / SIGCONT: the process freezes with its connections open, as under a long GC pause or a partition. */
  pause(name: string): void {
    this.processes.get(name)?.kill('SIGSTOP');
  }

  resume(name: string): void {
    this.processes.get(name)?.kill('SIGCONT');
  }

  async stop(name: string): Promise<ProcessResult> {
    this.processes.get(name)?.kill('SIGTERM');
    return this.exited(name);
  }

  async exited(name: string, timeoutMs = 10_000): Promise<ProcessResult> {
    const exit = this.exits.get(name);
    if (exit === undefined) throw new Error(`${name} was never started`);
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${name} did not exit`)), timeoutMs).unref());
    const result = await Promise.race([exit, timeout]);
    this.processes.delete(name);
    return result;
  }

  running(name: string): boolean {
    return this.processes.has(name);
  }

  /** host:port of a member's client (gRPC) endpoint. */
  endpoint(name: string): string {
    return `127.0.0.1:${this.member(name).clientPort}`;
  }

  client(name: string): KvClient {
    let client = this.clients.get(name);
    if (client === undefined) {
      client = new KvClient(`127.0.0.1:${this.member(name).clientPort}`);
      this.clients.set(name, client);
    }
    return client;
  }

  async status(name: string): Promise<NodeStatus> {
    const response = await fetch(`http://127.0.0.1:${this.member(name).adminPort}/status`, { signal: AbortSignal.timeout(2_000) });
    return (await response.json()) as NodeStatus;
  }

  /** The member every running node agrees is leader. */
  async leader(timeoutMs = 15_000): Promise<string> {
    return until(
      'an agreed leader',
      async () => {
        const names = this.members.map((m) => m.name).filter((n) => this.running(n));
        const statuses = await Promise.all(names.map((n) => this.status(n)));
        const leaders = new Set(statuses.map((s) => s.leader));
        const leader = statuses[0]?.leader;
        return leaders.size === 1 && leader !== null && leader !== undefined && names.includes(leader) ? leader : undefined;
      },
      timeoutMs,
    );
  }

  async destroy(keep = process.env.SYNOD_KEEP_TEST_DATA === '1'): Promise<void> {
    for (const client of this.clients.values()) client.close();
    for (const [name, child] of this.processes) {
      child.kill('SIGKILL');
      await this.exited(name).catch(() => undefined);
    }
    if (keep) process.stderr.write(`test data kept in ${this.dir}\n`);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface NodeStatus {
  member: string;
  role: string;
  leader: string | null;
  decidedThrough: number;
  appliedThrough: number;
  compactedThrough: number;
  revision: number;
}

type Callback<Res> = (error: grpc.ServiceError | null, response: Res) => void;

/** A promise-based etcd KV client over grpc-js. */
export class KvClient {
  private readonly kv: grpc.Client;

  constructor(readonly endpoint: string) {
    const { clients } = loadEtcdProtos();
    this.kv = new clients.KV(endpoint, grpc.credentials.createInsecure());
  }

  call<Res>(method: string, request: object, timeoutMs = 5_000): Promise<Res> {
    return new Promise((resolve, reject) => {
      const fn = (this.kv as unknown as Record<string, (req: object, opts: grpc.CallOptions, cb: Callback<Res>) => void>)[method];
      if (fn === undefined) throw new Error(`no method ${method}`);
      fn.call(this.kv, request, { deadline: new Date(Date.now() + timeoutMs) }, (error, response) => (error === null ? resolve(response) : reject(error)));
    });
  }

  async put(key: string, value: string): Promise<void> {
    await this.call('Put', { key: Buffer.from(key), value: Buffer.from(value) });
  }

  async get(key: string, serializable = false): Promise<string | null> {
    const response = await this.call<{ kvs: { value: Buffer }[] }>('Range', { key: Buffer.from(key), serializable });
    const first = response.kvs[0];
    return first === undefined ? null : first.value.toString();
  }

  close(): void {
    this.kv.close();
  }
}
