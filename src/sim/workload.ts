/**
 * The simulated clients. Each issues get, put and compare-and-set operations on
 * a few keys, one at a time, and records what it saw in a history for the
 * linearizability checker.
 *
 * - A write goes to one replica as a session command {client, seq, op} and is
 *   complete when that replica applies it. On a timeout, or when a replica says
 *   it dropped the proposal, the client retries the same seq elsewhere (at the
 *   leader it was told about, if any); the session table keeps the retry from
 *   taking effect twice.
 * - A get uses the replica's linearizable read path and is served from that
 *   replica's state machine when the read is ready.
 * - After too many attempts a client gives up: the operation stays incomplete in
 *   the history (it may or may not have taken effect) and the client carries on
 *   under a new name, because a history client never has two operations open.
 *   In the liveness phase nobody gives up: every operation must finish.
 */
import { assert } from '../core/assert.js';
import type { NodeId } from '../core/ids.js';
import type { Random } from '../core/random.js';
import type { KvInput, KvOutput, Operation } from '../check/history.js';
import { formatInput } from '../check/format.js';
import type { ActivityKind, Command, Counts, Scheduler, SimCluster, SimClusterEvent } from './events.js';
import type { KvRegister } from './kv-register.js';

const ATTEMPT_TIMEOUT_MS = 120;
const ATTEMPTS_MAX = 8;
const BACKOFF_MAX_MS = 200;
/** Operations each client issues once the faults are healed, to show new commands commit. */
const LIVENESS_OPS_PER_CLIENT = 2;
/** Most recent values per key that a compare-and-set may expect. */
const RECENT_VALUES_MAX = 3;

export interface WorkloadHost {
  readonly cluster: SimCluster;
  readonly scheduler: Scheduler;
  readonly activity: Counts<ActivityKind>;
  registerOf(node: NodeId): KvRegister;
  /**
   * The members (voters and learners) of the newest configuration: clients send
   * there, since any member forwards to the leader. Never empty.
   */
  members(): readonly NodeId[];
  /** Null when the node can take a request now, else when a paused node gets to it. */
  heldUntil(node: NodeId): number | null;
  /** Every write is announced before it is proposed, for the validity check. */
  proposed(command: Command): void;
  /** A client saw something only a broken replica could produce. */
  report(message: string): void;
  trace(text: string): void;
}

interface PendingOp {
  /** Index of the operation in the history. */
  readonly index: number;
  readonly input: KvInput;
  /** The session command for writes, null for reads. */
  readonly command: Command | null;
  attempt: number;
  target: NodeId;
  /** Whether the current attempt has reached its target. */
  arrived: boolean;
  readId: number | null;
}

interface Client {
  readonly index: number;
  generation: number;
  name: string;
  seq: number;
  leaderHint: NodeId | null;
  op: PendingOp | null;
  livenessOpsLeft: number;
  done: boolean;
}

export class Workload {
  readonly history: Operation[] = [];
  private readonly clients: Client[] = [];
  private readonly byName = new Map<string, Client>();
  private readonly readOwners = new Map<number, Client>();
  /** History index -> the session command of each write. */
  private readonly commands = new Map<number, Command>();
  private readonly recentValues = new Map<string, string[]>();
  private nextReadId = 1;
  private writesIssued = 0;
  private phase: 'safety' | 'liveness' = 'safety';

  constructor(
    private readonly host: WorkloadHost,
    private readonly random: Random,
    clientCount: number,
    private readonly keys: readonly string[],
  ) {
    for (let index = 0; index < clientCount; index += 1) {
      const client: Client = { index, generation: 0, name: `c${index}`, seq: 0, leaderHint: null, op: null, livenessOpsLeft: 0, done: false };
      this.clients.push(client);
      this.byName.set(client.name, client);
    }
  }

  start(): void {
    for (const client of this.clients) this.host.scheduler.after(this.random.intBetween(0, 20), { kind: 'client-wake', client: client.index });
  }

  startLiveness(): void {
    this.phase = 'liveness';
    for (const client of this.clients) client.livenessOpsLeft = LIVENESS_OPS_PER_CLIENT;
  }

  /** True once, in the liveness phase, every client has finished all it had to do. */
  allDone(): boolean {
    return this.phase === 'liveness' && this.clients.every((client) => client.done);
  }

  /** The operations still open, for the liveness report. */
  openOperations(): string[] {
    return this.clients
      .filter((client) => client.op !== null)
      .map((client) => {
        const op = client.op as PendingOp;
        return `${client.name}: ${formatInput(op.input)} attempt ${op.attempt} at ${op.target}`;
      });
  }

  /** The writes whose clients saw them complete: each must have executed exactly once. */
  acknowledgedWrites(): Command[] {
    const acknowledged: Command[] = [];
    for (const [index, command] of this.commands) if (this.history[index]?.output !== undefined) acknowledged.push(command);
    return acknowledged;
  }

  // ---------------------------------------------------------------- client events

  wake(index: number): void {
    const client = this.client(index);
    if (client.op !== null || client.done) return;
    if (this.phase === 'liveness') {
      if (client.livenessOpsLeft === 0) {
        client.done = true;
        return;
      }
      client.livenessOpsLeft -= 1;
    }
    this.issue(client);
  }

  arrive(index: number, attempt: number): void {
    const client = this.client(index);
    const op = client.op;
    if (op === null || op.attempt !== attempt) return;
    if (!this.host.cluster.node(op.target).up) return; // lost with the node: the timeout retries
    const heldUntil = this.host.heldUntil(op.target);
    if (heldUntil !== null) {
      this.host.scheduler.after(heldUntil - this.host.scheduler.now, { kind: 'client-arrive', client: index, attempt });
      return;
    }
    op.arrived = true;
    if (op.command !== null) {
      this.host.trace(`${client.name} -> ${op.target} ${formatInput(op.input)} seq ${op.command.seq} attempt ${attempt}`);
      this.host.cluster.propose(op.target, [op.command]);
    } else {
      const id = this.nextReadId;
      this.nextReadId += 1;
      op.readId = id;
      this.readOwners.set(id, client);
      this.host.trace(`${client.name} -> ${op.target} ${formatInput(op.input)} read ${id} attempt ${attempt}`);
      this.host.cluster.input(op.target, { type: 'read', id });
    }
  }

  timeout(index: number, attempt: number): void {
    const client = this.client(index);
    const op = client.op;
    if (op === null || op.attempt !== attempt) return;
    if (client.leaderHint === op.target) client.leaderHint = null;
    if (this.phase === 'safety' && op.attempt >= ATTEMPTS_MAX) this.giveUp(client);
    else this.retry(client);
  }

  // ---------------------------------------------------------------- cluster events

  observe(event: SimClusterEvent): void {
    if (event.type === 'applied') {
      if (event.command === null) return;
      const client = this.byName.get(event.command.client);
      const op = client?.op;
      if (client === undefined || op === null || op === undefined || op.command?.seq !== event.command.seq || event.node !== op.target) return;
      assert(event.output !== null, 'a command applied without an output');
      if (event.output.kind === 'session-expired') {
        this.host.report(`${client.name}'s open command seq ${op.command.seq} was answered "session expired" at ${event.node}: a later command of the session ran first`);
        return;
      }
      this.complete(client, event.output.output);
      return;
    }
    if (event.type !== 'effect') return;
    const effect = event.effect;
    switch (effect.type) {
      case 'proposals-dropped':
        for (const command of effect.commands) {
          const client = this.byName.get(command.client);
          if (client?.op?.command?.seq !== command.seq || !client.op.arrived) continue;
          if (effect.leader !== null) client.leaderHint = effect.leader;
          this.retry(client);
        }
        return;
      case 'read-ready': {
        const client = this.takeReader(effect.id);
        if (client?.op?.input.kind !== 'get') return;
        client.leaderHint = event.node;
        this.complete(client, { kind: 'get', value: this.host.registerOf(event.node).get(client.op.input.key) });
        return;
      }
      case 'read-rejected': {
        const client = this.takeReader(effect.id);
        if (client === undefined) return;
        if (effect.leader !== null) client.leaderHint = effect.leader;
        this.retry(client);
        return;
      }
      default:
        return;
    }
  }

  // ---------------------------------------------------------------- plumbing

  private issue(client: Client): void {
    const input = this.nextInput();
    let command: Command | null = null;
    if (input.kind !== 'get') {
      client.seq += 1;
      command = { client: client.name, seq: client.seq, op: input };
      this.host.proposed(command);
    }
    const index = this.history.length;
    if (command !== null) this.commands.set(index, command);
    this.history.push({ id: index, client: client.name, input, call: this.host.scheduler.now });
    // Half of the operations go to the client's home replica whatever it is
    // doing (as a client bound to one endpoint would), the rest to the leader it
    // last heard of. Home clients keep talking to a deposed leader that has not
    // noticed yet, which is where stale reads would show.
    const members = this.host.members();
    const home = members[client.index % members.length] as NodeId;
    const target = this.random.chance(0.5) ? home : (client.leaderHint ?? this.random.pick(members));
    client.op = { index, input, command, attempt: 0, target, arrived: false, readId: null };
    this.send(client, target, 0);
  }

  private retry(client: Client): void {
    const op = client.op as PendingOp;
    const members = this.host.members();
    const others = members.length > 1 ? members.filter((id) => id !== op.target) : members;
    const hint = client.leaderHint;
    // A hint may name a node outside the newest configuration: a leader that
    // leads until the change that removes it governs the log. A stale hint
    // costs one timeout, after which it is forgotten.
    const target = hint !== null && hint !== op.target ? hint : this.random.pick(others);
    this.host.activity['client-retry'] += 1;
    // Exponential backoff with jitter, so that a client told "no leader" waits
    // for an election instead of burning its attempts while there is none.
    const backoffMaxMs = Math.min(BACKOFF_MAX_MS, 10 * 2 ** Math.min(op.attempt, 8));
    this.send(client, target, this.random.intBetween(5, backoffMaxMs));
  }

  private send(client: Client, target: NodeId, delayMs: number): void {
    const op = client.op as PendingOp;
    op.attempt += 1;
    op.target = target;
    op.arrived = false;
    op.readId = null;
    const scheduler = this.host.scheduler;
    scheduler.after(delayMs + this.random.intBetween(1, 3), { kind: 'client-arrive', client: client.index, attempt: op.attempt });
    scheduler.after(delayMs + ATTEMPT_TIMEOUT_MS, { kind: 'client-timeout', client: client.index, attempt: op.attempt });
  }

  private complete(client: Client, output: KvOutput): void {
    const op = client.op as PendingOp;
    const record = this.history[op.index] as Operation;
    record.return = this.host.scheduler.now;
    record.output = output;
    this.host.trace(`${client.name} <- ${op.target} ${formatInput(op.input)} returns ${JSON.stringify(output)}`);
    client.op = null;
    this.host.scheduler.after(this.random.intBetween(0, 30), { kind: 'client-wake', client: client.index });
  }

  private giveUp(client: Client): void {
    const op = client.op as PendingOp;
    this.host.activity['client-gave-up'] += 1;
    this.host.trace(`${client.name} gives up on ${formatInput(op.input)}`);
    this.byName.delete(client.name);
    client.generation += 1;
    client.name = `c${client.index}.${client.generation}`;
    client.seq = 0;
    client.op = null;
    this.byName.set(client.name, client);
    this.host.scheduler.after(this.random.intBetween(0, 30), { kind: 'client-wake', client: client.index });
  }

  private takeReader(readId: number): Client | undefined {
    const client = this.readOwners.get(readId);
    this.readOwners.delete(readId);
    return client?.op?.readId === readId ? client : undefined;
  }

  private nextInput(): KvInput {
    const key = this.random.pick(this.keys);
    const roll = this.random.nextFloat();
    if (roll < 0.4) return { kind: 'get', key };
    // Values are unique per write, which lets the checker tell writes apart.
    this.writesIssued += 1;
    const value = `${key}${this.writesIssued}`;
    const recent = this.recentValues.get(key) ?? [];
    this.recentValues.set(key, [value, ...recent].slice(0, RECENT_VALUES_MAX));
    if (roll < 0.75) return { kind: 'put', key, value };
    // Expect the latest value half of the time (so many CAS succeed), else an
    // older one or absence (so many fail).
    const expected = recent.length > 0 && this.random.chance(0.5) ? (recent[0] as string) : this.random.pick<string | null>([null, ...recent]);
    return { kind: 'cas', key, expected, value };
  }

  private client(index: number): Client {
    const client = this.clients[index];
    assert(client !== undefined, () => `no client ${index}`);
    return client;
  }
}
