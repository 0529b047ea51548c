/**
 * A Synod node process: the pure replica (core) driven by the replica driver
 * (smr) over the write-ahead log (storage) and TCP peers (net), applying
 * commands to the MVCC key-value state machine (kv), and serving clients.
 *
 * Time enters here and only here: a timer ticks the replica every `tickMs`, and
 * the wall clock stamps lease commands when the leader proposes them.
 */
import { randomInt } from 'node:crypto';
import type { Logger as PinoLogger } from 'pino';
import { formatBallot } from '../core/ballot.js';
import type { NodeId, Slot } from '../core/ids.js';
import { Replica } from '../core/multipaxos/replica.js';
import { DEFAULT_TIMING, type ReplicaConfig, type Role } from '../core/multipaxos/types.js';
import { KvStateMachine } from '../kv/kv-state-machine.js';
import type { Event, KvCommand, KvOutput } from '../kv/types.js';
import { TcpTransport } from '../net/index.js';
import { NotLeaderError, ReplicaDriver } from '../smr/driver.js';
import { nodeCommandCodec, type NodeCommand } from './command.js';
import type { NodeConfig } from './config.js';
import { memberIdOf, clusterIdOf } from './identity.js';
import { NodeStorage } from './node-storage.js';

/** How long a request may wait for consensus before the client is told it timed out. */
export const REQUEST_TIMEOUT_MS = 5_000;

export interface NodeHeader {
  readonly clusterId: bigint;
  readonly memberId: bigint;
  readonly revision: number;
  readonly raftTerm: number;
}

export type AppliedListener = (events: readonly Event[], revision: number) => void;

export class SynodNode {
  readonly config: NodeConfig;
  readonly logger: PinoLogger;
  readonly stateMachine: KvStateMachine;
  readonly clusterId: bigint;
  readonly memberId: bigint;
  private readonly storage: NodeStorage<NodeCommand>;
  private readonly replica: Replica<NodeCommand>;
  private readonly driver: ReplicaDriver<NodeCommand, KvOutput>;
  private readonly transport: TcpTransport<NodeCommand>;
  private readonly tickMs: number;
  private readonly incarnation: string;
  private nextCommand = 1;
  private tickTimer: NodeJS.Timeout | null = null;
  private leaseTimer: NodeJS.Timeout | null = null;
  private role: Role = 'follower';
  private readonly appliedListeners = new Set<AppliedListener>();
  private fatal: ((error: unknown) => void) | null = null;
  readonly startedAt = Date.now();

  private constructor(config: NodeConfig, logger: PinoLogger, storage: NodeStorage<NodeCommand>, replica: Replica<NodeCommand>) {
    this.config = config;
    this.logger = logger;
    this.storage = storage;
    this.replica = replica;
    this.stateMachine = new KvStateMachine();
    this.clusterId = clusterIdOf(config.clusterToken, [...config.initialCluster.keys()]);
    this.memberId = memberIdOf(config.clusterToken, config.name);
    this.tickMs = Math.max(1, Math.floor(config.heartbeatIntervalMs / DEFAULT_TIMING.heartbeatTicks));
    this.incarnation = `${Date.now().toString(36)}${randomInt(0, 2 ** 32).toString(36)}`;
    this.transport = new TcpTransport<NodeCommand>({
      self: config.name,
      clusterId: `${config.clusterToken}/${this.clusterId.toString(16)}`,
      listen: config.peerListen,
      peers: config.initialCluster,
      commandCodec: nodeCommandCodec,
      logger: logger.child({ component: 'net' }),
    });
    this.driver = new ReplicaDriver<NodeCommand, KvOutput>({
      replica,
      log: storage,
      peers: { send: (message) => this.transport.send(message) },
      stateMachine: {
        apply: (command, slot) => this.stateMachine.apply(command.op, slot),
        snapshot: () => this.stateMachine.snapshot(),
        restore: (bytes) => this.stateMachine.restore(bytes),
      },
      commandId: (command) => command.id,
      snapshotEverySlots: config.snapshotCount,
      now: () => Date.now(),
      onApplied: (_slot, _command, output) => this.notifyApplied(output),
      onRestored: (throughSlot) => this.logger.info({ throughSlot }, 'state machine restored from a snapshot'),
      onRole: (role, leader) => this.onRole(role, leader),
      onFatal: (error) => this.onFatal(error),
    });
    this.transport.onMessage((message) => this.driver.receive(message));
  }

  /** Opens the data directory, recovers, and starts taking part in the cluster. */
  static async start(config: NodeConfig, logger: PinoLogger): Promise<SynodNode> {
    const { storage, durable, recovery } = await NodeStorage.open(config.dataDir, nodeCommandCodec);
    if (recovery.truncated !== null) {
      logger.warn({ ...recovery.truncated }, 'recovered the write-ahead log by truncating a torn last record');
    }
    const tickMs = Math.max(1, Math.floor(config.heartbeatIntervalMs / DEFAULT_TIMING.heartbeatTicks));
    const replicaConfig: ReplicaConfig = {
      ...DEFAULT_TIMING,
      self: config.name,
      members: [...config.initialCluster.keys()],
      electionTimeoutTicks: Math.max(DEFAULT_TIMING.heartbeatTicks + 1, Math.round(config.electionTimeoutMs / tickMs)),
      // Jitter differs per process start; the core itself never draws randomness.
      seed: randomInt(0, 2 ** 31),
    };
    const replica = new Replica<NodeCommand>(replicaConfig, durable);
    const node = new SynodNode(config, logger, storage, replica);
    await node.transport.start();
    node.tickTimer = setInterval(() => node.driver.tick(), node.tickMs);
    node.leaseTimer = setInterval(() => node.expireLeases(), 500);
    logger.info(
      { member: config.name, decidedThrough: replica.status().decidedThrough, compactedThrough: replica.status().compactedThrough, records: recovery.payloads.length },
      'node started',
    );
    return node;
  }

  /** Called once if the node must stop (a failed fsync, a broken invariant). */
  onFatalError(handler: (error: unknown) => void): void {
    this.fatal = handler;
  }

  // ---------------------------------------------------------------- for the API

  /** Orders a write through the log; resolves with its output once applied here. */
  write(op: KvCommand, timeoutMs = REQUEST_TIMEOUT_MS): Promise<KvOutput> {
    const id = `${this.config.name}.${this.incarnation}.${this.nextCommand}`;
    this.nextCommand += 1;
    return this.driver.propose({ id, op }, timeoutMs);
  }

  /**
   * Waits until the local state machine reflects every write that completed
   * before this call (linearizable read). The leader confirms its leadership
   * with a quorum round; a follower orders a no-effect command through the log
   * instead, so reads sent to any member are linearizable.
   */
  async readBarrier(timeoutMs = REQUEST_TIMEOUT_MS): Promise<void> {
    if (this.role === 'leader') {
      try {
        await this.driver.readBarrier(timeoutMs);
        return;
      } catch (error) {
        if (!(error instanceof NotLeaderError)) throw error;
      }
    }
    await this.write({ type: 'range', request: { key: new Uint8Array([0]), countOnly: true } }, timeoutMs);
  }

  header(): NodeHeader {
    // etcd's terms start at 1; a ballot's round starts at 0. (Not via status(),
    // which walks the log: this runs for every response.)
    return { clusterId: this.clusterId, memberId: this.memberId, revision: this.stateMachine.currentRevision, raftTerm: this.replica.promised.round + 1 };
  }

  onApplied(listener: AppliedListener): () => void {
    this.appliedListeners.add(listener);
    return () => this.appliedListeners.delete(listener);
  }

  status(): {
    member: NodeId;
    role: Role;
    leader: NodeId | null;
    ballot: string;
    decidedThrough: Slot;
    appliedThrough: Slot;
    compactedThrough: Slot;
    revision: number;
    compactRevision: number;
    driver: ReplicaDriver<NodeCommand, KvOutput>['stats'];
    wal: ReturnType<NodeStorage<NodeCommand>['metrics']>;
    transport: ReturnType<TcpTransport<NodeCommand>['stats']>;
  } {
    const status = this.replica.status();
    return {
      member: this.config.name,
      role: status.role,
      leader: status.leader,
      ballot: formatBallot(status.ballot),
      decidedThrough: status.decidedThrough,
      // What the state machine reflects, not what the replica has emitted.
      appliedThrough: this.driver.appliedThrough,
      compactedThrough: status.compactedThrough,
      revision: this.stateMachine.currentRevision,
      compactRevision: this.stateMachine.compactRevision,
      driver: this.driver.stats,
      wal: this.storage.metrics(),
      transport: this.transport.stats(),
    };
  }

  get leader(): NodeId | null {
    return this.replica.status().leader;
  }

  async stop(): Promise<void> {
    if (this.tickTimer !== null) clearInterval(this.tickTimer);
    if (this.leaseTimer !== null) clearInterval(this.leaseTimer);
    this.tickTimer = null;
    this.leaseTimer = null;
    this.driver.close();
    await this.transport.close();
    await this.storage.close();
    this.logger.info({}, 'node stopped');
  }

  // ---------------------------------------------------------------- internals

  private onRole(role: Role, leader: NodeId | null): void {
    const wasLeader = this.role === 'leader';
    this.role = role;
    this.logger.info({ role, leader, ballot: formatBallot(this.replica.status().ballot) }, 'role changed');
    if (role === 'leader' && !wasLeader) {
      // A new leader extends every lease by an election timeout before it may
      // expire any, so clients that kept a lease alive through the old leader
      // do not lose it in the handover.
      this.write({ type: 'leader-changed', now: Date.now(), extendMs: this.config.electionTimeoutMs }).catch((error: unknown) => {
        this.logger.debug({ err: error }, 'leader-changed command not applied');
      });
    }
  }

  private expireLeases(): void {
    if (this.role !== 'leader') return;
    const now = Date.now();
    const ids = this.stateMachine.expiredLeases(now, 1_000);
    if (ids.length === 0) return;
    this.write({ type: 'lease-expire', ids, now }).catch((error: unknown) => {
      this.logger.debug({ err: error }, 'lease expiry not applied; will retry');
    });
  }

  private notifyApplied(output: KvOutput): void {
    if (output.type === 'error' || output.events.length === 0) return;
    const revision = this.stateMachine.currentRevision;
    for (const listener of this.appliedListeners) listener(output.events, revision);
  }

  private onFatal(error: unknown): void {
    this.logger.fatal({ err: error }, 'node must stop: its durable state can no longer be trusted');
    this.fatal?.(error);
  }
}
