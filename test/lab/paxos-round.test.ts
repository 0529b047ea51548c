/**
 * The lab's Paxos round (src/explore/lab/paxos-round.ts) over the real roles of
 * src/core/paxos: the classic example with A3 down, the point of no return, and
 * the duel that a stable leader ends.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nodeId } from '../../src/core/ids.js';
import {
  acceptorsHolding, defaultPaxosSession, duelAction, highestRound, initialPaxosActions, learnersDecided, nextStepAction,
  parsePaxosSession, replayPaxosRound, type PaxosRoundAction,
} from '../../src/explore/lab/paxos-round.js';

function click(actions: PaxosRoundAction[], nodes: readonly string[], stableLeader = false): PaxosRoundAction[] {
  const cluster = replayPaxosRound(actions);
  const result = [...actions];
  for (const node of nodes) {
    const action = nextStepAction(cluster, node, { stableLeader });
    assert.ok(action !== null, `${node} had nothing to do`);
    cluster.apply(action);
    result.push(action);
  }
  return result;
}

test('clicking through one round with A3 crashed chooses P1\'s value, and the learners learn it', () => {
  const actions = click(initialPaxosActions(), ['P1', 'A1', 'A2', 'P1', 'P1', 'A1', 'A2']);
  const cluster = replayPaxosRound(actions);
  assert.equal(cluster.chosen(), 'blue');
  // Chosen, yet no learner knows: the point of no return comes first.
  assert.deepEqual(learnersDecided(cluster), []);
  assert.deepEqual(acceptorsHolding(cluster, 'blue'), [nodeId('A1'), nodeId('A2')]);
  const finished = replayPaxosRound(click(actions, ['L1', 'L1', 'L2', 'L2']));
  assert.deepEqual(learnersDecided(finished), [{ node: 'L1', value: 'blue' }, { node: 'L2', value: 'blue' }]);
});

test('with a different acceptor crashed the remaining majority still decides; with two crashed nothing can be chosen', () => {
  const moved = [...initialPaxosActions(), { type: 'restart', node: nodeId('A3') }, { type: 'crash', node: nodeId('A1') }] as PaxosRoundAction[];
  const decided = replayPaxosRound(click(moved, ['P1', 'A2', 'A3', 'P1', 'P1', 'A2', 'A3', 'L1', 'L1']));
  assert.equal(decided.chosen(), 'blue');
  assert.deepEqual(acceptorsHolding(decided, 'blue'), [nodeId('A2'), nodeId('A3')]);
  assert.deepEqual(learnersDecided(decided), [{ node: 'L1', value: 'blue' }]);

  const minority = click([...initialPaxosActions(), { type: 'crash', node: nodeId('A2') }], ['P1', 'A1', 'P1']);
  const stuck = replayPaxosRound(minority);
  for (let m = stuck.inFlight()[0]; m !== undefined; m = stuck.inFlight()[0]) stuck.deliver(m.id);
  assert.equal(stuck.chosen(), undefined);
  assert.equal(stuck.proposer(nodeId('P1'))?.phase.phase, 'preparing', 'one promise is not a quorum of three');
});

test('two proposers under the adversary preempt each other for 200 steps; a stable leader ends it', () => {
  const start: PaxosRoundAction[] = [
    ...initialPaxosActions(),
    { type: 'propose', node: nodeId('P1'), value: 'blue' },
    { type: 'propose', node: nodeId('P2'), value: 'red' },
  ];
  const duel = replayPaxosRound(start);
  for (let i = 0; i < 200; i += 1) {
    const action = duelAction(duel, { stableLeader: false });
    assert.ok(action !== null, 'the duel ran out of moves');
    duel.apply(action);
  }
  assert.equal(duel.chosen(), undefined, 'the adversary let a value be chosen');
  assert.ok(highestRound(duel) >= 5, `ballots only reached round ${highestRound(duel)}`);

  const calm = replayPaxosRound(duel.history());
  let steps = 0;
  for (let action = duelAction(calm, { stableLeader: true }); action !== null && steps < 100; action = duelAction(calm, { stableLeader: true })) {
    calm.apply(action);
    steps += 1;
  }
  assert.ok(calm.chosen() !== undefined, 'the stable leader did not get a value chosen');
  assert.deepEqual(learnersDecided(calm).map((l) => l.value), [calm.chosen(), calm.chosen()]);
});

test('a session from a link parses back, and malformed ones are refused', () => {
  const session = { ...defaultPaxosSession(), stableLeader: true };
  const parsed = parsePaxosSession(JSON.parse(JSON.stringify(session)));
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.value, session);
  assert.equal(parsePaxosSession({ actions: [{ type: 'crash', node: 'Z9' }] }).ok, false);
  assert.equal(parsePaxosSession({ actions: [{ type: 'deliver', id: -1 }] }).ok, false);
  assert.equal(parsePaxosSession('nope').ok, false);
});
