/**
 * The Multi-Paxos playground: the simulator's cluster of real replicas
 * (src/sim/cluster.ts over src/core/multipaxos) with a person, or a seeded fault
 * preset, choosing every delivery, drop, duplicate, delay, crash and partition,
 * and two clients whose operations are checked for linearizability.
 *
 * A playground is a pure function of its scenario: `replayPlayground` rebuilds
 * the state after any prefix of the actions, which is how the lab travels in
 * time, shares links and exports tests. Safety is checked live: every slot must
 * hold one value on every replica that applied it (agreement), and the client
 * history must be linearizable (src/check).
 */
import { InvariantError } from '../../core/assert.js';
import { formatBallot } from '../../core/ballot.js';
import { nodeId, type NodeId } from '../../core/ids.js';
import type { DEFAULT_TIMING, Membership, Message, ReplicaStatus, SlotValue } from '../../core/multipaxos/types.js';
import { Random } from '../../core/random.js';
import type { KvInput, KvOutput, Operation } from '../../check/history.js';
import { checkLinearizable, type CheckResult } from '../../check/linearizability.js';
import { Cluster, type InFlight } from '../../sim/cluster.js';
import { KvRegister } from '../../sim/kv-register.js';
import { mutantFactory, type MutantName } from '../../sim/mutants.js';
import { SessionStateMachine, type SessionCommand, type SessionOutput } from '../../smr/sessions.js';
import { CLIENT_NAMES, describeKvInput, replicaNames, type PlaygroundAction, type PlaygroundScenario } from './playground-scenario.js';
import { runPreset } from './presets.js';

export type LabCommand = SessionCommand<KvInput>;
export type LabOutput = SessionOutput<KvOutput>;

/** An action that cannot be applied to this state (a message no longer in flight, a crashed replica). */
export class LabActionError extends Error {
  override readonly name = 'LabActionError';
}

export interface SlotConflict {
  readonly slot: number;
  readonly values: readonly { readonly value: string; readonly nodes: readonly string[] }[];
}

export interface SafetyReport {
  readonly agreement: { readonly ok: boolean; readonly conflicts: readonly SlotConflict[] };
  readonly linearizability: CheckResult;
  /** An assertion inside a replica fired (only planted bugs do that); the run stopped there. */
  readonly invariant: string | null;
  readonly ok: boolean;
}

export interface SlotView {
  readonly slot: number;
  readonly state: 'chosen' | 'accepted';
  readonly ballot: string | null;
  readonly text: string;
}

export interface MessageView {
  readonly id: number;
  readonly type: Message<LabCommand>['type'];
  readonly from: string;
  readonly to: string;
  readonly summary: string;
  readonly cut: boolean;
  readonly delayed: boolean;
}

export interface ClientView {
  readonly name: string;
  /** The session name the replicas see; it changes when the client abandons an operation. */
  readonly session: string;
  readonly pending: { readonly op: string; readonly node: string; readonly dropped: string | null } | null;
  readonly last: { readonly op: string; readonly output: string } | null;
}

interface ClientState {
  readonly name: string;
  incarnation: number;
  seq: number;
  pending: { operation: Operation; command: LabCommand; node: string; dropped: string | null } | null;
  last: { op: string; output: string } | null;
}

const SETTLE_STEPS_MAX = 5000;
const NOTES_MAX = 40;

export function slotValueText(value: SlotValue<LabCommand>): string {
  if (value.kind === 'noop') return 'no-op';
  if (value.kind === 'config') return `config ${describeMembership(value.membership)}`;
  return value.commands.map((c) => `${c.client}#${c.seq} ${describeKvInput(c.op)}`).join('; ');
}

/** Voters, then learners in brackets: "n1 n2 n3 [n4]". */
export function describeMembership(membership: Membership): string {
  return membership.members.map((m) => (m.voter ? m.id : `[${m.id}]`)).join(' ');
}

export function outputText(output: KvOutput): string {
  switch (output.kind) {
    case 'get': return output.value === null ? '∅' : output.value;
    case 'put': return 'ok';
    case 'cas': return output.ok ? 'ok' : 'failed';
  }
}

export class Playground {
  readonly cluster: Cluster<LabCommand, LabOutput>;
  readonly nodes: readonly string[];
  readonly random: Random;
  /** A logical clock: one tick per action and per preset step; the client history's time. */
  clock = 0;
  /** How many scenario actions have been applied. */
  actionsApplied = 0;
  failure: string | null = null;
  readonly notes: string[] = [];
  private readonly cuts = new Set<string>();
  private readonly delayed = new Map<number, number>();
  private delaySeq = 0;
  private readonly clients = new Map<string, ClientState>();
  private readonly operations: Operation[] = [];
  /** slot -> value text -> nodes that applied that value there. */
  private readonly appliedValues = new Map<number, Map<string, Set<string>>>();
  private safetyCache: { clock: number; report: SafetyReport } | null = null;
  /** node -> slot -> the ballot of its last vote there; a decided slot's vote is gone from the replica. */
  private readonly voteBallots = new Map<string, Map<number, string>>();

  constructor(readonly config: Omit<PlaygroundScenario, 'actions'>) {
    this.nodes = replicaNames(config.replicas);
    this.random = new Random(config.seed ^ 0x5eed);
    this.cluster = new Cluster<LabCommand, LabOutput>({
      members: this.nodes.map(nodeId),
      seed: config.seed,
      // Shorter than the default so elections in the lab take a few clicks; the cast
      // is needed because DEFAULT_TIMING's frozen literal types narrow the option.
      timing: { electionTimeoutTicks: 6, heartbeatTicks: 2 } as unknown as Partial<typeof DEFAULT_TIMING>,
      stateMachine: () => new SessionStateMachine<KvInput, KvOutput>(new KvRegister()),
      ...(config.bug === null ? {} : { replicaFactory: mutantFactory<LabCommand>(config.bug as MutantName) }),
    });
    for (const name of CLIENT_NAMES) this.clients.set(name, { name, incarnation: 1, seq: 0, pending: null, last: null });
    this.cluster.observe((event) => {
      switch (event.type) {
        case 'effect': {
          const effect = event.effect;
          if (effect.type === 'apply') this.recordApplied(effect.slot, event.node, slotValueText(effect.value));
          else if (effect.type === 'role') this.note(`${event.node} is ${effect.role} in ballot ${formatBallot(effect.ballot)}`);
          else if (effect.type === 'proposals-dropped') this.noteDropped(event.node, effect.commands, effect.reason);
          return;
        }
        case 'applied':
          if (event.command !== null && event.output !== null) this.complete(event.node, event.command, event.output);
          return;
        case 'persisted':
          if (event.record.kind === 'accept') {
            let votes = this.voteBallots.get(event.node);
            if (votes === undefined) this.voteBallots.set(event.node, (votes = new Map()));
            votes.set(event.record.slot, formatBallot(event.record.ballot));
          }
          return;
        case 'crashed':
          this.note(`${event.node} crashed${event.recordsLost > 0 ? `, losing ${event.recordsLost} unsynced records` : ''}`);
          return;
        case 'restarted':
          this.note(`${event.node} restarted from its disk`);
          return;
        default:
          return;
      }
    });
  }

  /** Applies one scenario action. Throws LabActionError if it does not fit this state. */
  apply(action: PlaygroundAction): void {
    this.actionsApplied += 1;
    if (this.failure !== null) return;
    if (action.t === 'preset') {
      runPreset(this, action.name, action.steps);
      return;
    }
    this.exec(action);
  }

  /** Runs one concrete action (presets call this for each of their steps). */
  exec(action: Exclude<PlaygroundAction, { t: 'preset' }>): void {
    if (this.failure !== null) return;
    this.clock += 1;
    try {
      this.execUnchecked(action);
    } catch (error) {
      if (!(error instanceof InvariantError)) throw error;
      this.failure = error.message;
      this.note(`an assertion fired: ${error.message}`);
    }
  }

  private execUnchecked(action: Exclude<PlaygroundAction, { t: 'preset' }>): void {
    const c = this.cluster;
    switch (action.t) {
      case 'deliver': {
        const entry = this.inFlight(action.id);
        if (this.isCut(entry.message.from, entry.message.to)) {
          c.drop(action.id);
          this.note(`#${action.id} was lost on the cut link ${entry.message.from} → ${entry.message.to}`);
        } else {
          c.deliver(action.id);
        }
        return;
      }
      case 'drop': this.inFlight(action.id); c.drop(action.id); return;
      case 'duplicate': this.inFlight(action.id); c.duplicate(action.id); return;
      case 'delay': {
        this.inFlight(action.id);
        const newest = Math.max(...c.inFlight().map((m) => m.id));
        this.delaySeq += 1;
        this.delayed.set(action.id, newest + this.delaySeq / 1e6);
        return;
      }
      case 'step': this.networkStep(); return;
      case 'settle': {
        for (let i = 0; i < SETTLE_STEPS_MAX && c.inFlight().length > 0; i += 1) this.networkStep();
        return;
      }
      case 'tick': for (let i = 0; i < action.count; i += 1) c.tickAll(); return;
      case 'crash': c.crash(this.node(action.node)); return;
      case 'restart': c.restart(this.node(action.node)); return;
      case 'campaign': c.input(this.upNode(action.node), { type: 'campaign' }); return;
      case 'compact': c.compact(this.upNode(action.node)); return;
      case 'partition': {
        this.cuts.clear();
        const group = (n: string): number => {
          const index = action.groups.findIndex((g) => g.includes(n));
          return index === -1 ? -1 - this.nodes.indexOf(n) : index;
        };
        for (const a of this.nodes) for (const b of this.nodes) if (a !== b && group(a) !== group(b)) this.cuts.add(`${a}>${b}`);
        this.note(`partition ${action.groups.map((g) => `{${g.join(',')}}`).join(' | ')}`);
        return;
      }
      case 'cut': this.cuts.add(`${action.from}>${action.to}`); this.note(`cut ${action.from} → ${action.to}`); return;
      case 'heal': this.cuts.clear(); this.note('the network is whole again'); return;
      case 'op': this.submit(action.client, action.node, action.op); return;
      case 'retry': this.resend(action.client, action.node); return;
    }
  }

  // ---------------------------------------------------------------- views

  isCut(from: string, to: string): boolean {
    return this.cuts.has(`${from}>${to}`);
  }

  get cutLinks(): readonly string[] {
    return [...this.cuts];
  }

  /** In-flight messages in the order the network would deliver them. */
  messages(): MessageView[] {
    const order = (id: number): number => this.delayed.get(id) ?? id;
    return this.cluster
      .inFlight()
      .sort((a, b) => order(a.id) - order(b.id))
      .map(({ id, message }) => ({
        id,
        type: message.type,
        from: message.from,
        to: message.to,
        summary: summarizeMessage(message),
        cut: this.isCut(message.from, message.to),
        delayed: this.delayed.has(id),
      }));
  }

  status(node: string): ReplicaStatus {
    return this.cluster.node(nodeId(node)).replica.status();
  }

  isUp(node: string): boolean {
    return this.cluster.node(nodeId(node)).up;
  }

  /** The live replica that leads in the highest ballot, if any. */
  leader(): string | null {
    let best: { node: string; status: ReplicaStatus } | null = null;
    for (const node of this.nodes) {
      if (!this.isUp(node)) continue;
      const status = this.status(node);
      if (status.role !== 'leader') continue;
      if (best === null || compareRounds(status, best.status) > 0) best = { node, status };
    }
    return best?.node ?? null;
  }

  /** The replica's log from its snapshot on, at most `slotsMax` most recent slots. */
  log(node: string, slotsMax = 24): SlotView[] {
    const replica = this.cluster.node(nodeId(node)).replica;
    const status = replica.status();
    const first = Math.max(status.compactedThrough + 1, status.highestSlot - slotsMax + 1);
    const slots: SlotView[] = [];
    for (let s = first; s <= status.highestSlot; s += 1) {
      const slot = s as Parameters<typeof replica.decidedValue>[0];
      const decided = replica.decidedValue(slot);
      const vote = replica.acceptedVote(slot);
      const ballot = vote === undefined ? this.voteBallots.get(node)?.get(s) ?? null : formatBallot(vote.ballot);
      if (decided !== undefined) slots.push({ slot: s, state: 'chosen', ballot, text: slotValueText(decided) });
      else if (vote !== undefined) slots.push({ slot: s, state: 'accepted', ballot: formatBallot(vote.ballot), text: slotValueText(vote.value) });
    }
    return slots;
  }

  clientViews(): ClientView[] {
    return [...this.clients.values()].map((c) => ({
      name: c.name,
      session: sessionName(c),
      pending: c.pending === null ? null : { op: describeKvInput(c.pending.command.op), node: c.pending.node, dropped: c.pending.dropped },
      last: c.last,
    }));
  }

  hasPending(client: string): boolean {
    const pending = this.clients.get(client)?.pending;
    return pending !== undefined && pending !== null;
  }

  /** The client history (a copy), in the format of src/check/history.ts. */
  history(): Operation[] {
    return this.operations.map((o) => ({ ...o }));
  }

  safety(): SafetyReport {
    if (this.safetyCache?.clock === this.clock) return this.safetyCache.report;
    const conflicts: SlotConflict[] = [];
    for (const [slot, values] of [...this.appliedValues].sort(([a], [b]) => a - b)) {
      if (values.size > 1) conflicts.push({ slot, values: [...values].map(([value, nodes]) => ({ value, nodes: [...nodes].sort() })) });
    }
    const linearizability = checkLinearizable(this.history(), { budgetStatesPerKey: 50_000 });
    const report: SafetyReport = {
      agreement: { ok: conflicts.length === 0, conflicts },
      linearizability,
      invariant: this.failure,
      ok: conflicts.length === 0 && linearizability.kind !== 'violation' && this.failure === null,
    };
    this.safetyCache = { clock: this.clock, report };
    return report;
  }

  // ---------------------------------------------------------------- internals

  private networkStep(): void {
    const next = this.messages()[0];
    if (next === undefined) return;
    this.execUnchecked({ t: 'deliver', id: next.id });
  }

  private inFlight(id: number): InFlight<LabCommand> {
    const entry = this.cluster.message(id);
    if (entry === undefined) throw new LabActionError(`message #${id} is not in flight`);
    return entry;
  }

  private node(name: string): NodeId {
    if (!this.nodes.includes(name)) throw new LabActionError(`no replica ${name}`);
    return nodeId(name);
  }

  private upNode(name: string): NodeId {
    const id = this.node(name);
    if (!this.cluster.node(id).up) throw new LabActionError(`${name} is down`);
    return id;
  }

  private client(name: string): ClientState {
    const client = this.clients.get(name);
    if (client === undefined) throw new LabActionError(`no client ${name}`);
    return client;
  }

  private submit(clientName: string, node: string, op: KvInput): void {
    const target = this.upNode(node);
    const client = this.client(clientName);
    if (client.pending !== null) {
      // The client gives up on its pending operation (it stays "incomplete" in the
      // history: it may or may not take effect) and opens a new session.
      this.note(`${clientName} gave up on ${describeKvInput(client.pending.command.op)}`);
      client.incarnation += 1;
      client.seq = 0;
      client.pending = null;
    }
    client.seq += 1;
    const command: LabCommand = { client: sessionName(client), seq: client.seq, op };
    const operation: Operation = { id: this.operations.length + 1, client: sessionName(client), input: op, call: this.clock };
    this.operations.push(operation);
    client.pending = { operation, command, node, dropped: null };
    this.cluster.propose(target, [command]);
  }

  private resend(clientName: string, node: string): void {
    const target = this.upNode(node);
    const client = this.client(clientName);
    if (client.pending === null) throw new LabActionError(`${clientName} has nothing pending`);
    client.pending.node = node;
    client.pending.dropped = null;
    this.cluster.propose(target, [client.pending.command]);
  }

  private complete(node: string, command: LabCommand, output: LabOutput): void {
    for (const client of this.clients.values()) {
      const pending = client.pending;
      if (pending === null || pending.node !== node) continue;
      if (pending.command.client !== command.client || pending.command.seq !== command.seq) continue;
      if (output.kind !== 'applied') return;
      pending.operation.return = this.clock;
      pending.operation.output = output.output;
      client.last = { op: describeKvInput(command.op), output: outputText(output.output) };
      client.pending = null;
      return;
    }
  }

  private noteDropped(node: string, commands: readonly LabCommand[], reason: string): void {
    for (const client of this.clients.values()) {
      const pending = client.pending;
      if (pending === null || pending.node !== node) continue;
      if (commands.some((c) => c.client === pending.command.client && c.seq === pending.command.seq)) {
        pending.dropped = reason;
        this.note(`${node} turned away ${client.name}'s ${describeKvInput(pending.command.op)} (${reason}); retry elsewhere`);
      }
    }
  }

  private recordApplied(slot: number, node: string, value: string): void {
    let values = this.appliedValues.get(slot);
    if (values === undefined) this.appliedValues.set(slot, (values = new Map()));
    let nodes = values.get(value);
    if (nodes === undefined) values.set(value, (nodes = new Set()));
    nodes.add(node);
  }

  private note(text: string): void {
    this.notes.push(`[${this.clock}] ${text}`);
    if (this.notes.length > NOTES_MAX) this.notes.shift();
  }
}

function sessionName(client: ClientState): string {
  return client.incarnation === 1 ? client.name : `${client.name}~${client.incarnation}`;
}

function compareRounds(a: ReplicaStatus, b: ReplicaStatus): number {
  return a.ballot.round - b.ballot.round || (a.ballot.node < b.ballot.node ? -1 : a.ballot.node > b.ballot.node ? 1 : 0);
}

export function summarizeMessage(m: Message<LabCommand>): string {
  switch (m.type) {
    case 'prepare': return `prepare ${formatBallot(m.ballot)} from slot ${m.fromSlot}`;
    case 'promise': return `promise ${formatBallot(m.ballot)}, ${m.accepted.length} vote(s)`;
    case 'accept': return `accept ${formatBallot(m.ballot)} slot ${m.slot}: ${slotValueText(m.value)}`;
    case 'accepted': return `accepted ${formatBallot(m.ballot)} slot ${m.slot}`;
    case 'reject': return `reject ${formatBallot(m.ballot)} (promised ${formatBallot(m.promised)})`;
    case 'heartbeat': return `heartbeat ${formatBallot(m.ballot)}, decided ≤ ${m.commitThrough}`;
    case 'heartbeat-ack': return `heartbeat-ack ${formatBallot(m.ballot)}`;
    case 'catchup-request': return `catch-up ${m.fromSlot}..${m.throughSlot}`;
    case 'catchup-reply': return `catch-up reply, ${m.decided.length} slot(s)`;
    case 'snapshot': return `snapshot through ${m.throughSlot}`;
    case 'forward': return `forward ${m.commands.length} command(s)`;
    case 'timeout-now': return `timeout-now ${formatBallot(m.ballot)}: campaign at once`;
    case 'reconfigure': return `reconfigure to ${describeMembership(m.request.membership)}`;
    case 'reconfigure-rejected': return `reconfigure refused: ${m.reason}`;
    case 'snapshot-request': return `snapshot chunk request from byte ${m.offset}`;
  }
}

/** The playground after the first `upTo` actions of `scenario` (all of them by default). */
export function replayPlayground(scenario: PlaygroundScenario, upTo = scenario.actions.length): Playground {
  const playground = new Playground({ seed: scenario.seed, replicas: scenario.replicas, bug: scenario.bug });
  for (const action of scenario.actions.slice(0, upTo)) playground.apply(action);
  return playground;
}
