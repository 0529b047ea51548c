/**
 * Single-decree Paxos, role by role ("Paxos Made Simple", §2.2–2.3): each role is
 * fed its messages and its exact effects are checked. Scenario and property tests
 * over the in-memory cluster are in paxos-cluster.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ballot, ZERO_BALLOT, type Ballot } from '../../src/core/ballot.js';
import { nodeId } from '../../src/core/ids.js';
import { MajorityQuorum } from '../../src/core/quorum.js';
import {
  Acceptor,
  Learner,
  Proposer,
  type AcceptedValue,
  type AcceptorEffects,
  type AcceptorMessage,
  type AcceptorState,
  type PaxosMessage,
} from '../../src/core/paxos/index.js';

const P1 = nodeId('p1');
const P2 = nodeId('p2');
const A1 = nodeId('a1');
const A2 = nodeId('a2');
const A3 = nodeId('a3');
const L1 = nodeId('l1');
const L2 = nodeId('l2');
const b = (round: number, node = P1): Ballot => ballot(round, node);
const accepted = (at: Ballot, value: string): AcceptedValue<string> => ({ ballot: at, value });
const three = new MajorityQuorum([A1, A2, A3]);

describe('acceptor', () => {
  const prepare = (n: Ballot): AcceptorMessage<string> => ({ type: 'prepare', from: P1, to: A1, ballot: n });
  const accept = (n: Ballot, value: string): AcceptorMessage<string> => ({ type: 'accept', from: P1, to: A1, ballot: n, value });
  const promise = (n: Ballot, last: AcceptedValue<string> | null): PaxosMessage<string> =>
    ({ type: 'promise', from: A1, to: P1, ballot: n, accepted: last });
  const nack = (refused: 'prepare' | 'accept', rejected: Ballot, promised: Ballot): PaxosMessage<string> =>
    ({ type: 'nack', from: A1, to: P1, refused, rejected, promised });
  const toLearners = (n: Ballot, value: string): PaxosMessage<string>[] =>
    [L1, L2].map((to) => ({ type: 'accepted', from: A1, to, ballot: n, value }));

  const cases: { name: string; before: AcceptorState<string>; message: AcceptorMessage<string>; expected: AcceptorEffects<string> }[] = [
    {
      name: 'a fresh acceptor promises any ballot, persists the promise, and reports nothing accepted',
      before: { promised: ZERO_BALLOT, accepted: null },
      message: prepare(b(1)),
      expected: { persist: { promised: b(1), accepted: null }, afterDurable: { send: [promise(b(1), null)] } },
    },
    {
      name: 'a prepare above the promise is promised and the last accepted value is reported',
      before: { promised: b(1), accepted: accepted(b(1), 'x') },
      message: prepare(b(2, P2)),
      expected: {
        persist: { promised: b(2, P2), accepted: accepted(b(1), 'x') },
        afterDurable: { send: [{ ...promise(b(2, P2), accepted(b(1), 'x')) }] },
      },
    },
    {
      name: 'a prepare below the promise is refused with a nack carrying the promised ballot, nothing persisted',
      before: { promised: b(2, P2), accepted: null },
      message: prepare(b(2)),
      expected: { persist: null, afterDurable: { send: [nack('prepare', b(2), b(2, P2))] } },
    },
    {
      name: 'a duplicate prepare of the promised ballot is promised again without a new write',
      before: { promised: b(3), accepted: accepted(b(1), 'x') },
      message: prepare(b(3)),
      expected: { persist: null, afterDurable: { send: [promise(b(3), accepted(b(1), 'x'))] } },
    },
    {
      name: 'an accept at exactly the promised ballot is accepted, persisted, and announced to every learner',
      before: { promised: b(1), accepted: null },
      message: accept(b(1), 'x'),
      expected: { persist: { promised: b(1), accepted: accepted(b(1), 'x') }, afterDurable: { send: toLearners(b(1), 'x') } },
    },
    {
      name: 'an accept above the promise is accepted and raises the promise to its ballot',
      before: { promised: b(1), accepted: accepted(b(1), 'x') },
      message: accept(b(4), 'y'),
      expected: { persist: { promised: b(4), accepted: accepted(b(4), 'y') }, afterDurable: { send: toLearners(b(4), 'y') } },
    },
    {
      name: 'an accept below the promise is refused with a nack and the old acceptance is kept',
      before: { promised: b(5), accepted: accepted(b(2), 'x') },
      message: accept(b(3), 'z'),
      expected: { persist: null, afterDurable: { send: [nack('accept', b(3), b(5))] } },
    },
    {
      name: 'a duplicate accept re-announces the acceptance without a new write',
      before: { promised: b(2), accepted: accepted(b(2), 'x') },
      message: accept(b(2), 'x'),
      expected: { persist: null, afterDurable: { send: toLearners(b(2), 'x') } },
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const acceptor = Acceptor.restore<string>(A1, [L1, L2], c.before);
      assert.deepEqual(acceptor.receive(c.message), c.expected);
    });
  }

  it('everything it sends is already implied by its durable state (persist before reply)', () => {
    // What is durable when the replies go out: the new state if one is persisted, else the old.
    for (const c of cases) {
      const acceptor = Acceptor.restore<string>(A1, [L1, L2], c.before);
      const effects = acceptor.receive(c.message);
      const durable = effects.persist ?? c.before;
      assert.deepEqual(acceptor.state, durable, `${c.name}: the in-memory state ran ahead of the persisted one`);
      for (const sent of effects.afterDurable.send) {
        if (sent.type === 'promise') assert.deepEqual(durable.promised, sent.ballot, c.name);
        if (sent.type === 'accepted') assert.deepEqual(durable.accepted, accepted(sent.ballot, sent.value), c.name);
      }
    }
  });

  it('an acceptor restored from its persisted state still refuses a ballot below its promise', () => {
    const before = new Acceptor<string>(A1, [L1]);
    const persisted = before.receive(prepare(b(7))).persist;
    assert.ok(persisted !== null);
    const after = Acceptor.restore<string>(A1, [L1], persisted);
    assert.deepEqual(after.receive(prepare(b(6))).afterDurable.send, [nack('prepare', b(6), b(7))]);
  });
});

describe('proposer', () => {
  const promiseFrom = (from: typeof A1, n: Ballot, last: AcceptedValue<string> | null) =>
    ({ type: 'promise', from, to: P1, ballot: n, accepted: last }) as const;

  it('propose persists its new ballot and sends prepare to every acceptor', () => {
    const proposer = new Proposer<string>(P1, three);
    assert.deepEqual(proposer.propose('mine'), {
      persist: { highestIssued: b(0) },
      afterDurable: { send: [A1, A2, A3].map((to) => ({ type: 'prepare', from: P1, to, ballot: b(0) })) },
    });
  });

  const pickCases: { name: string; reports: [AcceptedValue<string> | null, AcceptedValue<string> | null]; expected: string }[] = [
    { name: 'proposes its own value when no promise reports an accepted value', reports: [null, null], expected: 'mine' },
    { name: 'proposes the reported value when one promise reports one', reports: [null, accepted(b(0, P2), 'theirs')], expected: 'theirs' },
    {
      name: 'proposes the value with the highest ballot, not the last reported one',
      reports: [accepted(b(2, P2), 'newer'), accepted(b(1, P2), 'older')],
      expected: 'newer',
    },
  ];
  for (const c of pickCases) {
    it(c.name, () => {
      const proposer = Proposer.restore<string>(P1, three, { highestIssued: b(4) });
      proposer.propose('mine');
      const n = b(5);
      assert.deepEqual(proposer.receive(promiseFrom(A1, n, c.reports[0])).afterDurable.send, [], 'one promise is no quorum');
      const effects = proposer.receive(promiseFrom(A2, n, c.reports[1]));
      assert.deepEqual(effects, {
        persist: null,
        afterDurable: { send: [A1, A2, A3].map((to) => ({ type: 'accept', from: P1, to, ballot: n, value: c.expected })) },
      });
    });
  }

  it('ignores promises for an older ballot of its own', () => {
    const proposer = new Proposer<string>(P1, three);
    proposer.propose('first');
    proposer.retry();
    proposer.receive(promiseFrom(A1, b(0), null));
    assert.deepEqual(proposer.receive(promiseFrom(A2, b(0), null)).afterDurable.send, []);
    assert.equal(proposer.phase.phase, 'preparing');
  });

  it('a nack with a higher promise preempts the attempt, and a retry goes above that promise', () => {
    const proposer = new Proposer<string>(P1, three);
    proposer.propose('mine');
    proposer.receive({ type: 'nack', from: A1, to: P1, refused: 'prepare', rejected: b(0), promised: b(9, P2) });
    assert.deepEqual(proposer.phase, { phase: 'preempted', ballot: b(0), ownValue: 'mine', by: b(9, P2) });
    const retry = proposer.retry();
    assert.deepEqual(retry.persist, { highestIssued: b(10) });
    assert.ok(retry.afterDurable.send.every((m) => m.type === 'prepare' && m.ballot.round === 10 && m.ballot.node === P1));
  });

  it('query is unknown until a learner reports the decision, then returns the chosen value', () => {
    const proposer = new Proposer<string>(P1, three);
    proposer.propose('mine');
    assert.equal(proposer.query(), undefined);
    proposer.receive({ type: 'decision', from: L1, to: P1, value: 'theirs' });
    assert.equal(proposer.query(), 'theirs');
    assert.deepEqual(proposer.propose('again').afterDurable.send, [], 'a decided proposer starts no new attempt');
  });
});

describe('learner', () => {
  const five = new MajorityQuorum(['a1', 'a2', 'a3', 'a4', 'a5'].map(nodeId));
  type Acceptance = [acceptor: string, round: number, value: string];
  const cases: { name: string; quorum: MajorityQuorum; acceptances: Acceptance[]; decided: string | undefined }[] = [
    { name: 'a value accepted by a majority in one ballot is chosen', quorum: three, acceptances: [['a1', 1, 'x'], ['a3', 1, 'x']], decided: 'x' },
    { name: 'one acceptance of three is not a quorum', quorum: three, acceptances: [['a1', 1, 'x']], decided: undefined },
    {
      name: 'a majority that accepted the same value in different ballots has not chosen it',
      quorum: three,
      acceptances: [['a1', 1, 'x'], ['a2', 2, 'x'], ['a3', 3, 'x']],
      decided: undefined,
    },
    { name: 'a duplicated acceptance from one acceptor counts once', quorum: three, acceptances: [['a2', 1, 'x'], ['a2', 1, 'x']], decided: undefined },
    {
      name: 'with five acceptors two acceptances are not enough and three are',
      quorum: five,
      acceptances: [['a4', 2, 'y'], ['a5', 2, 'y'], ['a1', 1, 'x'], ['a1', 2, 'y']],
      decided: 'y',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const learner = new Learner<string>(L1, c.quorum, [P1, P2]);
      const decisions: PaxosMessage<string>[] = [];
      for (const [from, round, value] of c.acceptances) {
        decisions.push(...learner.receive({ type: 'accepted', from: nodeId(from), to: L1, ballot: b(round), value }).send);
      }
      assert.equal(learner.decision(), c.decided);
      const expected = c.decided === undefined ? [] : [P1, P2].map((to) => ({ type: 'decision', from: L1, to, value: c.decided }));
      assert.deepEqual(decisions, expected);
    });
  }

  it('a decided learner tells the owner of a later ballot the decision, once per ballot', () => {
    const learner = new Learner<string>(L1, three, [P1]);
    learner.receive({ type: 'accepted', from: A1, to: L1, ballot: b(1), value: 'x' });
    learner.receive({ type: 'accepted', from: A2, to: L1, ballot: b(1), value: 'x' });
    const late = { type: 'accepted', from: A1, to: L1, ballot: b(2, P2), value: 'x' } as const;
    assert.deepEqual(learner.receive(late).send, [{ type: 'decision', from: L1, to: P2, value: 'x' }]);
    assert.deepEqual(learner.receive({ ...late, from: A2 }).send, []);
  });
});
