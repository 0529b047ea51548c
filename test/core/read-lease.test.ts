// Read leases and the read index (core/multipaxos/reads.ts), scripted on the
// in-memory cluster harness with a clock the test moves by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Ballot } from '../../src/core/ballot.js';
import { nodeId, type NodeId } from '../../src/core/ids.js';
import { DEFAULT_TIMING, type Message, type PrepareMessage } from '../../src/core/multipaxos/types.js';
import { readLeaseMs } from '../../src/core/multipaxos/reads.js';
import { Cluster } from '../../src/sim/cluster.js';
import { AppendLog, settle } from './scripted.js';

const N = (name: string): NodeId => nodeId(name);
const three = [N('n1'), N('n2'), N('n3')];
const LEASE_MS = 100;

interface Harness {
  readonly cluster: Cluster<string, number>;
  readonly clock: { now: number };
  readonly ready: { id: number; leased: boolean }[];
  readonly sent: Message<string>[];
}

function leasedCluster(): Harness {
  const clock = { now: 0 };
  const cluster = new Cluster<string, number>({
    members: three,
    seed: 1,
    stateMachine: () => new AppendLog(),
    readLease: { ms: LEASE_MS, clockOf: () => () => clock.now },
  });
  const ready: { id: number; leased: boolean }[] = [];
  const sent: Message<string>[] = [];
  cluster.observe((event) => {
    if (event.type === 'effect' && event.effect.type === 'read-ready') ready.push({ id: event.effect.id, leased: event.effect.leased });
    if (event.type === 'sent') sent.push(event.message);
  });
  return { cluster, clock, ready, sent };
}

/**
 * n1 leads, and a quorum has answered its first heartbeat round. Members first
 * wait out the window after their start, in which they stand for no one.
 */
function withLeader(): Harness {
  const harness = leasedCluster();
  for (let tick = 0; tick < DEFAULT_TIMING.electionTimeoutTicks; tick += 1) harness.cluster.tickAll();
  assert.ok(three.every((id) => harness.cluster.node(id).replica.status().role === 'follower'), 'no election timed out yet');
  harness.cluster.input(N('n1'), { type: 'campaign' });
  settle(harness.cluster);
  assert.equal(harness.cluster.node(N('n1')).replica.status().role, 'leader');
  harness.sent.length = 0;
  return harness;
}

function prepareFrom(candidate: NodeId, to: NodeId, above: Ballot, transfer: Ballot | null = null): Message<string> {
  const prepare: PrepareMessage = { type: 'prepare', from: candidate, to, ballot: { round: above.round + 1, node: candidate }, fromSlot: 1 as PrepareMessage['fromSlot'], transfer };
  return prepare;
}

function promisesFrom(sent: readonly Message<string>[], node: NodeId): number {
  return sent.filter((m) => m.type === 'promise' && m.from === node).length;
}

/** n2 ignores n3's prepare until it has ticked an election timeout since `since`, then promises. */
function assertIgnoresForWindow({ cluster, sent }: Harness, since: string): void {
  const promised = cluster.node(N('n2')).replica.promised;
  const before = promisesFrom(sent, N('n2'));
  const prepare = (): void => cluster.input(N('n2'), { type: 'message', message: prepareFrom(N('n3'), N('n2'), promised) });
  for (let tick = 1; tick < DEFAULT_TIMING.electionTimeoutTicks; tick += 1) cluster.tick(N('n2'));
  prepare();
  assert.equal(promisesFrom(sent, N('n2')), before, `still inside the window since ${since}`);
  cluster.tick(N('n2'));
  prepare();
  assert.equal(promisesFrom(sent, N('n2')), before + 1);
}

test('a leader holding its lease serves a read at once, with no heartbeat round', () => {
  const { cluster, ready, sent } = withLeader();
  cluster.input(N('n1'), { type: 'read', id: 1 });
  assert.deepEqual(ready, [{ id: 1, leased: true }]);
  assert.equal(sent.filter((m) => m.type === 'heartbeat').length, 0);
});

test('once the lease has run out a read waits for a quorum round, and a cut-off leader serves none', () => {
  const { cluster, clock, ready } = withLeader();
  clock.now = LEASE_MS;
  cluster.input(N('n1'), { type: 'read', id: 1 });
  assert.deepEqual(ready, [], 'the lease ends LEASE_MS after the round was sent');
  settle(cluster);
  assert.deepEqual(ready, [{ id: 1, leased: false }]);
  // The answers to that round renewed the lease from the time it was sent.
  cluster.input(N('n1'), { type: 'read', id: 2 });
  assert.deepEqual(ready.at(-1), { id: 2, leased: true });
  clock.now += LEASE_MS;
  cluster.input(N('n1'), { type: 'read', id: 3 });
  settle(cluster, (m) => m.from === 'n1' || m.to === 'n1');
  cluster.tickAll();
  settle(cluster, (m) => m.from === 'n1' || m.to === 'n1');
  assert.equal(ready.length, 2, 'no read is served without a lease or a quorum');
});

test('periodic heartbeats renew the lease while no reads come', () => {
  const { cluster, clock, ready } = withLeader();
  for (let tick = 0; tick < 10; tick += 1) {
    clock.now += 20;
    cluster.tickAll();
    settle(cluster);
  }
  assert.ok(clock.now > LEASE_MS);
  cluster.input(N('n1'), { type: 'read', id: 1 });
  assert.deepEqual(ready, [{ id: 1, leased: true }]);
});

test('a read does not wait for a lease-held leader\'s slots still in flight', () => {
  const { cluster, ready } = withLeader();
  cluster.propose(N('n1'), ['w']);
  cluster.input(N('n1'), { type: 'read', id: 1 });
  assert.deepEqual(ready, [{ id: 1, leased: true }], 'the undecided write holds no acknowledged value');
  settle(cluster);
  assert.deepEqual((cluster.node(N('n1')).stateMachine as AppendLog).entries, ['w']);
});

test('a member that answered the leader ignores other candidates for an election timeout, then promises', () => {
  const harness = withLeader();
  const { cluster, sent } = harness;
  cluster.input(N('n2'), { type: 'message', message: prepareFrom(N('n3'), N('n2'), cluster.node(N('n2')).replica.promised) });
  assert.equal(promisesFrom(sent, N('n2')), 0);
  // A forced campaign by a member backing the lease is refused too.
  cluster.input(N('n2'), { type: 'campaign' });
  assert.equal(cluster.node(N('n2')).replica.status().role, 'follower');
  assertIgnoresForWindow(harness, 'it heard from the leader');
});

test('a restarted member ignores candidates for an election timeout after it starts', () => {
  const harness = withLeader();
  harness.cluster.crash(N('n2'));
  harness.cluster.restart(N('n2'));
  // It may have answered a heartbeat just before the crash.
  assertIgnoresForWindow(harness, 'its restart');
});

test('a hand-over is promised at once only by members following the ballot handed over', () => {
  const { cluster, sent } = withLeader();
  const leaderBallot = cluster.node(N('n2')).replica.promised;
  cluster.input(N('n2'), { type: 'message', message: prepareFrom(N('n3'), N('n2'), leaderBallot, { round: leaderBallot.round, node: N('n3') }) });
  assert.equal(promisesFrom(sent, N('n2')), 0, 'a hand-over from a ballot n2 does not follow');
  cluster.input(N('n2'), { type: 'message', message: prepareFrom(N('n3'), N('n2'), leaderBallot, leaderBallot) });
  assert.equal(promisesFrom(sent, N('n2')), 1);
});

test('a hand-over from the leader the members follow elects its target at once', () => {
  const { cluster, ready } = withLeader();
  const ballot = cluster.node(N('n1')).replica.promised;
  cluster.input(N('n3'), { type: 'message', message: { type: 'timeout-now', from: N('n1'), to: N('n3'), ballot } });
  assert.equal(cluster.node(N('n3')).replica.status().role, 'candidate');
  settle(cluster);
  assert.equal(cluster.node(N('n3')).replica.status().role, 'leader');
  cluster.input(N('n1'), { type: 'read', id: 1 });
  settle(cluster);
  assert.deepEqual(ready, [], 'the old leader serves nothing');
});

test('a hand-over from a newer ballot is taken up, but cannot depose a leader whose lease the others back', () => {
  const { cluster, ready } = withLeader();
  const ballot = cluster.node(N('n1')).replica.promised;
  // n2 as the leader of a ballot n3 has not heard of, handing over before its
  // first heartbeat reached n3 (here it never led: the others follow n1).
  const newer = { round: ballot.round + 1, node: N('n2') };
  cluster.input(N('n3'), { type: 'message', message: { type: 'timeout-now', from: N('n2'), to: N('n3'), ballot: newer } });
  assert.equal(cluster.node(N('n3')).replica.status().role, 'candidate');
  settle(cluster);
  assert.equal(cluster.node(N('n1')).replica.status().role, 'leader');
  cluster.input(N('n1'), { type: 'read', id: 1 });
  assert.deepEqual(ready, [{ id: 1, leased: true }]);
});

test('the safe lease is shorter than the election timeout, by the drift and a tick', () => {
  assert.equal(readLeaseMs(10, 10, 0), 90);
  assert.equal(readLeaseMs(10, 10, 0.2), 60);
  assert.equal(readLeaseMs(20, 49, 0.1), 761);
});

test('a decided configuration change voids the lease until a round of the new configuration confirms it', () => {
  const { cluster, ready } = withLeader();
  const latest = cluster.node(N('n1')).replica.status().latestConfig;
  assert.ok(latest !== null);
  const members = [...three.map((id) => ({ id, voter: true, info: '' })), { id: N('n4'), voter: false, info: '' }];
  // n4 is named but never runs: the change is decided by n1, n2 and n3.
  const toN4 = (m: Message<string>): boolean => m.to === N('n4');
  cluster.input(N('n1'), { type: 'reconfigure', request: { id: 'add-n4', basedOn: latest.activeFrom, membership: { members }, caughtUp: [] } });
  settle(cluster, toN4);
  assert.equal(cluster.node(N('n1')).replica.status().latestConfig?.membership.members.length, 4);
  cluster.input(N('n1'), { type: 'read', id: 1 });
  assert.deepEqual(ready, [], 'the lease from the old configuration\'s round is gone');
  settle(cluster, toN4);
  assert.deepEqual(ready, [{ id: 1, leased: false }]);
  cluster.input(N('n1'), { type: 'read', id: 2 });
  assert.deepEqual(ready.at(-1), { id: 2, leased: true });
});
