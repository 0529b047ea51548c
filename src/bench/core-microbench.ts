/**
 * The CPU ceiling of the Multi-Paxos core: a 3-replica in-memory Cluster
 * (src/sim/cluster.ts) with zero-latency delivery, no disk (records are
 * "synced" as soon as a step returns) and a state machine that does nothing.
 * Whatever a real node does on top (gRPC, encoding, the WAL, the network, the
 * MVCC store) can only lower the rate measured here.
 *
 * Clients are simulated the way the server feeds the core: one `propose` of
 * one command per client request, with `outstanding` commands in flight, so
 * the core's own batching (a full pipeline queues commands; a freed slot takes
 * up to batchCommandsMax of them) decides how many commands share a slot.
 * All three replicas run in this one thread, so the figure is the cluster's
 * commands per second, i.e. about a third of what one replica's share costs.
 */
import { performance } from 'node:perf_hooks';
import { assert } from '../core/assert.js';
import { nodeId, type NodeId } from '../core/ids.js';
import { DEFAULT_TIMING } from '../core/multipaxos/types.js';
import { Cluster } from '../sim/cluster.js';
import type { StateMachine } from '../smr/state-machine.js';

export interface CoreBenchOptions {
  readonly durationMs: number;
  /** Commands proposed and not yet applied at the leader (the simulated clients). */
  readonly outstanding?: number;
}

export interface CoreBenchResult {
  readonly durationSeconds: number;
  readonly outstanding: number;
  /** Commands applied at the leader per second. */
  readonly commandsPerSecond: number;
  readonly slotsPerSecond: number;
  readonly commandsPerSlot: number;
  readonly messagesPerCommand: number;
  readonly pipelineSlotsMax: number;
  readonly batchCommandsMax: number;
}

class CountingMachine implements StateMachine<number, number> {
  applied = 0;
  apply(): number {
    this.applied += 1;
    return this.applied;
  }
  snapshot(): Uint8Array {
    return new Uint8Array(0);
  }
  restore(): void {
    this.applied = 0;
  }
}

/** How many election rounds to try before giving up (each is one tick of every node and a full delivery). */
const ELECTION_TICKS_MAX = 1_000;

export function runCoreMicrobench(options: CoreBenchOptions): CoreBenchResult {
  const outstandingMax = options.outstanding ?? DEFAULT_TIMING.pipelineSlotsMax * DEFAULT_TIMING.batchCommandsMax;
  const members: NodeId[] = [nodeId('n1'), nodeId('n2'), nodeId('n3')];
  const cluster = new Cluster<number, number>({ members, seed: 1, stateMachine: () => new CountingMachine() });
  // Delivery order is FIFO over one queue of message ids, fed by the 'sent' events.
  let queue: number[] = [];
  let head = 0;
  let sent = 0;
  let leader: NodeId | null = null;
  let applied = 0;
  let slots = 0;
  cluster.observe((event) => {
    if (event.type === 'sent') {
      queue.push(event.id);
      sent += 1;
    } else if (leader !== null && event.node === leader && event.type === 'effect' && event.effect.type === 'apply' && event.effect.value.kind === 'batch') {
      applied += event.effect.value.commands.length;
      slots += 1;
    }
  });
  const deliverAll = (budget: number): void => {
    for (let n = 0; n < budget && head < queue.length; n += 1) {
      cluster.deliver(queue[head] as number);
      head += 1;
    }
    if (head === queue.length) {
      queue = [];
      head = 0;
    } else if (head > 65_536) {
      queue = queue.slice(head);
      head = 0;
    }
  };

  for (let tick = 0; tick < ELECTION_TICKS_MAX && leader === null; tick += 1) {
    cluster.tickAll();
    deliverAll(Number.POSITIVE_INFINITY);
    leader = members.find((id) => cluster.node(id).replica.status().role === 'leader') ?? null;
  }
  assert(leader !== null, 'no leader was elected in the in-memory cluster');
  const theLeader: NodeId = leader;

  let proposed = 0;
  let command = 0;
  const startMs = performance.now();
  const endMs = startMs + options.durationMs;
  const sentAtStart = sent;
  let nowMs = startMs;
  while (nowMs < endMs) {
    // Top up the simulated clients, one command per propose, as the server does.
    while (proposed - applied < outstandingMax) {
      cluster.propose(theLeader, [command]);
      command += 1;
      proposed += 1;
    }
    deliverAll(256);
    nowMs = performance.now();
  }
  const seconds = (nowMs - startMs) / 1000;
  return {
    durationSeconds: seconds,
    outstanding: outstandingMax,
    commandsPerSecond: applied / seconds,
    slotsPerSecond: slots / seconds,
    commandsPerSlot: slots === 0 ? 0 : applied / slots,
    messagesPerCommand: applied === 0 ? 0 : (sent - sentAtStart) / applied,
    pipelineSlotsMax: DEFAULT_TIMING.pipelineSlotsMax,
    batchCommandsMax: DEFAULT_TIMING.batchCommandsMax,
  };
}
