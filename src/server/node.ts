/**
 * A Synod node process: the pure replica (core) driven by the replica driver
 * (smr) over the write-ahead log (storage) and TCP peers (net), applying
 * commands to the MVCC key-value state machine (kv), and serving clients.
 *
 * Time enters here and only here: a timer ticks the replica every `tickMs`, and
 * the wall clock stamps lease commands when the leader proposes them.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { join } from 'node:path';
import type { Logger as PinoLogger } from 'pino';
import { formatBallot } from '../core/ballot.js';
import { nodeId, type NodeId, type Slot } from '../core/ids.js';
import { readLeaseMs } from '../core/multipaxos/reads.js';
import { Replica } from '../core/multipaxos/replica.js';
import { DEFAULT_TIMING, type ConfigEntry, type Membership, type ReplicaConfig, type Role, type Standing } from '../core/multipaxos/types.js';
import { KvStateMachine } from '../kv/kv-state-machine.js';
import type { Event, KvCommand, KvOutput } from '../kv/types.js';
import { TcpTransport } from '../net/index.js';
import { NotLeaderError, ReconfigureError, ReplicaDriver } from '../smr/driver.js';
import { nodeCommandCodec, type NodeCommand } from './command.js';
import { ConfigError, type HostPort, type NodeConfig } from './config.js';
import { clusterIdOf } from './identity.js';
import { IncarnationBook } from './incarnations.js';
import { readJsonFile, writeJsonFileDurably } from './json-file.js';
import { decodeInfo, encodeInfo, hostPortOf, memberIdOfNode, nodeIdForPeerUrl, url, viewMembers, type MemberView } from './membership.js';
import { leaseClock } from './lease-clock.js';
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

/** What a configuration change makes of the newest membership, and who must be caught up first. */
export type MembershipChange = (current: Membership) => { membership: Membership; caughtUp?: readonly NodeId[] };

/** How long a configuration change keeps retrying while another one is still taking effect. */
const RECONFIGURE_RETRY_MS = 5_000;
/**
 * How far read leases allow clocks and timers to stray: a member's tick may be
 * this much shorter than its nominal length, and the leader's clock this much
 * faster than a member's. Processes on one machine share a clock; monotonic
 * clocks on different machines differ by far less than this.
 */
const CLOCK_DRIFT_MAX = 0.1;

/**
 * Who this process is in the cluster, written once to the data directory: a
 * member keeps its node id for life, whatever flags it is restarted with.
 */
interface MemberFile {
  readonly node: NodeId;
  readonly token: string;
  /** Random, fixed when the data directory was created (see incarnations.ts). */
  readonly incarnation: string;
  /**
   * Set once this member has been part of a configuration. A member that was
   * admitted and is in no configuration it knows was removed (its own entries
   * may have been compacted away before a restart); one never admitted is
   * still joining.
   */
  readonly admitted: boolean;
}

/** The replica's tick: a heartbeat interval is `heartbeatTicks` ticks. */
function tickMsOf(config: NodeConfig): number {
  return Math.max(1, Math.floor(config.heartbeatIntervalMs / DEFAULT_TIMING.heartbeatTicks));
}

async function writeMemberFile(dataDir: string, file: MemberFile): Promise<void> {
  await writeJsonFileDurably(join(dataDir, 'member.json'), file);
}

async function loadOrCreateMemberFile(config: NodeConfig, fresh: boolean): Promise<MemberFile> {
  const path = join(config.dataDir, 'member.json');
  let parsed: unknown;
  try {
    parsed = await readJsonFile(path, 'names this member');
  } catch (error) {
    throw new ConfigError(error instanceof Error ? error.message : String(error));
  }
  if (parsed !== undefined) {
    const v = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Partial<MemberFile>;
    if (typeof v.node !== 'string' || v.node.length === 0 || typeof v.token !== 'string' || typeof v.incarnation !== 'string' || v.incarnation.length === 0) {
      throw new ConfigError(`${path} is malformed`);
    }
    if (v.token !== config.clusterToken) {
      throw new ConfigError(`${config.dataDir} belongs to cluster "${v.token}", not "${config.clusterToken}" (--initial-cluster-token)`);
    }
    return { node: nodeId(v.node), token: v.token, incarnation: v.incarnation, admitted: v.admitted === true };
  }
  if (!fresh) throw new ConfigError(`${config.dataDir} holds a log but no member.json: refusing to guess which member it belongs to`);
  const ownPeer = config.initialCluster.get(config.name);
  const node = config.initialClusterState === 'new' || ownPeer === undefined ? config.name : nodeIdForPeerUrl(config.clusterToken, url(ownPeer));
  const file: MemberFile = { node, token: config.clusterToken, incarnation: randomBytes(16).toString('hex'), admitted: false };
  await writeMemberFile(config.dataDir, file);
  return file;
}

export class SynodNode {
  readonly config: NodeConfig;
  readonly logger: PinoLogger;
  readonly stateMachine: KvStateMachine;
  readonly clusterId: bigint;
  readonly memberId: bigint;
  /** This member's node id in the consensus core (its name, for a bootstrap member). */
  readonly self: NodeId;
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
  private removed: (() => void) | null = null;
  private latest: ConfigEntry | null = null;
  private standingNow: Standing = 'unknown';
  private published = false;
  private nextChange = 1;
  readonly startedAt = Date.now();

  private readonly incarnations: IncarnationBook;
  private member: MemberFile;

  private constructor(
    config: NodeConfig,
    logger: PinoLogger,
    storage: NodeStorage<NodeCommand>,
    replica: Replica<NodeCommand>,
    member: MemberFile,
    incarnations: IncarnationBook,
  ) {
    const self = member.node;
    this.member = member;
    this.incarnations = incarnations;
    this.config = config;
    this.logger = logger;
    this.storage = storage;
    this.replica = replica;
    this.stateMachine = new KvStateMachine();
    // One id per cluster token: a member joining later cannot know the bootstrap member list.
    this.clusterId = clusterIdOf(config.clusterToken, []);
    this.self = self;
    this.memberId = memberIdOfNode(config.clusterToken, self);
    // --initial-cluster names members; a member added through the API has a node
    // id derived from its peer URL instead. A joining node cannot tell which, so
    // it dials both (the handshake refuses the wrong one); the configuration gives
    // the real ids and addresses once it has caught up.
    const peers = new Map<NodeId, HostPort>();
    for (const [name, address] of config.initialCluster) {
      if (name === config.name || name === self) continue;
      peers.set(name, address);
      if (config.initialClusterState === 'existing') peers.set(nodeIdForPeerUrl(config.clusterToken, url(address)), address);
    }
    peers.delete(self);
    this.tickMs = tickMsOf(config);
    this.incarnation = `${Date.now().toString(36)}${randomInt(0, 2 ** 32).toString(36)}`;
    this.transport = new TcpTransport<NodeCommand>({
      self,
      clusterId: `${config.clusterToken}/${this.clusterId.toString(16)}`,
      listen: config.peerListen,
      peers,
      incarnation: member.incarnation,
      admit: (peer, incarnation) => this.incarnations.admit(peer, incarnation),
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
        snapshotInSlices: (yieldTurn) => this.stateMachine.snapshotInSlices(yieldTurn),
        restore: (bytes) => this.stateMachine.restore(bytes),
      },
      commandId: (command) => command.id,
      snapshotEverySlots: config.snapshotCount,
      // Each member snapshots up to a quarter sooner, by an amount its member id
      // fixes, so members that apply the same log pause for it at different slots.
      snapshotEarlier: () => Number(this.memberId % BigInt(Math.max(1, Math.floor(config.snapshotCount / 4)))),
      now: () => Date.now(),
      onApplied: (_slot, _command, output) => this.notifyApplied(output),
      onRestored: (throughSlot) => this.logger.info({ throughSlot }, 'state machine restored from a snapshot'),
      onRole: (role, leader) => this.onRole(role, leader),
      onMembership: (latest, standing) => this.onMembership(latest, standing),
      onFatal: (error) => this.onFatal(error),
    });
    this.transport.onMessage((message) => this.driver.receive(message));
  }

  /** Opens the data directory, recovers, and starts taking part in the cluster. */
  static async start(config: NodeConfig, logger: PinoLogger): Promise<SynodNode> {
    const { storage, durable, recovery } = await NodeStorage.open(config.dataDir, nodeCommandCodec);
    const fresh = recovery.payloads.length === 0;
    let member: MemberFile;
    let incarnations: IncarnationBook;
    try {
      member = await loadOrCreateMemberFile(config, fresh);
      incarnations = await IncarnationBook.open(config.dataDir, logger.child({ component: 'net' }));
    } catch (error) {
      await storage.close();
      throw error;
    }
    if (recovery.truncated !== null) {
      logger.warn({ ...recovery.truncated }, 'recovered the write-ahead log by cutting off a torn final write that was never acknowledged');
    }
    const tickMs = tickMsOf(config);
    const electionTimeoutTicks = Math.max(DEFAULT_TIMING.heartbeatTicks + 1, Math.round(config.electionTimeoutMs / tickMs));
    const replicaConfig: ReplicaConfig = {
      ...DEFAULT_TIMING,
      self: member.node,
      // A member of a new cluster starts from the bootstrap membership; one joining
      // a running cluster knows none and learns it from the log.
      members: config.initialClusterState === 'new' ? [...config.initialCluster.keys()] : [],
      electionTimeoutTicks,
      // Jitter differs per process start; the core itself never draws randomness.
      seed: randomInt(0, 2 ** 31),
      // The tick timer may fire up to a millisecond early (libuv counts whole
      // milliseconds); the drift margin covers clocks across machines.
      ...(config.readLease ? { readLease: { ms: readLeaseMs(electionTimeoutTicks, tickMs - 1, CLOCK_DRIFT_MAX), clock: leaseClock() } } : {}),
    };
    const replica = new Replica<NodeCommand>(replicaConfig, durable);
    const node = new SynodNode(config, logger, storage, replica, member, incarnations);
    await node.transport.start();
    node.tickTimer = setInterval(() => node.driver.tick(), node.tickMs);
    node.publishIfNeeded();
    node.leaseTimer = setInterval(() => {
      node.expireLeases();
      node.publishIfNeeded();
    }, 500);
    logger.info(
      { member: config.name, node: member.node, decidedThrough: replica.status().decidedThrough, compactedThrough: replica.status().compactedThrough, records: recovery.payloads.length },
      'node started',
    );
    return node;
  }

  /** Called once if the node must stop (a failed fsync, a broken invariant). */
  onFatalError(handler: (error: unknown) => void): void {
    this.fatal = handler;
  }

  /** Called once when this member learns it was removed from the cluster. */
  onRemoved(handler: () => void): void {
    this.removed = handler;
  }

  /** The members of the newest configuration this node knows. */
  members(): MemberView[] {
    return viewMembers(this.config, this.latest);
  }

  get standing(): Standing {
    return this.standingNow;
  }

  /**
   * Changes the membership through the log. Retries while an earlier change is
   * still taking effect or the newest configuration moved under it; resolves once
   * the change is decided and applied here, with the members after it.
   */
  async changeMembership(change: MembershipChange, timeoutMs = REQUEST_TIMEOUT_MS): Promise<MemberView[]> {
    const deadline = Date.now() + Math.max(timeoutMs, RECONFIGURE_RETRY_MS);
    for (let attempt = 0; ; attempt++) {
      const latest = this.latest;
      if (latest === null) throw new NotLeaderError(this.leader, 'this member does not know the configuration yet');
      const { membership, caughtUp = [] } = change(latest.membership);
      const id = `${this.self}.${this.incarnation}.c${this.nextChange++}`;
      try {
        await this.driver.reconfigure({ id, basedOn: latest.activeFrom, membership, caughtUp }, timeoutMs);
        return this.members();
      } catch (error) {
        // Another change still taking effect, or no leader at hand: wait and ask again.
        const retry = error instanceof ReconfigureError && error.reason !== 'invalid' && error.reason !== 'behind';
        if (!retry || Date.now() >= deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(50 * 2 ** attempt, 500)));
      }
    }
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
    await this.incarnations.flush();
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

  private onMembership(latest: ConfigEntry, reported: Standing): void {
    const before = this.standingNow;
    const named = latest.membership.members.some((m) => m.id === this.self);
    const standing: Standing = reported === 'unknown' && this.member.admitted && !named ? 'removed' : reported;
    if ((standing === 'voter' || standing === 'learner') && !this.member.admitted) {
      this.member = { ...this.member, admitted: true };
      writeMemberFile(this.config.dataDir, this.member).catch((error: unknown) => this.logger.error({ err: error }, 'cannot record in member.json that this member was admitted'));
    }
    this.latest = latest;
    this.standingNow = standing;
    this.incarnations.retain(new Set(latest.membership.members.map((m) => m.id)));
    for (const member of latest.membership.members) {
      if (member.id === this.self) continue;
      const info = decodeInfo(member.info);
      const address = info === null ? null : hostPortOf(info.peerURLs[0] ?? '');
      if (address !== null) this.transport.setPeerAddress(member.id, address);
    }
    if (standing !== before) this.logger.info({ standing, members: latest.membership.members.map((m) => m.id), activeFrom: latest.activeFrom }, 'membership changed');
    if (standing === 'removed' && before !== 'removed') {
      this.logger.warn({ member: this.config.name }, 'this member was removed from the cluster; it stops taking part');
      this.removed?.();
      return;
    }
    this.publishIfNeeded();
  }

  /**
   * A member added through the API is listed with its peer URL only; once it
   * is part of the cluster it records its name and client URL in its entry.
   */
  private publishIfNeeded(): void {
    if (this.tickTimer === null || this.published || (this.standingNow !== 'voter' && this.standingNow !== 'learner') || this.latest === null) return;
    const own = this.latest.membership.members.find((m) => m.id === this.self);
    const info = own === undefined ? null : decodeInfo(own.info);
    if (info === null) return; // a bootstrap member: the flags describe it
    const clientURLs = [url(this.config.clientListen)];
    if (info.name === this.config.name && info.clientURLs.join() === clientURLs.join()) return;
    this.published = true;
    const update = encodeInfo({ name: this.config.name, peerURLs: info.peerURLs, clientURLs });
    this.changeMembership((current) => ({ membership: { members: current.members.map((m) => (m.id === this.self ? { ...m, info: update } : m)) } })).catch(
      (error: unknown) => {
        this.published = false;
        this.logger.debug({ err: error }, 'publishing the name and client URL of this member failed; will retry');
      },
    );
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
