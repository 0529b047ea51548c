/**
 * Single-decree Paxos over the in-memory cluster: scenarios from the literature
 * ("Paxos Made Simple", §2.2–2.5) and a property test of agreement and validity
 * under arbitrary loss, duplication, reordering, crashes and restarts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compareBallots, type Ballot } from '../../src/core/ballot.js';
import { nodeId, type NodeId } from '../../src/core/ids.js';
import { PaxosCluster, type InFlight } from '../../src/core/paxos/index.js';
import { Random } from '../../src/core/random.js';

const [P1, P2] = ['p1', 'p2'].map(nodeId) as [NodeId, NodeId];
const acceptorIds = (n: number): NodeId[] => Array.from({ length: n }, (_, i) => nodeId(`a${i + 1}`));
const [A1, A2, A3] = acceptorIds(3) as [NodeId, NodeId, NodeId];
const L1 = nodeId('l1');

function newCluster(acceptors = 3, learners = [L1]): PaxosCluster<string> {
  return new PaxosCluster<string>({ proposers: [P1, P2], acceptors: acceptorIds(acceptors), learners });
}

/** Delivers matching messages, oldest first, until none match; returns what was delivered. */
function deliverAll(cluster: PaxosCluster<string>, matches: (m: InFlight<string>) => boolean = () => true): InFlight<string>[] {
  const delivered: InFlight<string>[] = [];
  for (let steps = 0; ; steps++) {
    assert.ok(steps < 10_000, 'deliverAll did not quiesce: the protocol keeps sending');
    const next = cluster.inFlight().find(matches);
    if (next === undefined) return delivered;
    cluster.deliver(next.id);
    delivered.push(next);
  }
}

const ofType = (...types: string[]) => (m: InFlight<string>): boolean => types.includes(m.message.type);

describe('paxos cluster scenarios', () => {
  it('three acceptors with one crashed still choose a value with two promises and two accepts', () => {
    const cluster = newCluster();
    cluster.crash(A3);
    cluster.propose(P1, 'x');
    const delivered = deliverAll(cluster);
    const handledBy = (type: string) => delivered.filter((m) => m.message.type === type && m.message.from !== A3).map((m) => m.message.from);
    assert.deepEqual(handledBy('promise'), [A1, A2]);
    assert.deepEqual(handledBy('accepted'), [A1, A2]);
    assert.equal(cluster.chosen(), 'x');
    assert.equal(cluster.learner(L1)?.decision(), 'x');
    assert.equal(cluster.proposer(P1)?.query(), 'x');
  });

  it('a proposer that hears of a chosen value proposes it, so the second proposer\'s own value loses', () => {
    const cluster = newCluster();
    cluster.propose(P1, 'first');
    // p1's attempt reaches a1 and a2 only: 'first' is chosen by {a1, a2}.
    deliverAll(cluster, (m) => m.message.to !== A3 && m.message.from !== A3 && m.message.type !== 'decision');
    assert.equal(cluster.chosen(), 'first');
    for (const m of cluster.inFlight()) cluster.drop(m.id);
    // p2 never hears the decision; its phase-1 quorum {a2, a3} intersects {a1, a2} in a2.
    cluster.propose(P2, 'second');
    deliverAll(cluster, (m) => m.message.to !== A1 && m.message.type !== 'accept');
    const accepts = cluster.inFlight().filter(ofType('accept'));
    assert.ok(accepts.length > 0, 'p2 reached phase 2');
    assert.ok(accepts.every((m) => m.message.type === 'accept' && m.message.value === 'first'), 'p2 proposes the reported value, not its own');
    deliverAll(cluster);
    assert.equal(cluster.proposer(P2)?.query(), 'first');
    assert.equal(cluster.learner(L1)?.decision(), 'first');
  });

  it('dueling proposers preempt each other for K rounds with nothing chosen, and a single leader ends it', () => {
    const K = 6;
    const cluster = newCluster();
    const ballots: Ballot[] = [];
    /** `me` runs phase 1 to completion, then the other's pending accepts are refused. */
    const turn = (me: NodeId, other: NodeId, value: string): void => {
      const sent = cluster.proposer(me)?.phase.phase === 'idle' ? cluster.propose(me, value) : cluster.retry(me);
      const prepare = sent[0]?.message;
      assert.ok(prepare?.type === 'prepare');
      ballots.push(prepare.ballot);
      deliverAll(cluster, ofType('prepare', 'promise'));
      deliverAll(cluster, (m) => m.message.type === 'accept' && m.message.from === other);
      deliverAll(cluster, ofType('nack'));
      assert.equal(cluster.proposer(me)?.phase.phase, 'accepting');
    };
    turn(P1, P2, 'one');
    for (let round = 0; round < K; round++) {
      turn(P2, P1, 'two');
      assert.equal(cluster.proposer(P1)?.phase.phase, 'preempted');
      turn(P1, P2, 'one');
      assert.equal(cluster.proposer(P2)?.phase.phase, 'preempted');
    }
    assert.equal(cluster.chosen(), undefined, 'livelock: nothing chosen');
    assert.equal(cluster.learner(L1)?.decision(), undefined);
    for (let i = 1; i < ballots.length; i++) {
      assert.ok(compareBallots(ballots[i - 1] as Ballot, ballots[i] as Ballot) < 0, 'each attempt used a higher ballot');
    }
    // p2 stops competing: p1, now the only proposer, gets its in-flight accepts through.
    deliverAll(cluster);
    assert.equal(cluster.chosen(), 'one');
    assert.equal(cluster.proposer(P1)?.query(), 'one');
    assert.equal(cluster.proposer(P2)?.query(), 'one');
  });

  it('a restarted acceptor keeps its promise and refuses a lower ballot', () => {
    const cluster = newCluster();
    cluster.propose(P1, 'low'); // ballot 0.p1
    cluster.propose(P2, 'high'); // ballot 0.p2, above 0.p1
    deliverAll(cluster, (m) => m.message.type === 'prepare' && m.message.from === P2 && m.message.to === A1);
    cluster.crash(A1);
    cluster.restart(A1);
    assert.equal(cluster.acceptor(A1)?.state.promised.node, P2);
    const delivered = deliverAll(cluster, (m) => m.message.type === 'prepare' && m.message.from === P1 && m.message.to === A1);
    assert.equal(delivered.length, 1);
    const nack = cluster.inFlight().find((m) => m.message.type === 'nack');
    assert.ok(nack?.message.type === 'nack');
    assert.deepEqual(nack.message.promised, { round: 0, node: P2 });
  });

  it('a restarted proposer never reissues a ballot it used before the crash', () => {
    const cluster = newCluster();
    const before = cluster.propose(P1, 'x')[0]?.message;
    cluster.crash(P1);
    cluster.restart(P1);
    assert.equal(cluster.proposer(P1)?.phase.phase, 'idle', 'the restart forgot the attempt');
    const after = cluster.propose(P1, 'y')[0]?.message;
    assert.ok(before?.type === 'prepare' && after?.type === 'prepare');
    assert.ok(compareBallots(after.ballot, before.ballot) > 0);
  });

  it('stepProcess delivers the oldest message waiting for that process', () => {
    const cluster = newCluster();
    cluster.propose(P1, 'x');
    cluster.propose(P2, 'y');
    const step = cluster.stepProcess(A2);
    assert.ok(step?.outcome === 'handled');
    assert.equal(step.delivered.message.from, P1);
    assert.equal(cluster.stepProcess(L1), null, 'nothing waits for the learner yet');
  });

  it('replaying the action history of a seeded random run reproduces it exactly', () => {
    const cluster = newCluster(5);
    const random = new Random(42);
    cluster.propose(P1, 'x');
    cluster.propose(P2, 'y');
    for (let i = 0; i < 40 && cluster.deliverAny(random) !== null; i++);
    const replay = newCluster(5);
    for (const action of cluster.history()) replay.apply(action);
    assert.deepEqual(replay.inFlight(), cluster.inFlight());
    assert.deepEqual(replay.history(), cluster.history());
  });
});

type Op =
  | { readonly kind: 'deliver' | 'drop' | 'duplicate'; readonly pick: number }
  | { readonly kind: 'crash' | 'restart'; readonly pick: number }
  | { readonly kind: 'propose' | 'retry'; readonly proposer: 0 | 1 };

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('deliver' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('drop' as const, 'duplicate' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('crash' as const, 'restart' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('propose' as const, 'retry' as const), proposer: fc.constantFrom(0 as const, 1 as const) }) },
);

function runOp(cluster: PaxosCluster<string>, op: Op, step: number): void {
  const inFlight = cluster.inFlight();
  const nodes = cluster.nodes;
  switch (op.kind) {
    case 'deliver':
    case 'drop':
    case 'duplicate': {
      const target = inFlight[op.pick % Math.max(1, inFlight.length)];
      if (target === undefined) return;
      if (op.kind === 'deliver') cluster.deliver(target.id);
      else if (op.kind === 'drop') cluster.drop(target.id);
      else cluster.duplicate(target.id);
      return;
    }
    case 'crash':
    case 'restart': {
      const candidates = nodes.filter((n) => cluster.isCrashed(n) === (op.kind === 'restart'));
      const node = candidates[op.pick % Math.max(1, candidates.length)];
      if (node === undefined) return;
      if (op.kind === 'crash') cluster.crash(node);
      else cluster.restart(node);
      return;
    }
    case 'propose':
    case 'retry': {
      const node = [P1, P2][op.proposer] as NodeId;
      if (cluster.isCrashed(node)) return;
      if (op.kind === 'propose') cluster.propose(node, `${node}-${step}`);
      else cluster.retry(node);
      return;
    }
  }
}

describe('paxos cluster property', () => {
  it('under any schedule of loss, duplication, reordering, crashes and restarts at most one value is chosen, every decision equals it, and once healed a lone leader gets a value chosen', () => {
    fc.assert(
      fc.property(fc.constantFrom(3, 5), fc.array(opArbitrary, { minLength: 10, maxLength: 150, size: 'max' }), (acceptors, ops) => {
        const cluster = newCluster(acceptors, [nodeId('l1'), nodeId('l2')]);
        const proposed = new Set<string>();
        // Safety phase: the cluster itself checks agreement after every step (checkInvariants).
        ops.forEach((op, step) => {
          runOp(cluster, op, step);
          for (const action of cluster.history().slice(-1)) if (action.type === 'propose') proposed.add(action.value);
        });
        // Liveness phase: heal every fault, flush old messages, then only p1 proposes.
        for (const node of cluster.nodes) if (cluster.isCrashed(node)) cluster.restart(node);
        deliverAll(cluster);
        for (let attempt = 0; attempt < 3 && cluster.proposer(P1)?.query() === undefined; attempt++) {
          if (cluster.proposer(P1)?.phase.phase === 'idle') {
            cluster.propose(P1, 'leader');
            proposed.add('leader');
          } else {
            cluster.retry(P1);
          }
          deliverAll(cluster);
        }
        const chosen = cluster.chosen();
        assert.ok(chosen !== undefined, 'a lone leader with a healed network gets a value chosen');
        assert.ok(proposed.has(chosen), `validity: ${chosen} was proposed`);
        assert.equal(cluster.proposer(P1)?.query(), chosen, 'the leader learns the chosen value');
        // A learner that was down when the acceptances went by stays undecided (nobody
        // resends them), so the check is agreement, not that every learner decided.
        const answers = [P1, P2].map((p) => cluster.proposer(p)?.query()).concat(
          [nodeId('l1'), nodeId('l2')].map((l) => cluster.learner(l)?.decision()));
        assert.ok(answers.some((a) => a !== undefined) && answers.every((a) => a === undefined || a === chosen));
      }),
      { numRuns: 1000 },
    );
  });
});
