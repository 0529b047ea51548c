/**
 * Messages, durable records and effects of the Multi-Paxos replica.
 *
 * The replica is generic in `C`, the client command type: the core never looks
 * inside a command, it only orders them. A slot holds a batch of commands or a
 * no-op (used by a new leader to fill gaps, Paxos Made Simple section 3).
 */
import type { Ballot } from '../ballot.js';
import type { NodeId, Slot } from '../ids.js';

export type SlotValue<C> =
  | { readonly kind: 'noop' }
  | { readonly kind: 'batch'; readonly commands: readonly C[] }
  /**
   * A configuration change (see membership.ts): decided at slot s, `membership`
   * governs every slot from s + configWindowSlots on. `id` names the request so
   * the member that asked can answer its caller when the slot is applied.
   */
  | { readonly kind: 'config'; readonly id: string; readonly membership: Membership };

/**
 * One member of a configuration. Voters' votes and promises make quorums;
 * learners receive the log and vote, but are never counted and never campaign.
 * `info` is opaque to the core (the server keeps addresses and names there).
 */
export interface Member {
  readonly id: NodeId;
  readonly voter: boolean;
  readonly info: string;
}

export interface Membership {
  readonly members: readonly Member[];
}

/** A configuration and the first slot it governs. */
export interface ConfigEntry {
  readonly activeFrom: Slot;
  readonly membership: Membership;
}

export const NOOP: SlotValue<never> = Object.freeze({ kind: 'noop' });

/** An acceptor's vote for a slot: the value it accepted and in which ballot. */
export interface AcceptedEntry<C> {
  readonly slot: Slot;
  readonly ballot: Ballot;
  readonly value: SlotValue<C>;
}

export interface DecidedEntry<C> {
  readonly slot: Slot;
  readonly value: SlotValue<C>;
}

interface Addressed {
  readonly from: NodeId;
  readonly to: NodeId;
}

/** Phase 1a: "promise not to accept below `ballot`, and tell me what you accepted from `fromSlot` on". */
export interface PrepareMessage extends Addressed {
  readonly type: 'prepare';
  readonly ballot: Ballot;
  readonly fromSlot: Slot;
  /**
   * A hand-over: the ballot of the leader that asked for it (timeout-now), or
   * null. A member still following that very ballot promises at once instead
   * of waiting out the old leader's term (see Replica.ignoresCandidate).
   */
  readonly transfer: Ballot | null;
}

/**
 * Phase 1b. `accepted` lists the acceptor's votes for slots >= fromSlot that it
 * does not know to be decided; `decided` lists what it knows decided from fromSlot
 * on, up to a bound. When the acceptor knows more than it can send
 * (`decidedTruncated`, or `compactedThrough >= fromSlot`: those values are only in
 * a snapshot now) the candidate is behind and must catch up before it can lead.
 */
export interface PromiseMessage<C> extends Addressed {
  readonly type: 'promise';
  readonly ballot: Ballot;
  readonly fromSlot: Slot;
  readonly accepted: readonly AcceptedEntry<C>[];
  readonly decided: readonly DecidedEntry<C>[];
  /** True when the acceptor knows more decided slots than `decided` carries. */
  readonly decidedTruncated: boolean;
  readonly compactedThrough: Slot;
}

/** Phase 2a for one slot. `commitThrough` piggybacks the leader's decided prefix. */
export interface AcceptMessage<C> extends Addressed {
  readonly type: 'accept';
  readonly ballot: Ballot;
  readonly slot: Slot;
  readonly value: SlotValue<C>;
  readonly commitThrough: Slot;
}

/** Phase 2b. */
export interface AcceptedMessage extends Addressed {
  readonly type: 'accepted';
  readonly ballot: Ballot;
  readonly slot: Slot;
}

/** A prepare, accept or heartbeat refused because the acceptor promised `promised` > `ballot`. */
export interface RejectMessage extends Addressed {
  readonly type: 'reject';
  readonly ballot: Ballot;
  readonly promised: Ballot;
}

/**
 * The leader's liveness signal and commit notice. `readRound` numbers the
 * leadership confirmations that linearizable reads wait for.
 */
export interface HeartbeatMessage extends Addressed {
  readonly type: 'heartbeat';
  readonly ballot: Ballot;
  readonly commitThrough: Slot;
  readonly readRound: number;
}

export interface HeartbeatAckMessage extends Addressed {
  readonly type: 'heartbeat-ack';
  readonly ballot: Ballot;
  readonly readRound: number;
  readonly decidedThrough: Slot;
}

/** "Send me the decided values of slots fromSlot..throughSlot". */
export interface CatchupRequestMessage extends Addressed {
  readonly type: 'catchup-request';
  readonly fromSlot: Slot;
  readonly throughSlot: Slot;
}

export interface CatchupReplyMessage<C> extends Addressed {
  readonly type: 'catchup-reply';
  readonly decided: readonly DecidedEntry<C>[];
}

/**
 * State transfer: the state machine as of `throughSlot`, sent to a replica that
 * asked for slots this one has compacted away.
 */
export interface SnapshotMessage extends Addressed {
  readonly type: 'snapshot';
  readonly throughSlot: Slot;
  /**
   * One chunk of the state machine's bytes: `data` holds bytes offset ..
   * offset + data.length of `total`. A snapshot of any size crosses the network
   * as chunks of at most `snapshotChunkBytes`, each asked for in turn.
   */
  readonly offset: number;
  readonly total: number;
  readonly data: Uint8Array;
  /** The configurations governing slots after throughSlot, as of throughSlot. */
  readonly configs: readonly ConfigEntry[];
}

/** "Send me the chunk of your snapshot through `throughSlot` that starts at `offset`." */
export interface SnapshotRequestMessage extends Addressed {
  readonly type: 'snapshot-request';
  readonly throughSlot: Slot;
  readonly offset: number;
}

/** A follower passes client commands on to the leader it knows. */
export interface ForwardMessage<C> extends Addressed {
  readonly type: 'forward';
  readonly commands: readonly C[];
}

/** A leader leaving the configuration asks a voter of the next one to campaign at once. */
export interface TimeoutNowMessage extends Addressed {
  readonly type: 'timeout-now';
  readonly ballot: Ballot;
}

/** A member passes a configuration change on to the leader it knows. */
export interface ReconfigureMessage extends Addressed {
  readonly type: 'reconfigure';
  readonly request: ReconfigureRequest;
}

/** The leader's refusal of a forwarded configuration change. */
export interface ReconfigureRejectedMessage extends Addressed {
  readonly type: 'reconfigure-rejected';
  readonly id: string;
  readonly reason: ReconfigureRejection;
}

export type Message<C> =
  | PrepareMessage
  | PromiseMessage<C>
  | AcceptMessage<C>
  | AcceptedMessage
  | RejectMessage
  | HeartbeatMessage
  | HeartbeatAckMessage
  | CatchupRequestMessage
  | CatchupReplyMessage<C>
  | SnapshotMessage
  | ForwardMessage<C>
  | TimeoutNowMessage
  | ReconfigureMessage
  | ReconfigureRejectedMessage
  | SnapshotRequestMessage;

export type MessageType = Message<unknown>['type'];

/**
 * What must survive a crash. Replaying these records in order (see durable.ts)
 * gives back exactly the acceptor's promises and votes and the learner's decisions.
 */
export type DurableRecord<C> =
  | { readonly kind: 'promise'; readonly ballot: Ballot }
  | { readonly kind: 'accept'; readonly slot: Slot; readonly ballot: Ballot; readonly value: SlotValue<C> }
  | { readonly kind: 'decide'; readonly slot: Slot; readonly value: SlotValue<C> }
  /**
   * The state machine as of `throughSlot` (taken locally or received from a peer);
   * it replaces every record about slots <= throughSlot.
   */
  | { readonly kind: 'snapshot'; readonly throughSlot: Slot; readonly data: Uint8Array; readonly configs: readonly ConfigEntry[] }
  /**
   * The configurations known before any slot was decided: the bootstrap
   * membership, written once by a member of a new cluster.
   */
  | { readonly kind: 'genesis'; readonly configs: readonly ConfigEntry[] };

export type Role = 'follower' | 'candidate' | 'leader';

/** Effects released once the step's durable records are on disk, to be carried out in order. */
export type Effect<C> =
  | { readonly type: 'send'; readonly message: Message<C> }
  /** Apply a decided slot to the state machine. Always in slot order, each slot once. */
  | { readonly type: 'apply'; readonly slot: Slot; readonly value: SlotValue<C> }
  /** Replace the state machine with a snapshot taken at `throughSlot`. */
  | { readonly type: 'restore'; readonly throughSlot: Slot; readonly data: Uint8Array }
  /** A linearizable read may now be served from the state machine as applied so far. */
  /** `leased`: served under the read lease, with no round confirming it (reads.ts). */
  | { readonly type: 'read-ready'; readonly id: number; readonly leased: boolean }
  | { readonly type: 'read-rejected'; readonly id: number; readonly leader: NodeId | null }
  /** Commands that will not be ordered by this replica; their clients should retry. */
  | { readonly type: 'proposals-dropped'; readonly commands: readonly C[]; readonly reason: DropReason; readonly leader: NodeId | null }
  | { readonly type: 'role'; readonly role: Role; readonly ballot: Ballot; readonly leader: NodeId | null }
  /** The newest configuration this replica knows changed (learned, restored or activated). */
  | { readonly type: 'membership'; readonly latest: ConfigEntry; readonly standing: Standing }
  /** A configuration change that will not be proposed (success shows as the applied config value). */
  | { readonly type: 'reconfigure-rejected'; readonly id: string; readonly reason: ReconfigureRejection; readonly leader: NodeId | null };

/**
 * This replica's place in the configuration that governs its next undecided slot:
 * a voter, a learner, removed (in no configuration it knows from there on), or
 * unknown (a new member still catching up to the change that added it).
 */
export type Standing = 'voter' | 'learner' | 'removed' | 'unknown';

export type ReconfigureRejection = 'not-leader' | 'in-progress' | 'stale' | 'invalid' | 'stepped-down' | 'behind';

/**
 * A configuration change: replace the newest configuration (the one active from
 * `basedOn`) with `membership`. Refused as 'stale' if the newest is another one.
 */
export interface ReconfigureRequest {
  readonly id: string;
  readonly basedOn: Slot;
  readonly membership: Membership;
  /**
   * Members that must be caught up for the change to go ahead (a learner about
   * to vote): each must have reported a decided prefix within one configuration
   * window of the leader's, else the change is refused as 'behind'.
   */
  readonly caughtUp: readonly NodeId[];
}

export type DropReason = 'no-leader' | 'overloaded' | 'stepped-down';

/**
 * The output of one step. THE RULE: every record in `persist` must be durable
 * (written and synced) before any effect in `afterDurable` is carried out.
 * Promises and votes sent before they are durable could be forgotten by a crash,
 * and an acceptor that forgets a promise can let two values be chosen.
 */
export interface Ready<C> {
  readonly persist: readonly DurableRecord<C>[];
  readonly afterDurable: readonly Effect<C>[];
  /**
   * False when no effect of this step announces a record of this step: then the
   * effects need only the records of EARLIER steps durable (in a log that makes
   * records durable in order). True when the step promised or voted as an
   * acceptor (the promise or `accepted` reply announces it), restored or took a
   * snapshot, or decided a slot with a vote of this same step.
   *
   * A leader's own vote and a decision need not be durable before the step's
   * messages go out: the accepts it sends claim nothing about its vote, and the
   * vote counts towards a decision only in a later step, whose effects wait for
   * this step's records. A decision is a fact held by a quorum of durable votes;
   * its record only saves asking again after a crash. So a leader writes its own
   * vote while the followers write theirs, and applies a decided command without
   * waiting for the decision's own sync.
   */
  readonly ownRecordsFirst: boolean;
}

/** Inputs to `Replica.step`. Time enters as `tick`, and as the read lease's clock (ReplicaConfig.readLease). */
export type Input<C> =
  | { readonly type: 'message'; readonly message: Message<C> }
  | { readonly type: 'tick' }
  | { readonly type: 'propose'; readonly commands: readonly C[] }
  | { readonly type: 'read'; readonly id: number }
  /**
   * The state machine as of `throughSlot` (<= applied): the replica records it and
   * forgets the log through that slot.
   */
  | { readonly type: 'compact'; readonly throughSlot: Slot; readonly data: Uint8Array }
  /** Try to become leader now rather than waiting for the election timeout. */
  | { readonly type: 'campaign' }
  | { readonly type: 'reconfigure'; readonly request: ReconfigureRequest };

export interface ReplicaConfig {
  readonly self: NodeId;
  /**
   * The voters of a new cluster, used only when the durable state holds no
   * configuration yet (the first start of a bootstrap member). Empty for a member
   * joining a running cluster: it learns the configurations from the log.
   */
  readonly members: readonly NodeId[];
  /**
   * Lamport's alpha: a configuration decided at slot s governs slots from
   * s + configWindowSlots on, and a leader proposes slot t only once every slot
   * <= t - configWindowSlots is decided. Must be the same on every member.
   */
  readonly configWindowSlots: number;
  /** Base election timeout; each wait is drawn from [base, 2*base) ticks. */
  readonly electionTimeoutTicks: number;
  readonly heartbeatTicks: number;
  /** Most slots a leader has proposed but not yet seen decided. */
  readonly pipelineSlotsMax: number;
  /** Most commands batched into one slot. */
  readonly batchCommandsMax: number;
  /** Most commands a leader queues while its pipeline is full. */
  readonly pendingCommandsMax: number;
  /** Most decided entries sent in one promise or catch-up reply. */
  readonly catchupSlotsMax: number;
  /** Most snapshot bytes in one message (state transfer goes chunk by chunk). */
  readonly snapshotChunkBytes: number;
  /** Most linearizable reads waiting for a leadership confirmation. */
  readonly readsPendingMax: number;
  /** Seeds the election jitter. Randomness is an input, never a global. */
  readonly seed: number;
  /**
   * Read leases (reads.ts): a leader serves a linearizable read without a
   * quorum round while `clock()` is under `ms` past the sending of a heartbeat
   * a quorum answered. `clock` is this process's monotonic clock in
   * milliseconds; `ms` must be shorter, in real time on the leader's clock,
   * than `electionTimeoutTicks - 1` ticks on any member's (readLeaseMs).
   * Absent: every read waits for a quorum round.
   */
  readonly readLease?: { readonly ms: number; readonly clock: () => number };
}

export const DEFAULT_TIMING = Object.freeze({
  electionTimeoutTicks: 10,
  heartbeatTicks: 2,
  pipelineSlotsMax: 16,
  configWindowSlots: 32,
  batchCommandsMax: 64,
  pendingCommandsMax: 4096,
  catchupSlotsMax: 256,
  snapshotChunkBytes: 4 * 1024 * 1024,
  readsPendingMax: 4096,
});

export interface ReplicaStatus {
  readonly self: NodeId;
  readonly role: Role;
  readonly ballot: Ballot;
  readonly promised: Ballot;
  readonly leader: NodeId | null;
  readonly decidedThrough: Slot;
  readonly appliedThrough: Slot;
  readonly compactedThrough: Slot;
  readonly highestSlot: Slot;
  readonly inflightSlots: number;
  readonly pendingCommands: number;
  /** The newest configuration known (it may not govern any decided slot yet). */
  readonly latestConfig: ConfigEntry | null;
  readonly standing: Standing;
}
