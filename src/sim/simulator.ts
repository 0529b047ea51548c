/**
 * The deterministic simulator: N real replicas (src/core, through the Cluster
 * harness) and K clients in virtual time, driven from one seed. Every source of
 * nondeterminism (message delays, losses, fsync latency, crashes, client think
 * time) is drawn from seeded generators, and simultaneous events run in the
 * order they were scheduled, so one seed replays one run exactly.
 *
 * A run has two phases (TigerBeetle's VOPR):
 * - safety: faults on for `safetyMs`; the invariants in invariants.ts are
 *   checked on every cluster event and after every step;
 * - liveness: every fault healed; within `livenessTicks` every client operation
 *   must complete and all replicas must converge on one leader, one applied
 *   prefix and one state.
 * At the end the whole client history goes to the linearizability checker.
 */
import { InvariantError } from '../core/assert.js';
import { formatBallot } from '../core/ballot.js';
import type { NodeId } from '../core/ids.js';
import { readLeaseMs } from '../core/multipaxos/reads.js';
import { DEFAULT_TIMING, type Message } from '../core/multipaxos/types.js';
import { Random } from '../core/random.js';
import { isComplete } from '../check/history.js';
import { SessionStateMachine } from '../smr/sessions.js';
import type { StateMachine } from '../smr/state-machine.js';
import { Cluster } from './cluster.js';
import { checkHistory, converged, describeReplicas, type HistoryVerdict } from './convergence.js';
import { EventQueue } from './event-queue.js';
import {
  ACTIVITY_KINDS,
  FAULT_KINDS,
  RECONFIGURATION_COUNTS,
  zeroCounts,
  type Command,
  type Output,
  type Scheduler,
  type SimCluster,
  type SimClusterEvent,
  type SimEvent,
} from './events.js';
import { InvariantChecker } from './invariants.js';
import { KvRegister } from './kv-register.js';
import { mutantFactory } from './mutants.js';
import { Nemesis } from './nemesis.js';
import type { Phase, SimResult } from './result.js';
import { Network } from './network.js';
import { TICK_MS, validateOptions, type SimOptions } from './options.js';
import { DecidedConfigs, NODES_MAX, Reconfigurer, SPARE_NODES, describeMembership, nodeName } from './reconfiguration.js';
import { Trace, describeMessage, describeValue } from './trace.js';
import { Workload } from './workload.js';

/** State transfer in the simulator goes in chunks this small (see the Cluster options). */
const SIM_SNAPSHOT_CHUNK_BYTES = 1024;
/** Pipeline depths the simulator draws from per seed (the replica default, 16, most often). */
const SIM_PIPELINE_SLOTS = [2, 4, 16, 16];
/** Share of seeds whose leaders serve reads under a lease; the others confirm every read with a round. */
const SIM_READ_LEASE_SHARE = 0.75;
/** Each node's timer period is TICK_MS plus or minus up to this much: its clock drifts as much. */
const TICK_DRIFT_MS = 2;
const TRACE_TAIL_LINES = 30;

export type { Outcome, Phase, SimFigures, SimResult, Violation } from './result.js';

export function runSimulation(options: SimOptions): SimResult {
  validateOptions(options);
  return new Simulation(options).run();
}

class Simulation implements Scheduler {
  now = 0;
  private step = 0;
  private phase: Phase = 'safety';
  private finished = false;
  private verdict: HistoryVerdict = { linearizability: 'not-checked' };
  private readonly queue = new EventQueue<SimEvent>();
  private readonly cluster: SimCluster;
  private readonly registers = new WeakMap<StateMachine<Command, Output>, KvRegister>();
  private readonly faults = zeroCounts(FAULT_KINDS);
  private readonly activity = zeroCounts(ACTIVITY_KINDS);
  private readonly reconfigurations = zeroCounts(RECONFIGURATION_COUNTS);
  private readonly trace: Trace;
  private readonly network: Network;
  private readonly nemesis: Nemesis;
  private readonly workload: Workload;
  private readonly checker: InvariantChecker;
  private readonly configs: DecidedConfigs;
  private readonly reconfigurer: Reconfigurer | null;
  private readonly tickPeriodsMs = new Map<NodeId, number>();
  private readonly syncs = new Map<NodeId, { pending: boolean; generation: number }>();
  /** Separate streams per concern, so that changing one (say the workload) leaves the others' draws alone. */
  private readonly diskRandom: Random;
  private readonly timingRandom: Random;
  private readonly livenessDeadlineMs: number;

  constructor(private readonly options: SimOptions) {
    const root = new Random(options.seed);
    const networkRandom = root.fork();
    const nemesisRandom = root.fork();
    const workloadRandom = root.fork();
    this.diskRandom = root.fork();
    this.timingRandom = root.fork();
    // Forked after the others, so turning reconfiguration off leaves their draws alone.
    const reconfigurationRandom = root.fork();
    // A short pipeline on some seeds: a new leader then finds more undecided
    // votes in phase 1 than it can re-propose at once, a state the default of
    // 16 slots rarely reaches under this load.
    const pipelineSlotsMax = root.fork().pick(SIM_PIPELINE_SLOTS);
    const readLeases = root.fork().chance(SIM_READ_LEASE_SHARE);
    this.livenessDeadlineMs = options.safetyMs + options.livenessTicks * TICK_MS;
    const members = Array.from({ length: options.nodes }, (_, i) => nodeName(i));
    // Spare nodes run from the start as joining replicas, in no configuration
    // until a change adds them; replacements are started later (addNode).
    const spares = options.faults.reconfiguration ? Array.from({ length: SPARE_NODES }, (_, i) => nodeName(options.nodes + i)) : [];
    this.cluster = new Cluster<Command, Output>({
      members,
      joining: spares,
      seed: options.seed,
      autoSync: false,
      // Snapshots here are a few hundred bytes: small chunks make every state
      // transfer go chunk by chunk through the faulty network.
      timing: { snapshotChunkBytes: SIM_SNAPSHOT_CHUNK_BYTES, pipelineSlotsMax },
      stateMachine: () => this.newStateMachine(),
      // Each node's clock runs at the pace of its own timer, so a lease on it
      // drifts exactly as that node's ticks do.
      readLease: readLeases ? { ms: readLeaseMs(DEFAULT_TIMING.electionTimeoutTicks, TICK_MS, TICK_DRIFT_MS / TICK_MS), clockOf: (node) => () => (this.now * TICK_MS) / (this.tickPeriodsMs.get(node) ?? TICK_MS) } : undefined,
      replicaFactory: options.mutant === null ? undefined : mutantFactory<Command>(options.mutant),
    });
    this.configs = new DecidedConfigs(members, this.cluster.configWindowSlots);
    this.trace = new Trace(TRACE_TAIL_LINES, options.onTrace);
    this.checker = new InvariantChecker((node) => this.registerOf(node));
    this.network = new Network(networkRandom, options.faults, this.faults);
    const traceText = (text: string): void => this.trace.add(this.now, text);
    this.nemesis = new Nemesis(this.cluster, nemesisRandom, options, this.network, this.faults, this, traceText, () => this.configs.currentVoters());
    this.reconfigurer = !options.faults.reconfiguration
      ? null
      : new Reconfigurer(
          {
            cluster: this.cluster,
            scheduler: this,
            activity: this.activity,
            counts: this.reconfigurations,
            configs: this.configs,
            isRunning: (node) => this.isRunning(node),
            leader: () => this.nemesis.leader(),
            addNode: () => this.addNode(),
            spares: () => this.cluster.nodeIds.filter((id) => !this.configs.wasEverMember(id)),
            cut: (side) => this.nemesis.cutOff(side),
            trace: traceText,
          },
          reconfigurationRandom,
        );
    this.workload = new Workload(
      {
        cluster: this.cluster,
        scheduler: this,
        activity: this.activity,
        registerOf: (node) => this.registerOf(node),
        members: () => this.configs.currentMembers(),
        heldUntil: (node) => (this.nemesis.isPaused(node) ? this.nemesis.heldUntil(node) : null),
        proposed: (command) => this.checker.noteProposed(command),
        report: (message) => this.checker.report('exactly-once', message),
        trace: traceText,
      },
      workloadRandom,
      options.clients,
      options.keys,
    );
    this.cluster.observe((event) => this.onClusterEvent(event));
  }

  after(delayMs: number, event: SimEvent): void {
    this.queue.push(this.now + delayMs, event);
  }

  run(): SimResult {
    for (const id of this.cluster.nodeIds) this.startNode(id);
    this.after(this.timingRandom.intBetween(20, 200), { kind: 'nemesis' });
    this.after(this.options.safetyMs, { kind: 'heal-all' });
    this.workload.start();
    this.reconfigurer?.start();
    this.loop();
    if (this.checker.breach === null) {
      try {
        this.verdict = checkHistory(this.workload, this.checker, this.options.checkBudgetStatesPerKey);
      } catch (error) {
        // An invalid history is a bug in the workload's recording: report it with the seed.
        this.checker.report('crash', error instanceof Error ? (error.stack ?? error.message) : String(error));
      }
    }
    return this.result();
  }

  /** Starts a node's timer, compactions and disk. */
  private startNode(id: NodeId): void {
    this.syncs.set(id, { pending: false, generation: 0 });
    // Replicas tick out of phase, and their clocks drift: each timer runs up
    // to a fifth slow or fast. Safety must not depend on timing; liveness may.
    this.after(this.timingRandom.intBetween(0, TICK_MS - 1), { kind: 'tick', node: id });
    this.tickPeriodsMs.set(id, this.timingRandom.intBetween(TICK_MS - TICK_DRIFT_MS, TICK_MS + TICK_DRIFT_MS));
    if (this.options.faults.compaction) this.after(this.timingRandom.intBetween(100, 400), { kind: 'compact', node: id });
  }

  /** A brand-new node joining the running cluster (it takes part once a change names it), or null at the bound. */
  private addNode(): NodeId | null {
    if (this.cluster.nodeIds.length >= NODES_MAX) return null;
    const id = nodeName(this.cluster.nodeIds.length);
    this.cluster.addNode(id);
    this.trace.add(this.now, `${id} starts, joining`);
    this.startNode(id);
    return id;
  }

  private loop(): void {
    while (!this.finished && this.checker.breach === null) {
      if (this.step >= this.options.eventsMax) {
        this.checker.report('liveness', `the run reached its cap of ${this.options.eventsMax} events at ${this.now}ms without finishing`);
        return;
      }
      const next = this.queue.pop();
      if (next === undefined) {
        this.checker.report('liveness', 'nothing left to happen (the agenda is empty), yet the run is not finished');
        return;
      }
      this.now = next.time;
      this.step += 1;
      try {
        this.dispatch(next.event);
        this.scheduleSyncs();
        this.checker.afterStep(this.cluster);
      } catch (error) {
        if (error instanceof InvariantError) this.checker.report('replica-invariant', error.message);
        else this.checker.report('crash', error instanceof Error ? (error.stack ?? error.message) : String(error));
      }
    }
  }

  private dispatch(event: SimEvent): void {
    switch (event.kind) {
      case 'deliver':
        return this.deliver(event);
      case 'tick':
        this.after(this.tickPeriodsMs.get(event.node) ?? TICK_MS, event);
        if (this.isRunning(event.node) && !this.nemesis.isStalled(event.node)) this.cluster.tick(event.node);
        return;
      case 'sync': {
        const sync = this.syncs.get(event.node);
        if (sync === undefined || sync.generation !== event.generation) return;
        // A paused process cannot act on a completed fsync until it runs again.
        if (this.nemesis.isPaused(event.node)) return this.queue.push(this.nemesis.heldUntil(event.node), event);
        sync.pending = false;
        this.cluster.sync(event.node, event.records);
        return;
      }
      case 'compact':
        return this.compact(event.node);
      case 'nemesis':
        if (this.phase === 'safety') this.nemesis.strike();
        return;
      case 'restart':
        return this.nemesis.restart(event.node);
      case 'resume':
        return this.nemesis.resume(event.node);
      case 'heal-partition':
        return this.nemesis.healPartition(event.partition);
      case 'client-wake':
        return this.workload.wake(event.client);
      case 'client-arrive':
        return this.workload.arrive(event.client, event.attempt);
      case 'client-timeout':
        return this.workload.timeout(event.client, event.attempt);
      case 'reconfigure':
        if (this.phase === 'safety') this.reconfigurer?.wake();
        return;
      case 'reconfigure-timeout':
        if (this.phase === 'safety') this.reconfigurer?.timeout(event.id);
        return;
      case 'heal-all':
        this.phase = 'liveness';
        this.reconfigurer?.stop();
        this.nemesis.healAll();
        this.workload.startLiveness();
        this.after(TICK_MS, { kind: 'liveness-check' });
        return;
      case 'liveness-check':
        return this.livenessCheck();
      default: {
        const never: never = event;
        throw new Error(`unknown simulator event ${JSON.stringify(never)}`);
      }
    }
  }

  private deliver(event: Extract<SimEvent, { kind: 'deliver' }>): void {
    const entry = this.cluster.message(event.messageId);
    if (entry === undefined) return;
    const { from, to } = entry.message;
    if (this.network.isCut(from, to)) {
      this.faults['message-cut'] += 1;
      this.cluster.drop(entry.id);
      return;
    }
    // Messages to a paused process wait in its socket buffer until it runs again.
    if (this.nemesis.isPaused(to)) return this.queue.push(this.nemesis.heldUntil(to), event);
    if (this.cluster.node(to).up) this.trace.add(this.now, describeMessage(entry.message));
    this.cluster.deliver(entry.id);
  }

  private compact(node: NodeId): void {
    this.after(this.timingRandom.intBetween(150, 500), { kind: 'compact', node });
    if (!this.isRunning(node)) return;
    const before = this.cluster.node(node).replica.status().compactedThrough;
    this.cluster.compact(node);
    const after = this.cluster.node(node).replica.status().compactedThrough;
    if (after > before) {
      this.activity.compaction += 1;
      this.trace.add(this.now, `${node} compacts its log through slot ${after}`);
    }
  }

  private onClusterEvent(event: SimClusterEvent): void {
    this.checker.observe(event);
    // The decided configurations first: the driver and the clients plan from them.
    if (event.type === 'effect' && event.effect.type === 'apply' && event.effect.value.kind === 'config') {
      if (this.configs.noteApplied(event.effect.slot, event.effect.value.membership)) {
        this.trace.add(this.now, `configuration decided at slot ${event.effect.slot}: ${describeMembership(event.effect.value.membership)} from slot ${this.configs.latest().activeFrom}`);
      }
    }
    this.workload.observe(event);
    this.reconfigurer?.observe(event);
    switch (event.type) {
      case 'sent':
        if (event.message.type === 'timeout-now') this.activity['hand-over'] += 1;
        return this.route(event.id, event.message);
      case 'effect': {
        const effect = event.effect;
        if (effect.type === 'read-ready' && effect.leased) this.activity['lease-read'] += 1;
        if (effect.type === 'role') {
          if (effect.role === 'leader') this.activity.election += 1;
          this.trace.add(this.now, `${event.node} is ${effect.role} at ${formatBallot(effect.ballot)}${effect.leader !== null ? ` (leader ${effect.leader})` : ''}`);
        } else if (effect.type === 'apply') {
          this.trace.add(this.now, `${event.node} applies slot ${effect.slot} ${describeValue(effect.value)}`);
        } else if (effect.type === 'membership') {
          this.trace.add(this.now, `${event.node} is a ${effect.standing}; newest configuration ${describeMembership(effect.latest.membership)} from slot ${effect.latest.activeFrom}`);
        }
        return;
      }
      case 'crashed': {
        // A sync scheduled before the crash must not complete for the new incarnation.
        const sync = this.syncs.get(event.node);
        if (sync !== undefined) {
          sync.generation += 1;
          sync.pending = false;
        }
        return;
      }
      case 'restored':
        this.trace.add(this.now, `${event.node} restores a snapshot through slot ${event.throughSlot}`);
        return;
      default:
        return;
    }
  }

  private route(id: number, message: Message<Command>): void {
    if (message.type === 'snapshot') this.activity['state-transfer'] += 1;
    if (message.type === 'catchup-request') this.activity.catchup += 1;
    const route = this.network.route();
    if (route.kind === 'lost') {
      this.trace.add(this.now, `lost ${describeMessage(message)}`);
      this.cluster.drop(id);
      return;
    }
    const [first, second] = route.delaysMs;
    this.after(first as number, { kind: 'deliver', messageId: id });
    if (second !== undefined) this.after(second, { kind: 'deliver', messageId: this.cluster.duplicate(id) });
  }

  /** Starts an fsync for every node with written but unsynced records. */
  private scheduleSyncs(): void {
    for (const [id, sync] of this.syncs) {
      if (sync.pending) continue;
      const node = this.cluster.node(id);
      if (!node.up || node.unsyncedRecords === 0) continue;
      sync.pending = true;
      // Most fsyncs take a few milliseconds; some stall for tens, which leaves
      // more written-but-unsynced records for a crash to lose or tear.
      const latencyMs = this.diskRandom.chance(0.1) ? this.diskRandom.intBetween(10, 80) : this.diskRandom.intBetween(1, 5);
      this.after(latencyMs, { kind: 'sync', node: id, generation: sync.generation, records: node.unsyncedRecords });
    }
  }

  private livenessCheck(): void {
    if (this.workload.allDone() && converged(this.cluster, this.configs.currentMembers(), (node) => this.registerOf(node))) {
      this.trace.add(this.now, 'converged');
      this.finished = true;
      return;
    }
    if (this.now < this.livenessDeadlineMs) {
      this.after(TICK_MS, { kind: 'liveness-check' });
      return;
    }
    const open = this.workload.openOperations();
    this.checker.report(
      'liveness',
      `not converged ${this.options.livenessTicks} ticks after every fault was healed; ` +
        `open operations: ${open.length === 0 ? 'none' : open.join('; ')}; ` +
        `current members ${describeMembership(this.configs.latest().membership)} from slot ${this.configs.latest().activeFrom}; replicas: ${describeReplicas(this.cluster)}`,
    );
  }

  private result(): SimResult {
    const breach = this.checker.breach;
    const history = this.workload.history;
    const opsCompleted = history.filter(isComplete).length;
    let slotsDecided = 0;
    for (const id of this.cluster.nodeIds) slotsDecided = Math.max(slotsDecided, this.cluster.node(id).replica.status().decidedThrough);
    return {
      options: this.options,
      outcome:
        breach === null
          ? { kind: 'ok' }
          : {
              kind: 'violation',
              violation: {
                ...breach,
                phase: this.phase,
                timeMs: this.now,
                step: this.step,
                traceTail: this.trace.lastLines(),
                ...(this.verdict.history !== undefined ? { history: this.verdict.history } : {}),
              },
            },
      figures: {
        events: this.step,
        virtualTimeMs: this.now,
        opsCompleted,
        opsIncomplete: history.length - opsCompleted,
        slotsDecided,
        faults: { ...this.faults },
        activity: { ...this.activity },
        reconfigurations: { ...this.reconfigurations },
        linearizability: this.verdict.linearizability,
      },
      traceDigest: this.trace.digest(),
    };
  }

  private isRunning(node: NodeId): boolean {
    return this.cluster.node(node).up && !this.nemesis.isPaused(node);
  }

  private newStateMachine(): StateMachine<Command, Output> {
    const register = new KvRegister();
    const machine = new SessionStateMachine(register);
    this.registers.set(machine, register);
    return machine;
  }

  private registerOf(node: NodeId): KvRegister {
    const register = this.registers.get(this.cluster.node(node).stateMachine);
    if (register === undefined) throw new Error(`no register for ${node}'s state machine`);
    return register;
  }
}
