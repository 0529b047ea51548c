// Multi-Paxos replicas on the in-memory cluster harness: scripted scenarios,
// each named after the property it shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareBallots } from '../../src/core/ballot.js';
import { nodeId, slot, type NodeId, type Slot } from '../../src/core/ids.js';
import { Random } from '../../src/core/random.js';
import { Cluster } from '../../src/sim/cluster.js';
import { AppendLog, settle, watchAgreement, type Filter } from './scripted.js';


const N = (name: string): NodeId => nodeId(name);
const three = [N('n1'), N('n2'), N('n3')];
const five = [N('n1'), N('n2'), N('n3'), N('n4'), N('n5')];

function makeCluster(members: NodeId[], seed = 1): { cluster: Cluster<string, number>; slots: Map<Slot, string> } {
  const cluster = new Cluster<string, number>({ members, seed, stateMachine: () => new AppendLog() });
  return { cluster, slots: watchAgreement(cluster) };
}

function log(cluster: Cluster<string, number>, id: NodeId): string[] {
  return (cluster.node(id).stateMachine as AppendLog).entries;
}

function leaderOf(cluster: Cluster<string, number>): NodeId | null {
  const leaders = cluster.members.filter((id) => cluster.node(id).up && cluster.node(id).replica.status().role === 'leader');
  return leaders.length === 0 ? null : (leaders[leaders.length - 1] as NodeId);
}

/** Ticks every live node and settles, until `done` or the bound. */
function runTicks(cluster: Cluster<string, number>, ticks: number, cut: Filter = () => false, done = () => false): void {
  for (let t = 0; t < ticks && !done(); t += 1) {
    cluster.tickAll();
    settle(cluster, cut);
  }
}

test('a leader elected by campaign commits a run of commands on every replica in order', () => {
  const { cluster } = makeCluster(three);
  cluster.input(N('n1'), { type: 'campaign' });
  settle(cluster);
  assert.equal(leaderOf(cluster), N('n1'));
  for (let i = 0; i < 20; i += 1) cluster.propose(N('n1'), [`c${i}`]);
  settle(cluster);
  const expected = Array.from({ length: 20 }, (_, i) => `c${i}`);
  for (const id of three) assert.deepEqual(log(cluster, id), expected, `log of ${id}`);
});

test('a follower forwards proposals to the leader it knows', () => {
  const { cluster } = makeCluster(three);
  cluster.input(N('n2'), { type: 'campaign' });
  settle(cluster);
  cluster.propose(N('n3'), ['via-follower']);
  settle(cluster);
  for (const id of three) assert.deepEqual(log(cluster, id), ['via-follower']);
});

test('an election happens by timeout alone, and exactly one leader emerges', () => {
  const { cluster } = makeCluster(five, 7);
  runTicks(cluster, 200, () => false, () => leaderOf(cluster) !== null);
  const leaders = five.filter((id) => cluster.node(id).replica.status().role === 'leader');
  assert.equal(leaders.length, 1);
});

test('after the leader is cut off a new one is elected, no chosen slot changes, and the logs converge', () => {
  const { cluster, slots } = makeCluster(five, 3);
  cluster.input(N('n1'), { type: 'campaign' });
  settle(cluster);
  for (let i = 0; i < 10; i += 1) cluster.propose(N('n1'), [`a${i}`]);
  // n1 is cut off mid-way: some of its accepts never arrive.
  let delivered = 0;
  settle(cluster, (m) => (m.from === 'n1' || m.to === 'n1') && ++delivered > 12);
  const chosenBefore = new Map(slots);
  const isolated: Filter = (m) => m.from === 'n1' || m.to === 'n1';
  runTicks(cluster, 300, isolated, () => { const l = leaderOf(cluster); return l !== null && l !== N('n1'); });
  const newLeader = five.find((id) => id !== 'n1' && cluster.node(id).replica.status().role === 'leader');
  assert.ok(newLeader !== undefined, 'a new leader among the connected majority');
  for (let i = 0; i < 10; i += 1) cluster.propose(newLeader, [`b${i}`]);
  settle(cluster, isolated);
  // Heal: n1 learns it was deposed and catches up.
  runTicks(cluster, 100, () => false, () => five.every((id) => log(cluster, id).length === log(cluster, newLeader).length));
  for (const [s, value] of chosenBefore) assert.equal(slots.get(s), value, `slot ${s} changed after the leader change`);
  const reference = log(cluster, newLeader);
  for (const b of ['b0', 'b9']) assert.ok(reference.includes(b));
  for (const id of five) assert.deepEqual(log(cluster, id), reference, `log of ${id}`);
});

test('random delivery order with drops and duplicates never decides two values for one slot', () => {
  for (let seed = 1; seed <= 30; seed += 1) {
    const random = new Random(seed);
    const { cluster } = makeCluster(three, seed);
    let proposed = 0;
    for (let step = 0; step < 3_000; step += 1) {
      const flight = cluster.inFlight();
      const roll = random.nextFloat();
      if (flight.length > 0 && roll < 0.75) {
        const pick = random.pick(flight);
        const action = random.nextFloat();
        if (action < 0.1) cluster.drop(pick.id);
        else if (action < 0.15) cluster.duplicate(pick.id);
        else cluster.deliver(pick.id);
      } else if (roll < 0.9) {
        cluster.tick(random.pick(three));
      } else if (proposed < 40) {
        cluster.propose(random.pick(three), [`s${seed}-${proposed}`]);
        proposed += 1;
      }
    }
    // The agreement check in makeCluster's observer throws on any disagreement.
  }
});

test('a restarted acceptor keeps its promise: it refuses a ballot below the one it promised', () => {
  const { cluster } = makeCluster(three);
  cluster.input(N('n2'), { type: 'campaign' });
  settle(cluster);
  const promised = cluster.node(N('n3')).replica.promised;
  cluster.crash(N('n3'));
  cluster.restart(N('n3'));
  assert.equal(compareBallots(cluster.node(N('n3')).replica.promised, promised), 0);
  // A stale prepare with a lower ballot is refused with the promised ballot.
  cluster.input(N('n3'), {
    type: 'message',
    message: { type: 'prepare', from: N('n1'), to: N('n3'), ballot: { round: 0, node: N('n1') }, fromSlot: slot(1), transfer: null },
  });
  const reply = cluster.inFlight().find((m) => m.message.from === 'n3');
  assert.equal(reply?.message.type, 'reject');
});

test('a crash that loses unsynced records never loses a decided command', () => {
  const cluster = new Cluster<string, number>({ members: three, seed: 5, stateMachine: () => new AppendLog(), autoSync: false });
  const syncAll = (): void => three.forEach((id) => cluster.sync(id));
  cluster.input(N('n1'), { type: 'campaign' });
  for (let i = 0; i < 50 && cluster.inFlight().length + 3 > 0; i += 1) {
    syncAll();
    settle(cluster);
  }
  for (let i = 0; i < 5; i += 1) cluster.propose(N('n1'), [`d${i}`]);
  for (let i = 0; i < 20; i += 1) {
    syncAll();
    settle(cluster);
  }
  assert.deepEqual(log(cluster, N('n1')), ['d0', 'd1', 'd2', 'd3', 'd4']);
  // New proposals are written but n1 crashes before syncing them.
  cluster.propose(N('n1'), ['lost?']);
  cluster.crash(N('n1'));
  cluster.restart(N('n1'));
  assert.deepEqual(log(cluster, N('n1')), ['d0', 'd1', 'd2', 'd3', 'd4'], 'decided commands are re-applied from the durable log');
});

test('a linearizable read is served only after a quorum confirms the leader', () => {
  const { cluster } = makeCluster(three);
  cluster.input(N('n1'), { type: 'campaign' });
  settle(cluster);
  const ready: number[] = [];
  cluster.observe((event) => {
    if (event.type === 'effect' && event.effect.type === 'read-ready') ready.push(event.effect.id);
  });
  cluster.input(N('n1'), { type: 'read', id: 1 });
  assert.deepEqual(ready, [], 'not before the heartbeat round completes');
  settle(cluster);
  assert.deepEqual(ready, [1]);
  // Cut off from both followers, the leader can no longer confirm: the read waits.
  cluster.input(N('n1'), { type: 'read', id: 2 });
  settle(cluster, (m) => m.from === 'n1' || m.to === 'n1');
  assert.deepEqual(ready, [1]);
});

test('a follower answers a new read round and one heartbeat per tick, not every commit notice', () => {
  const { cluster } = makeCluster(three);
  cluster.input(N('n1'), { type: 'campaign' });
  settle(cluster);
  const acks: number[] = [];
  cluster.observe((event) => {
    if (event.type === 'sent' && event.message.type === 'heartbeat-ack' && event.node === N('n2')) acks.push(event.message.readRound);
  });
  let notices = 0;
  cluster.observe((event) => {
    if (event.type === 'sent' && event.message.type === 'heartbeat' && event.message.to === N('n2')) notices += 1;
  });
  for (let i = 0; i < 3; i += 1) {
    cluster.propose(N('n1'), [`c${i}`]);
    settle(cluster);
  }
  assert.ok(notices >= 3, `the leader announced each decision (${notices} heartbeats)`);
  assert.deepEqual(acks, [], 'no answer to notices within the tick already answered');
  cluster.input(N('n1'), { type: 'read', id: 1 });
  settle(cluster);
  assert.deepEqual(acks, [1], 'a new read round is answered at once');
  cluster.tickAll();
  cluster.tickAll();
  settle(cluster);
  assert.equal(acks.length, 2, 'the heartbeat of a later tick is answered');
  assert.deepEqual(log(cluster, N('n2')), ['c0', 'c1', 'c2']);
});

/**
 * n1 decides slots 1-32 and crashes; n2 holds votes for 1-16 only and n3 for
 * 17-32 only. The new leader (n2 or n3) is elected with its accepts held back,
 * so its phase 1 found votes through slot 32 that it has not decided. It gets
 * a read, whose round is answered while slots 17-32 stay undecided; `served`
 * collects the leader's applied log length at each read it serves.
 */
function recoveringLeaderWithRead(): { cluster: Cluster<string, number>; leader: NodeId; served: number[] } {
  const { cluster } = makeCluster(three);
  cluster.input(N('n1'), { type: 'campaign' });
  settle(cluster);
  // n2 votes for slots 1-16 and never hears that they were decided; n3 votes for
  // 17-32 (decided with n1 and acknowledged) and never gets the values of 1-16.
  const a = Array.from({ length: 16 }, (_, i) => `a${i}`);
  for (const command of a) cluster.propose(N('n1'), [command]);
  settle(cluster, (m) => m.from === 'n3' || m.to === 'n3' || m.type === 'heartbeat');
  const b = Array.from({ length: 16 }, (_, i) => `b${i}`);
  for (const command of b) cluster.propose(N('n1'), [command]);
  settle(cluster, (m) => m.from === 'n2' || m.to === 'n2' || m.type === 'heartbeat' || m.type === 'catchup-request');
  assert.deepEqual(log(cluster, N('n1')), [...a, ...b]);
  cluster.crash(N('n1'));
  // A new leader is elected; its accepts are held back.
  const noAccepts: Filter = (m) => m.type === 'accept';
  runTicks(cluster, 200, noAccepts, () => leaderOf(cluster) !== null);
  const leader = leaderOf(cluster);
  assert.ok(leader === N('n2') || leader === N('n3'), 'n2 or n3 leads');
  const served: number[] = [];
  cluster.observe((event) => {
    if (event.type === 'effect' && event.effect.type === 'read-ready' && event.node === leader) served.push(log(cluster, leader).length);
  });
  cluster.input(leader, { type: 'read', id: 1 });
  // Phase 1 found votes through slot 32, but only 16 slots fit in the pipeline.
  settle(cluster, (m) => m.type === 'accept' && m.slot > 16);
  assert.deepEqual(served, [], 'not while acknowledged writes at slots 17-32 are not applied');
  return { cluster, leader, served };
}

test('a new leader serves a read only after the slots its phase 1 recovered, even beyond its pipeline', () => {
  const { cluster, served } = recoveringLeaderWithRead();
  runTicks(cluster, 50, () => false, () => served.length > 0);
  assert.deepEqual(served, [32]);
});

test('a new leader counts only read rounds sent after its recovered slots are decided', () => {
  const { cluster, leader, served } = recoveringLeaderWithRead();
  // Recovery completes, but no round is answered after it. A configuration
  // change among the recovered slots could change whose answers count, so the
  // round answered before does not serve the read.
  runTicks(cluster, 50, (m) => m.type === 'heartbeat-ack', () => log(cluster, leader).length >= 32);
  assert.equal(log(cluster, leader).length, 32);
  assert.deepEqual(served, [], 'not on the round answered before recovery');
  runTicks(cluster, 10, () => false, () => served.length > 0);
  assert.deepEqual(served, [32]);
});

test('a replica that missed compacted slots catches up by state transfer', () => {
  const { cluster } = makeCluster(three);
  cluster.input(N('n1'), { type: 'campaign' });
  settle(cluster);
  cluster.crash(N('n3'));
  for (let i = 0; i < 30; i += 1) cluster.propose(N('n1'), [`e${i}`]);
  settle(cluster);
  cluster.compact(N('n1'));
  cluster.compact(N('n2'));
  for (let i = 30; i < 35; i += 1) cluster.propose(N('n1'), [`e${i}`]);
  settle(cluster);
  cluster.restart(N('n3'));
  runTicks(cluster, 50, () => false, () => log(cluster, N('n3')).length === 35);
  assert.deepEqual(log(cluster, N('n3')), log(cluster, N('n1')));
  const leaderCompacted = cluster.node(N('n1')).replica.status().compactedThrough;
  assert.ok(leaderCompacted > 0);
  assert.equal(cluster.node(N('n3')).replica.status().compactedThrough, leaderCompacted, 'n3 installed the snapshot');
});

test('a snapshot larger than one chunk crosses chunk by chunk, and a lost chunk is asked for again from where it stopped', () => {
  const cluster = new Cluster<string, number>({ members: three, seed: 3, stateMachine: () => new AppendLog(), timing: { snapshotChunkBytes: 16 } });
  cluster.input(N('n1'), { type: 'campaign' });
  settle(cluster);
  cluster.crash(N('n3'));
  for (let i = 0; i < 30; i += 1) cluster.propose(N('n1'), [`entry-${i}`]);
  settle(cluster);
  cluster.compact(N('n1'));
  cluster.compact(N('n2'));
  cluster.restart(N('n3'));
  // Lose the third chunk the first time it is sent.
  let chunks = 0;
  let dropped = 0;
  const offsets: number[] = [];
  const cut: Filter = (m) => {
    if (m.type !== 'snapshot' || m.to !== 'n3') return false;
    chunks += 1;
    if (chunks === 3) {
      dropped = m.offset;
      return true;
    }
    offsets.push(m.offset);
    return false;
  };
  runTicks(cluster, 200, cut, () => log(cluster, N('n3')).length === 30);
  assert.deepEqual(log(cluster, N('n3')), log(cluster, N('n1')));
  assert.ok(chunks > 4, `the snapshot took ${chunks} chunks`);
  assert.ok(dropped > 0 && offsets.includes(dropped), 'the lost chunk was sent again');
  assert.equal(offsets.filter((offset) => offset === 0).length, 1, 'the transfer went on from the lost chunk, not from the start');
});

test('a member that campaigned alone while cut off does not depose the working leader when it returns, and catches up', () => {
  const { cluster } = makeCluster(three, 11);
  cluster.input(N('n1'), { type: 'campaign' });
  settle(cluster);
  const isolated: Filter = (m) => m.from === 'n3' || m.to === 'n3';
  // n3 is cut off; it campaigns again and again, raising its promise each time.
  for (let i = 0; i < 3; i += 1) {
    cluster.input(N('n3'), { type: 'campaign' });
    settle(cluster, isolated);
  }
  for (let i = 0; i < 5; i += 1) cluster.propose(N('n1'), [`w${i}`]);
  settle(cluster, isolated);
  assert.ok(compareBallots(cluster.node(N('n3')).replica.promised, cluster.node(N('n1')).replica.promised) > 0, 'n3 promised higher');
  // Healed: n1 meets n3's higher promise, runs phase 1 above it and keeps leading.
  runTicks(cluster, 60, () => false, () => log(cluster, N('n3')).length === 5);
  assert.equal(leaderOf(cluster), N('n1'));
  assert.deepEqual(log(cluster, N('n3')), ['w0', 'w1', 'w2', 'w3', 'w4']);
});
