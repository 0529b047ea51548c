// Configuration changes (Lamport's alpha window, src/core/multipaxos/membership.ts)
// on the in-memory cluster harness: scripted scenarios, each named after the
// property it shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareBallots } from '../../src/core/ballot.js';
import { nodeId, type NodeId, type Slot } from '../../src/core/ids.js';
import { Cluster } from '../../src/sim/cluster.js';
import { AppendLog, settle as settleWithin, watchAgreement, type Filter } from './scripted.js';
import type { Effect, Membership, Message, ReconfigureRejection, Standing } from '../../src/core/multipaxos/types.js';


type TestCluster = Cluster<string, number>;

const N = (name: string): NodeId => nodeId(name);
const ids = (...names: string[]): NodeId[] => names.map(N);
/** A small alpha keeps the scenarios short; the rule is the same for any alpha. */
const WINDOW = 4;

interface Harness {
  readonly cluster: TestCluster;
  /** Every effect released, by node, in order. */
  readonly effects: { node: NodeId; effect: Effect<string> }[];
  /** Every message sent. */
  readonly sent: Message<string>[];
}

function makeCluster(members: NodeId[], joining: NodeId[] = [], seed = 1): Harness {
  const cluster = new Cluster<string, number>({ members, joining, seed, timing: { configWindowSlots: WINDOW }, stateMachine: () => new AppendLog() });
  const effects: { node: NodeId; effect: Effect<string> }[] = [];
  const sent: Message<string>[] = [];
  watchAgreement(cluster);
  cluster.observe((event) => {
    if (event.type === 'sent') sent.push(event.message);
    if (event.type === 'effect') effects.push({ node: event.node, effect: event.effect });
  });
  return { cluster, effects, sent };
}

/** Delivers messages until none are left; scenarios with joining nodes take more steps. */
function settle(cluster: TestCluster, cut: Filter = () => false): void {
  settleWithin(cluster, cut, 20_000);
}

/** Ticks every live node and settles, until `done` or the bound; true if done. */
function runTicks(cluster: TestCluster, ticks: number, done: () => boolean, cut: Filter = () => false): boolean {
  for (let t = 0; t < ticks; t += 1) {
    if (done()) return true;
    cluster.tickAll();
    settle(cluster, cut);
  }
  return done();
}

function log(cluster: TestCluster, id: NodeId): string[] {
  return (cluster.node(id).stateMachine as AppendLog).entries;
}

function leaderOf(cluster: TestCluster): NodeId | null {
  let best: NodeId | null = null;
  for (const id of cluster.nodeIds) {
    const view = cluster.node(id);
    if (!view.up || view.replica.status().role !== 'leader') continue;
    if (best === null || compareBallots(view.replica.status().ballot, cluster.node(best).replica.status().ballot) > 0) best = id;
  }
  return best;
}

function standing(cluster: TestCluster, id: NodeId): Standing {
  return cluster.node(id).replica.standing();
}

function membership(voters: NodeId[], learners: NodeId[] = []): Membership {
  return { members: [...voters.map((id) => ({ id, voter: true, info: '' })), ...learners.map((id) => ({ id, voter: false, info: '' }))] };
}

/** The first slot the newest configuration `id` knows governs. */
function basedOn(cluster: TestCluster, id: NodeId): Slot {
  const latest = cluster.node(id).replica.status().latestConfig;
  assert.ok(latest !== null, `${id} knows no configuration`);
  return latest.activeFrom;
}

/** Asks `at` for a change based on the newest configuration `at` knows. */
function reconfigure(harness: Harness, at: NodeId, id: string, next: Membership, caughtUp: NodeId[] = []): void {
  harness.cluster.input(at, { type: 'reconfigure', request: { id, basedOn: basedOn(harness.cluster, at), membership: next, caughtUp } });
}

function applied(harness: Harness, id: string): NodeId[] {
  return harness.effects.filter((e) => e.effect.type === 'apply' && e.effect.value.kind === 'config' && e.effect.value.id === id).map((e) => e.node);
}

function rejections(harness: Harness, id: string): { node: NodeId; reason: ReconfigureRejection }[] {
  return harness.effects.flatMap((e) => (e.effect.type === 'reconfigure-rejected' && e.effect.id === id ? [{ node: e.node, reason: e.effect.reason }] : []));
}

/** The slot of the config value the leader has sent accepts for. */
function acceptedConfigSlot(harness: Harness): Slot {
  for (const m of harness.sent) if (m.type === 'accept' && m.value.kind === 'config') return m.slot;
  return assert.fail('no config value was proposed');
}

/** Proposes `count` commands named `prefix<i>` at `at` and settles. */
function write(cluster: TestCluster, at: NodeId, prefix: string, count: number, cut: Filter = () => false): string[] {
  const commands = Array.from({ length: count }, (_, i) => `${prefix}${i}`);
  for (const command of commands) cluster.propose(at, [command]);
  settle(cluster, cut);
  return commands;
}

/**
 * Ticks until every one of `nodes` decided and applied what `reference` did,
 * whose log ends with `last`.
 */
function converge(cluster: TestCluster, reference: NodeId, nodes: NodeId[], last: readonly string[], cut: Filter = () => false): void {
  const done = (): boolean => {
    const expected = log(cluster, reference);
    const decided = cluster.node(reference).replica.status().decidedThrough;
    return (
      expected.slice(-last.length).join() === last.join() &&
      nodes.every((id) => log(cluster, id).join() === expected.join() && cluster.node(id).replica.status().appliedThrough === decided)
    );
  };
  assert.ok(runTicks(cluster, 60, done, cut), `did not converge: ${[reference, ...nodes].map((id) => `${id} ${log(cluster, id).join(',')}`).join('; ')}`);
}

/** Elects `leader` by campaign and checks it won. */
function elect(cluster: TestCluster, leader: NodeId): void {
  cluster.input(leader, { type: 'campaign' });
  settle(cluster);
  assert.equal(leaderOf(cluster), leader);
}

/**
 * Ticks until change `id` is decided and governs the next slot at every one of
 * `members` (which knows it from the log or a snapshot).
 */
function untilActive(harness: Harness, id: string, members: NodeId[], cut: Filter = () => false, ticks = 100): void {
  const active = (): boolean => {
    const decided = harness.effects.find((e) => e.effect.type === 'apply' && e.effect.value.kind === 'config' && e.effect.value.id === id);
    if (decided === undefined || decided.effect.type !== 'apply') return false;
    const activeFrom = decided.effect.slot + WINDOW;
    return members.every((member) => {
      const status = harness.cluster.node(member).replica.status();
      return status.latestConfig?.activeFrom === activeFrom && status.decidedThrough + 1 >= activeFrom;
    });
  };
  assert.ok(runTicks(harness.cluster, ticks, active, cut), `change ${id} did not come into force`);
}

test('grow 3 -> 5: joining nodes are added as learners, catch up (one by snapshot), are promoted, and then count in quorums', () => {
  const harness = makeCluster(ids('n1', 'n2', 'n3'), ids('n4', 'n5'));
  const { cluster } = harness;
  elect(cluster, N('n1'));
  const before = write(cluster, N('n1'), 'a', 20);
  converge(cluster, N('n1'), ids('n2', 'n3'), before);
  for (const id of ids('n1', 'n2', 'n3')) cluster.compact(id);
  // n5 is down while it is added: when it comes up, the log it missed is only in snapshots.
  cluster.crash(N('n5'));
  assert.equal(standing(cluster, N('n4')), 'unknown', 'a joining node knows no configuration');

  reconfigure(harness, N('n1'), 'add-learners', membership(ids('n1', 'n2', 'n3'), ids('n4', 'n5')));
  settle(cluster);
  untilActive(harness, 'add-learners', ids('n1', 'n2', 'n3', 'n4'));
  cluster.restart(N('n5'));
  converge(cluster, N('n1'), ids('n4', 'n5'), before);
  assert.ok(cluster.node(N('n5')).replica.status().compactedThrough > 0, 'n5 caught up from a snapshot');
  for (const id of ids('n4', 'n5')) assert.equal(standing(cluster, id), 'learner', id);

  // Learners vote but do not count: with two voters down nothing commits.
  cluster.crash(N('n2'));
  cluster.crash(N('n3'));
  write(cluster, N('n1'), 'stuck', 1);
  runTicks(cluster, 5, () => false);
  assert.equal(log(cluster, N('n1')).length, before.length, 'n1 and two learners are no majority of three voters');
  cluster.restart(N('n2'));
  cluster.restart(N('n3'));
  converge(cluster, N('n1'), ids('n2', 'n3', 'n4', 'n5'), ['stuck0']);

  reconfigure(harness, N('n1'), 'promote', membership(ids('n1', 'n2', 'n3', 'n4', 'n5')), ids('n4', 'n5'));
  settle(cluster);
  assert.deepEqual(rejections(harness, 'promote'), [], 'the learners have caught up');
  untilActive(harness, 'promote', ids('n1', 'n2', 'n3', 'n4', 'n5'));
  for (const id of ids('n1', 'n2', 'n3', 'n4', 'n5')) assert.equal(standing(cluster, id), 'voter', id);

  // Now n1, n4 and n5 are a majority of five: they commit without n2 and n3.
  cluster.crash(N('n2'));
  cluster.crash(N('n3'));
  const after = write(cluster, N('n1'), 'b', 3);
  converge(cluster, N('n1'), ids('n4', 'n5'), after);
});

test('a learner that has not caught up is not promoted: the change is refused as behind', () => {
  const harness = makeCluster(ids('n1', 'n2', 'n3'), ids('n4'));
  const { cluster } = harness;
  elect(cluster, N('n1'));
  const isolated: Filter = (m) => m.from === N('n4') || m.to === N('n4');
  reconfigure(harness, N('n1'), 'add', membership(ids('n1', 'n2', 'n3'), ids('n4')));
  settle(cluster, isolated);
  untilActive(harness, 'add', ids('n1', 'n2', 'n3'), isolated);
  converge(cluster, N('n1'), ids('n2', 'n3'), write(cluster, N('n1'), 'a', 10, isolated), isolated);
  reconfigure(harness, N('n1'), 'promote-too-soon', membership(ids('n1', 'n2', 'n3', 'n4')), ids('n4'));
  assert.deepEqual(rejections(harness, 'promote-too-soon'), [{ node: N('n1'), reason: 'behind' }]);
  converge(cluster, N('n1'), ids('n4'), ['a9']);
  // The leader learns how far n4 got from its next heartbeat acknowledgements.
  runTicks(cluster, 3, () => false);
  reconfigure(harness, N('n1'), 'promote', membership(ids('n1', 'n2', 'n3', 'n4')), ids('n4'));
  settle(cluster);
  assert.deepEqual(rejections(harness, 'promote'), []);
  untilActive(harness, 'promote', ids('n1', 'n2', 'n3', 'n4'));
  assert.equal(standing(cluster, N('n4')), 'voter');
});

test('shrink 5 -> 3: the removed members stop counting, learn they were removed, and two voters of three commit', () => {
  const harness = makeCluster(ids('n1', 'n2', 'n3', 'n4', 'n5'));
  const { cluster } = harness;
  elect(cluster, N('n1'));
  write(cluster, N('n1'), 'a', 5);
  reconfigure(harness, N('n1'), 'shrink', membership(ids('n1', 'n2', 'n3')));
  settle(cluster);
  untilActive(harness, 'shrink', ids('n1', 'n2', 'n3', 'n4', 'n5'));
  for (const id of ids('n4', 'n5')) assert.equal(standing(cluster, id), 'removed', id);
  for (const id of ids('n1', 'n2', 'n3')) assert.equal(standing(cluster, id), 'voter', id);
  const removedEffects = harness.effects.filter((e) => e.effect.type === 'membership' && e.effect.standing === 'removed').map((e) => e.node);
  assert.deepEqual([...new Set(removedEffects)].sort(), ids('n4', 'n5'), 'each removed member was told');

  // n1 and n2 are a majority of the three voters, not of the five of old.
  cluster.crash(N('n3'));
  converge(cluster, N('n1'), ids('n2'), write(cluster, N('n1'), 'b', 3));
  // The leader sends no more heartbeats or accepts to the removed members.
  const mark = harness.sent.length;
  runTicks(cluster, 10, () => false);
  const toRemoved = harness.sent.slice(mark).filter((m) => (m.type === 'heartbeat' || m.type === 'accept') && ids('n4', 'n5').includes(m.to));
  assert.deepEqual(toRemoved, [], 'the leader sends heartbeats and accepts only to members');
});

test('removing the leader hands leadership to a voter of the new configuration, and the old leader is removed', () => {
  const harness = makeCluster(ids('n1', 'n2', 'n3', 'n4', 'n5'));
  const { cluster } = harness;
  elect(cluster, N('n1'));
  const ballot = cluster.node(N('n1')).replica.status().ballot;
  reconfigure(harness, N('n1'), 'drop-leader', membership(ids('n2', 'n3', 'n4')));
  settle(cluster);
  const handedOver = (): boolean => {
    const leader = leaderOf(cluster);
    return leader !== null && leader !== N('n1');
  };
  // The hand-over needs no election timeout (10 ticks or more): a few ticks are plenty.
  assert.ok(runTicks(cluster, 5, handedOver), 'a new leader took over');
  const timeoutNow = harness.sent.filter((m) => m.type === 'timeout-now');
  assert.deepEqual(timeoutNow.map((m) => m.from), [N('n1')], 'n1 asked one voter to take over');
  const leader = leaderOf(cluster) as NodeId;
  assert.ok(ids('n2', 'n3', 'n4').includes(leader), `${leader} is a voter of the new configuration`);
  assert.ok(compareBallots(cluster.node(leader).replica.status().ballot, ballot) > 0);
  assert.notEqual(cluster.node(N('n1')).replica.status().role, 'leader');
  assert.equal(standing(cluster, N('n1')), 'removed');
  // The new configuration works without n1 (nor n5).
  cluster.crash(N('n1'));
  cluster.crash(N('n5'));
  converge(cluster, leader, ids('n2', 'n3', 'n4'), write(cluster, leader, 'c', 3));
});

for (const compacted of [false, true]) {
  test(`a removed node that campaigns cannot disrupt: the leader keeps its ballot, and the removed node learns it was removed${compacted ? ' (after the members compacted the change away)' : ''}`, () => {
    const harness = makeCluster(ids('n1', 'n2', 'n3', 'n4'));
    const { cluster } = harness;
    elect(cluster, N('n1'));
    // n4 is cut off while it is removed, so it never hears of it.
    const isolated: Filter = (m) => m.from === N('n4') || m.to === N('n4');
    reconfigure(harness, N('n1'), 'drop-n4', membership(ids('n1', 'n2', 'n3')));
    settle(cluster, isolated);
    untilActive(harness, 'drop-n4', ids('n1', 'n2', 'n3'), isolated);
    converge(cluster, N('n1'), ids('n2', 'n3'), write(cluster, N('n1'), 'b', 3, isolated), isolated);
    if (compacted) for (const id of ids('n1', 'n2', 'n3')) cluster.compact(id);
    assert.equal(standing(cluster, N('n4')), 'voter', 'n4 still believes it votes');
    const ballot = cluster.node(N('n1')).replica.status().ballot;

    // Back on the network, n4 campaigns, again and again.
    for (let i = 0; i < 3; i += 1) {
      cluster.input(N('n4'), { type: 'campaign' });
      settle(cluster);
    }
    assert.equal(leaderOf(cluster), N('n1'));
    assert.equal(compareBallots(cluster.node(N('n1')).replica.status().ballot, ballot), 0, "the leader's ballot stays");
    assert.ok(runTicks(cluster, 30, () => standing(cluster, N('n4')) === 'removed'), 'n4 learned it was removed');
    // Once it knows (and a candidacy under way has run out), it stays quiet.
    runTicks(cluster, 40, () => false);
    const mark = harness.sent.length;
    runTicks(cluster, 60, () => false);
    assert.deepEqual(harness.sent.slice(mark).filter((m) => m.from === N('n4') && m.type === 'prepare'), [], 'n4 no longer campaigns');
    assert.equal(leaderOf(cluster), N('n1'));
    assert.equal(compareBallots(cluster.node(N('n1')).replica.status().ballot, ballot), 0, "the leader's ballot stays");
  });
}

test("a change based on an older configuration is refused as 'stale', and a second change while one is under way as 'in-progress'", () => {
  const harness = makeCluster(ids('n1', 'n2', 'n3'), ids('n4'));
  const { cluster } = harness;
  elect(cluster, N('n1'));
  const genesis = basedOn(cluster, N('n1'));
  cluster.input(N('n1'), { type: 'reconfigure', request: { id: 'wrong-base', basedOn: (genesis + 7) as Slot, membership: membership(ids('n1', 'n2')), caughtUp: [] } });
  assert.deepEqual(rejections(harness, 'wrong-base'), [{ node: N('n1'), reason: 'stale' }]);

  reconfigure(harness, N('n1'), 'first', membership(ids('n1', 'n2', 'n3'), ids('n4')));
  reconfigure(harness, N('n1'), 'second', membership(ids('n1', 'n2', 'n3', 'n4')));
  assert.deepEqual(rejections(harness, 'second'), [{ node: N('n1'), reason: 'in-progress' }]);
  // Decided but not yet in force (the no-ops that would bring it in are held back): still in progress.
  const configSlot = acceptedConfigSlot(harness);
  settle(cluster, (m) => m.type === 'accept' && m.slot !== configSlot);
  assert.ok(applied(harness, 'first').includes(N('n1')), 'first is decided');
  assert.ok(basedOn(cluster, N('n1')) > cluster.node(N('n1')).replica.status().decidedThrough + 1, 'first is not in force yet');
  reconfigure(harness, N('n1'), 'third', membership(ids('n1', 'n2', 'n3')));
  assert.deepEqual(rejections(harness, 'third'), [{ node: N('n1'), reason: 'in-progress' }]);
  untilActive(harness, 'first', ids('n1', 'n2', 'n3'));
  // The old base is stale now that 'first' governs.
  cluster.input(N('n1'), { type: 'reconfigure', request: { id: 'old-base', basedOn: genesis, membership: membership(ids('n1', 'n2', 'n3')), caughtUp: [] } });
  assert.deepEqual(rejections(harness, 'old-base'), [{ node: N('n1'), reason: 'stale' }]);
  settle(cluster);
  for (const refused of ['wrong-base', 'second', 'third', 'old-base']) assert.deepEqual(applied(harness, refused), [], `${refused} was refused, so never applied`);
});

test('a change asked of a follower is forwarded to the leader and applied everywhere; a refusal comes back to the follower', () => {
  const harness = makeCluster(ids('n1', 'n2', 'n3'), ids('n4'));
  const { cluster } = harness;
  elect(cluster, N('n2'));
  cluster.input(N('n3'), { type: 'reconfigure', request: { id: 'stale-via-n3', basedOn: 99 as Slot, membership: membership(ids('n1', 'n2', 'n3')), caughtUp: [] } });
  settle(cluster);
  assert.deepEqual(rejections(harness, 'stale-via-n3'), [{ node: N('n3'), reason: 'stale' }]);

  reconfigure(harness, N('n3'), 'via-n3', membership(ids('n1', 'n2', 'n3'), ids('n4')));
  assert.ok(harness.sent.some((m) => m.type === 'reconfigure' && m.from === N('n3') && m.to === N('n2')), 'n3 forwarded the change to the leader');
  settle(cluster);
  untilActive(harness, 'via-n3', ids('n1', 'n2', 'n3', 'n4'));
  assert.deepEqual(applied(harness, 'via-n3').sort(), ids('n1', 'n2', 'n3', 'n4'));
  assert.equal(standing(cluster, N('n4')), 'learner');

  // With no leader anywhere, a change is refused as 'not-leader'.
  const lonely = makeCluster(ids('n1', 'n2', 'n3'));
  reconfigure(lonely, N('n1'), 'nobody-leads', membership(ids('n1', 'n2')));
  assert.deepEqual(rejections(lonely, 'nobody-leads'), [{ node: N('n1'), reason: 'not-leader' }]);
});

test('a voter that missed the changes bringing in the current leader still catches up from it', () => {
  const harness = makeCluster(ids('n1', 'n2', 'n3'), ids('n4', 'n5'));
  const { cluster } = harness;
  elect(cluster, N('n1'));
  // n3 is cut off through the whole change: n4 and n5 come in, n1 and n2 leave.
  const isolated: Filter = (m) => m.from === N('n3') || m.to === N('n3');
  reconfigure(harness, N('n1'), 'add', membership(ids('n1', 'n2', 'n3'), ids('n4', 'n5')));
  settle(cluster, isolated);
  untilActive(harness, 'add', ids('n1', 'n2', 'n4', 'n5'), isolated);
  converge(cluster, N('n1'), ids('n2', 'n4', 'n5'), write(cluster, N('n1'), 'a', 3, isolated), isolated);
  runTicks(cluster, 3, () => false, isolated);
  reconfigure(harness, N('n1'), 'swap', membership(ids('n3', 'n4', 'n5')), ids('n4', 'n5'));
  settle(cluster, isolated);
  assert.deepEqual(rejections(harness, 'swap'), []);
  untilActive(harness, 'swap', ids('n1', 'n4', 'n5'), isolated);
  const leader = leaderOf(cluster);
  assert.ok(leader === N('n4') || leader === N('n5'), `the leader is ${leader}, a node n3 never heard of`);
  const commands = write(cluster, leader, 'b', 3, isolated);
  converge(cluster, leader, ids('n4', 'n5'), commands, isolated);
  assert.equal(standing(cluster, N('n3')), 'voter', 'n3 still knows only the first configuration');
  assert.equal(cluster.node(N('n3')).replica.status().latestConfig?.activeFrom, 1);
  // Back on the network, n3 must catch up from the leader it has never heard of.
  converge(cluster, leader, ids('n3'), commands);
  assert.equal(leaderOf(cluster), leader);
});

test('a change decided under one leader comes into force under the next, with no client traffic to push the log', () => {
  const harness = makeCluster(ids('n1', 'n2', 'n3'), ids('n4'));
  const { cluster } = harness;
  elect(cluster, N('n1'));
  reconfigure(harness, N('n1'), 'add', membership(ids('n1', 'n2', 'n3'), ids('n4')));
  // The change is decided, but none of the no-ops that would bring it into force gets through.
  const configSlot = acceptedConfigSlot(harness);
  settle(cluster, (m) => m.type === 'accept' && m.slot !== configSlot);
  assert.ok(applied(harness, 'add').includes(N('n1')), 'the change is decided');
  cluster.crash(N('n1'));
  assert.ok(runTicks(cluster, 60, () => { const l = leaderOf(cluster); return l === N('n2') || l === N('n3'); }), 'a new leader');
  untilActive(harness, 'add', ids('n2', 'n3', 'n4'));
  assert.equal(standing(cluster, N('n4')), 'learner');
});

test('a leader that hands over to voters new in the next configuration (none a voter of the last slot) is still replaced', () => {
  const harness = makeCluster(ids('n1', 'n2', 'n3'), ids('n4', 'n5'));
  const { cluster } = harness;
  elect(cluster, N('n1'));
  reconfigure(harness, N('n1'), 'add', membership(ids('n1', 'n2', 'n3'), ids('n4', 'n5')));
  settle(cluster);
  untilActive(harness, 'add', ids('n1', 'n2', 'n3', 'n4', 'n5'));
  runTicks(cluster, 3, () => false);
  // n4 and n5 replace n1 and n2; n3 stays but is down. n1 hands over as soon
  // as the last slot it may lead is decided, before n4 and n5 hear of that decision.
  cluster.crash(N('n3'));
  reconfigure(harness, N('n1'), 'replace', membership(ids('n3', 'n4', 'n5')), ids('n4', 'n5'));
  settle(cluster);
  assert.deepEqual(rejections(harness, 'replace'), []);
  assert.ok(runTicks(cluster, 60, () => { const l = leaderOf(cluster); return l === N('n4') || l === N('n5'); }), 'n4 or n5 leads');
  const leader = leaderOf(cluster) as NodeId;
  converge(cluster, leader, ids('n4', 'n5'), write(cluster, leader, 'c', 3));
  for (const id of ids('n4', 'n5')) assert.equal(standing(cluster, id), 'voter', id);
});
