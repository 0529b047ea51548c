// The driver: persist-before-send with group commit, answers to proposers and
// readers, snapshots, and what happens when the disk fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeId, type NodeId, type Slot } from '../../src/core/ids.js';
import { replayRecords } from '../../src/core/multipaxos/durable.js';
import { bootstrapMembership } from '../../src/core/multipaxos/membership.js';
import { Replica } from '../../src/core/multipaxos/replica.js';
import { DEFAULT_TIMING, type DurableRecord, type Message } from '../../src/core/multipaxos/types.js';
import { ReplicaDriver, NotLeaderError, TimeoutError, type DriverOptions, type DurableLog } from '../../src/smr/driver.js';
import type { StateMachine } from '../../src/smr/state-machine.js';

interface Cmd {
  id: string;
  text: string;
}

class Texts implements StateMachine<Cmd, number> {
  texts: string[] = [];
  apply(command: Cmd): number {
    this.texts.push(command.text);
    return this.texts.length;
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify(this.texts));
  }
  restore(bytes: Uint8Array): void {
    this.texts = JSON.parse(new TextDecoder().decode(bytes)) as string[];
  }
}

/** A log whose syncs complete when the test says so, recording what each sync held. */
class ManualLog implements DurableLog<Cmd> {
  durable: DurableRecord<Cmd>[] = [];
  syncs: number[] = [];
  private waiting: { records: readonly DurableRecord<Cmd>[]; done: () => void; fail: (e: Error) => void }[] = [];
  append(records: readonly DurableRecord<Cmd>[]): Promise<void> {
    return new Promise((done, fail) => this.waiting.push({ records, done, fail }));
  }
  async completeAll(): Promise<void> {
    const batch = this.waiting.splice(0);
    for (const w of batch) {
      this.durable.push(...w.records);
      this.syncs.push(w.records.length);
      w.done();
    }
    await flush();
  }
  /** Completes syncs until none is waiting (bounded). */
  async settle(): Promise<void> {
    for (let i = 0; i < 100 && this.waiting.length > 0; i += 1) await this.completeAll();
  }
  async failNext(): Promise<void> {
    this.waiting.shift()?.fail(new Error('EIO: fsync failed'));
    await flush();
  }
  get pending(): number {
    return this.waiting.length;
  }
}

/** A durable state whose bootstrap configuration is already on disk, so the tests count only their own syncs. */
function bootstrapped(voters: NodeId[]) {
  return replayRecords<Cmd>([{ kind: 'genesis', configs: [{ activeFrom: 1 as never, membership: bootstrapMembership(voters) }] }]);
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A single-voter driver on `log` and `machine`, which leads once it campaigns. */
function soloDriver(log: ManualLog, machine: Texts, options: Partial<DriverOptions<Cmd, number>> & { snapshotEverySlots: number }): ReplicaDriver<Cmd, number> {
  const replica = new Replica<Cmd>({ ...DEFAULT_TIMING, self: nodeId('solo'), members: [nodeId('solo')], seed: 1 }, bootstrapped([nodeId('solo')]));
  return new ReplicaDriver<Cmd, number>({
    replica,
    log,
    peers: { send: () => undefined },
    stateMachine: machine,
    commandId: (c) => c.id,
    now: () => 0,
    onFatal: (e) => assert.fail(String(e)),
    ...options,
  });
}
const members = [nodeId('n1'), nodeId('n2'), nodeId('n3')];

function makeNode(
  self: NodeId,
  log: DurableLog<Cmd>,
  sent: Message<Cmd>[],
  now: () => number,
  fatal: unknown[] = [],
  extra: Partial<DriverOptions<Cmd, number>> = {},
) {
  const replica = new Replica<Cmd>({ ...DEFAULT_TIMING, self, members, seed: 1 }, bootstrapped(members));
  const machine = new Texts();
  const driver = new ReplicaDriver<Cmd, number>({
    replica,
    log,
    peers: { send: (m) => sent.push(m) },
    stateMachine: machine,
    commandId: (c) => c.id,
    snapshotEverySlots: 1_000,
    now,
    onFatal: (e) => fatal.push(e),
    ...extra,
  });
  return { driver, machine };
}

test('a promise and a vote leave only once durable, a leader\'s accepts go out while its own vote is written, and one sync covers many steps', async () => {
  const log = new ManualLog();
  const sent: Message<Cmd>[] = [];
  // One step per proposal, so three steps' records wait on one sync.
  const { driver } = makeNode(members[0] as NodeId, log, sent, () => 0, [], { batchProposals: false });
  driver.step({ type: 'campaign' });
  assert.equal(sent.length, 0, 'prepares wait for the promise to be durable');
  await log.completeAll();
  assert.equal(sent.filter((m) => m.type === 'prepare').length, 2);
  // Promises arrive; the leader proposes three commands while no sync completes.
  for (const from of [members[1], members[2]] as NodeId[]) {
    driver.receive({ type: 'promise', from, to: members[0] as NodeId, ballot: { round: 0, node: members[0] as NodeId }, fromSlot: 1 as never, accepted: [], decided: [], decidedTruncated: false, compactedThrough: 0 as never });
  }
  // The first proposal's sync is in flight while the next two are made: those
  // two must share the next sync. The first proposal's accepts go out at once:
  // they claim nothing about the leader's own vote, which is being written.
  sent.length = 0;
  const outputs = ['a', 'b', 'c'].map((text) => driver.propose({ id: text, text }, 1_000));
  assert.equal(sent.filter((m) => m.type === 'accept').length, 2, 'the first proposal is sent to both followers before its sync');
  assert.ok(log.pending <= 1, 'one sync in flight at a time');
  await log.completeAll();
  await log.completeAll();
  assert.equal(sent.filter((m) => m.type === 'accept').length, 6);
  assert.ok(log.syncs.some((n) => n >= 2), `some sync carried several records: ${log.syncs.join(',')}`);

  // A follower's vote is announced by its reply, so the reply waits for the vote's sync.
  const followerLog = new ManualLog();
  const followerSent: Message<Cmd>[] = [];
  const follower = makeNode(members[1] as NodeId, followerLog, followerSent, () => 0).driver;
  const accept = sent.find((m) => m.type === 'accept' && m.to === 'n2');
  assert.ok(accept !== undefined);
  follower.receive(accept);
  assert.equal(followerSent.filter((m) => m.type === 'accepted').length, 0, 'no accepted before the vote is durable');
  await followerLog.completeAll();
  assert.equal(followerSent.filter((m) => m.type === 'accepted').length, 1);
  follower.close();
  // Votes from n2 decide both slots; the proposals resolve with their outputs.
  for (const m of sent.filter((x) => x.type === 'accept' && x.to === 'n2')) {
    if (m.type === 'accept') driver.receive({ type: 'accepted', from: nodeId('n2'), to: m.from, ballot: m.ballot, slot: m.slot });
  }
  await log.settle();
  assert.deepEqual(await Promise.all(outputs), [1, 2, 3]);
});

/** Answers, as follower `from`, the accept the leader sent it; returns that accept. */
function answerAccept(driver: ReplicaDriver<Cmd, number>, sent: readonly Message<Cmd>[], from: string): Extract<Message<Cmd>, { type: 'accept' }> {
  const accept = sent.find((m): m is Extract<Message<Cmd>, { type: 'accept' }> => m.type === 'accept' && m.to === from);
  assert.ok(accept !== undefined, `no accept was sent to ${from}`);
  driver.receive({ type: 'accepted', from: nodeId(from), to: accept.from, ballot: accept.ballot, slot: accept.slot });
  return accept;
}

/** The decision of `slot` went to the log ahead of the next slot's vote (it rode on that write). */
function assertDecisionBeforeNextVote(log: ManualLog, slot: Slot): void {
  const decideAt = log.durable.findIndex((r) => r.kind === 'decide' && r.slot === slot);
  const nextVoteAt = log.durable.findIndex((r) => r.kind === 'accept' && r.slot > slot);
  assert.ok(decideAt >= 0 && nextVoteAt > decideAt, 'the decision is written before the next vote, in one write');
}

test('a decided command is applied without a sync of its own, and its decision record rides on the next write', async () => {
  const log = new ManualLog();
  const sent: Message<Cmd>[] = [];
  const { driver, machine } = await makeLeader(log, sent, { batchProposals: false });
  const first = driver.propose({ id: 'a', text: 'a' }, 1_000);
  await log.completeAll(); // the leader's own vote
  const syncsBefore = log.syncs.length;
  const accept = answerAccept(driver, sent, 'n2');
  assert.equal(await first, 1, 'applied at once: the value is chosen on durable votes');
  assert.deepEqual(machine.texts, ['a']);
  assert.equal(log.pending, 0, 'no write was issued for the decision alone');
  assert.equal(log.syncs.length, syncsBefore);
  assert.ok(!log.durable.some((r) => r.kind === 'decide'));
  // The next proposal's write carries the deferred decision first.
  const second = driver.propose({ id: 'b', text: 'b' }, 1_000);
  await log.completeAll();
  assertDecisionBeforeNextVote(log, accept.slot);
  driver.close();
  await assert.rejects(second, TimeoutError);
});

test('a decision that arrives while the leader\'s own vote is being written gets no sync of its own either', async () => {
  const log = new ManualLog();
  const sent: Message<Cmd>[] = [];
  const { driver, machine } = await makeLeader(log, sent, { batchProposals: false });
  const first = driver.propose({ id: 'a', text: 'a' }, 1_000);
  await flush();
  // The accept left while the vote is written, and the follower answers before the leader's own sync completes.
  const accept = answerAccept(driver, sent, 'n2');
  assert.equal(log.pending, 1);
  assert.deepEqual(machine.texts, [], 'not before the leader\'s own vote is durable');
  await log.completeAll();
  assert.equal(await first, 1);
  assert.equal(log.pending, 0, 'no write was issued for the decision alone');
  assert.ok(!log.durable.some((r) => r.kind === 'decide'));
  // So a proposal made now is stepped, and its accepts sent, at once.
  sent.length = 0;
  const second = driver.propose({ id: 'b', text: 'b' }, 1_000);
  await flush();
  assert.equal(acceptsTo(sent, 'n2').length, 1, 'the next accept did not wait for a sync');
  await log.completeAll();
  assertDecisionBeforeNextVote(log, accept.slot);
  driver.close();
  await assert.rejects(second, TimeoutError);
});

test('a proposal on a node that knows no leader is rejected at once with NotLeaderError', async () => {
  const { driver } = makeNode(members[1] as NodeId, new ManualLog(), [], () => 0);
  await assert.rejects(driver.propose({ id: 'x', text: 'x' }, 1_000), NotLeaderError);
});

test('a read on a candidate is refused rather than served from possibly stale state', async () => {
  const log = new ManualLog();
  const { driver } = makeNode(members[0] as NodeId, log, [], () => 0);
  driver.step({ type: 'campaign' });
  await log.completeAll();
  await assert.rejects(driver.readBarrier(50), NotLeaderError);
});

test('a failed sync stops the node and fails its waiters instead of carrying on', async () => {
  const log = new ManualLog();
  const sent: Message<Cmd>[] = [];
  const fatal: unknown[] = [];
  const { driver } = makeNode(members[0] as NodeId, log, sent, () => 0, fatal);
  driver.step({ type: 'campaign' });
  await log.failNext();
  assert.equal(fatal.length, 1);
  assert.equal(sent.length, 0, 'nothing that depended on the failed write was sent');
  driver.step({ type: 'tick' });
  assert.equal(log.pending, 0, 'a stopped node takes no more steps');
});

test('TimeoutError is what an expired proposal gets', async () => {
  let now = 0;
  const log = new ManualLog();
  const { driver } = makeNode(members[0] as NodeId, log, [], () => now);
  driver.step({ type: 'campaign' });
  await log.completeAll();
  driver.receive({ type: 'promise', from: nodeId('n2'), to: nodeId('n1'), ballot: { round: 0, node: nodeId('n1') }, fromSlot: 1 as never, accepted: [], decided: [], decidedTruncated: false, compactedThrough: 0 as never });
  await log.completeAll();
  const pending = driver.propose({ id: 'slow', text: 'slow' }, 10);
  now = 11;
  driver.expire(now);
  await assert.rejects(pending, TimeoutError);
});

/** Checks that each snapshot record holds one command per slot through its label; returns how many there are. */
function snapshotsHoldTheirSlots(log: ManualLog): number {
  const snapshots = log.durable.flatMap((r) => (r.kind === 'snapshot' ? [r] : []));
  for (const record of snapshots) {
    const texts = JSON.parse(new TextDecoder().decode(record.data)) as string[];
    assert.equal(texts.length, record.throughSlot, `snapshot through slot ${record.throughSlot} holds ${texts.length} commands`);
  }
  return snapshots.length;
}

test('a snapshot holds exactly the state of the slot it is labelled with, even while applies wait for a sync', async () => {
  const log = new ManualLog();
  const machine = new Texts();
  const driver = soloDriver(log, machine, {
    snapshotEverySlots: 3,
    // One slot per proposal, so many slots are decided while the first sync is in flight.
    batchProposals: false,
  });
  driver.step({ type: 'campaign' });
  // Many slots are decided in memory while the first sync is still in flight:
  // the replica has emitted their applies, the state machine has not run them.
  for (let i = 0; i < 20; i += 1) void driver.propose({ id: `c${i}`, text: `c${i}` }, 1_000);
  await log.settle();
  assert.ok(snapshotsHoldTheirSlots(log) >= 2, 'snapshots were taken');
});

/** A leader of n1's ballot 0 whose prepare round is durable and answered; `sent` is cleared. */
async function makeLeader(log: ManualLog, sent: Message<Cmd>[], extra: Partial<DriverOptions<Cmd, number>> = {}) {
  const made = makeNode(members[0] as NodeId, log, sent, () => 0, [], extra);
  made.driver.step({ type: 'campaign' });
  await log.completeAll();
  for (const from of [members[1], members[2]] as NodeId[]) {
    made.driver.receive({ type: 'promise', from, to: members[0] as NodeId, ballot: { round: 0, node: members[0] as NodeId }, fromSlot: 1 as never, accepted: [], decided: [], decidedTruncated: false, compactedThrough: 0 as never });
  }
  await log.settle();
  sent.length = 0;
  log.durable.length = 0;
  return made;
}

const acceptsTo = (sent: readonly Message<Cmd>[], to: string) =>
  sent.flatMap((m) => (m.type === 'accept' && m.to === to && m.value.kind === 'batch' ? [m.value.commands.map((c) => c.text)] : []));

test('proposals made in one event-loop turn share one slot: one accept record and one accept per follower', async () => {
  const log = new ManualLog();
  const sent: Message<Cmd>[] = [];
  const { driver } = await makeLeader(log, sent);
  const texts = ['a', 'b', 'c', 'd', 'e'];
  const outputs = texts.map((text) => driver.propose({ id: text, text }, 1_000));
  assert.equal(log.pending, 0, 'nothing is stepped before the turn ends');
  await flush();
  await log.settle();
  assert.deepEqual(acceptsTo(sent, 'n2'), [texts], 'one accept to n2 carries the five commands in proposal order');
  assert.deepEqual(acceptsTo(sent, 'n3'), [texts]);
  const acceptRecords = log.durable.filter((r) => r.kind === 'accept');
  assert.equal(acceptRecords.length, 1, 'one vote record for the five commands');
  for (const m of sent.filter((x) => x.type === 'accept' && x.to === 'n2')) {
    if (m.type === 'accept') driver.receive({ type: 'accepted', from: nodeId('n2'), to: m.from, ballot: m.ballot, slot: m.slot });
  }
  await log.settle();
  assert.deepEqual(await Promise.all(outputs), [1, 2, 3, 4, 5]);
});

test('a proposal made while the log is idle is stepped at the end of its turn, not held back', async () => {
  const log = new ManualLog();
  const sent: Message<Cmd>[] = [];
  const { driver } = await makeLeader(log, sent);
  void driver.propose({ id: 'a', text: 'a' }, 1_000);
  assert.equal(log.pending, 0);
  await flush();
  assert.equal(log.pending, 1, "a's vote is being synced");
  await log.completeAll();
  assert.deepEqual(acceptsTo(sent, 'n2'), [['a']]);
});

test('proposals made while a sync is in flight wait for it and then share one slot', async () => {
  const log = new ManualLog();
  const sent: Message<Cmd>[] = [];
  const { driver } = await makeLeader(log, sent);
  void driver.propose({ id: 'a', text: 'a' }, 1_000);
  await flush();
  // a's sync is in flight; b and c arrive in two later turns.
  void driver.propose({ id: 'b', text: 'b' }, 1_000);
  await flush();
  void driver.propose({ id: 'c', text: 'c' }, 1_000);
  await flush();
  assert.equal(log.pending, 1, 'nothing else is written while the first sync is in flight');
  await log.settle();
  assert.deepEqual(acceptsTo(sent, 'n2'), [['a'], ['b', 'c']]);
  assert.equal(log.durable.filter((r) => r.kind === 'accept').length, 2, 'two vote records: a, then b and c together');
});

test('a burst above one slot is stepped in slot-sized pieces, in proposal order', async () => {
  const log = new ManualLog();
  const sent: Message<Cmd>[] = [];
  const { driver } = await makeLeader(log, sent, { proposeBatchCommandsMax: 4 });
  const texts = Array.from({ length: 10 }, (_, i) => `c${i}`);
  for (const text of texts) void driver.propose({ id: text, text }, 1_000);
  await flush();
  await log.settle();
  assert.deepEqual(acceptsTo(sent, 'n2'), [texts.slice(0, 4), texts.slice(4, 8), texts.slice(8)]);
});

test('a proposal still waiting for its turn when the driver closes is rejected and never stepped', async () => {
  const log = new ManualLog();
  const sent: Message<Cmd>[] = [];
  const { driver } = await makeLeader(log, sent);
  const pending = driver.propose({ id: 'late', text: 'late' }, 1_000);
  driver.close();
  await assert.rejects(pending, TimeoutError);
  await flush();
  assert.equal(log.pending, 0, 'no record was written for it');
  assert.equal(sent.length, 0, 'no accept was sent for it');
});

test('a snapshot follows applied commands as well as slots, so batching cannot let the log grow past the bound', async () => {
  const log = new ManualLog();
  const machine = new Texts();
  const driver = soloDriver(log, machine, {
    snapshotEverySlots: 5,
  });
  driver.step({ type: 'campaign' });
  await log.settle();
  // Six commands in one turn: one slot, six commands, over the bound of five.
  const outputs = Array.from({ length: 6 }, (_, i) => driver.propose({ id: `c${i}`, text: `c${i}` }, 1_000));
  await flush();
  await log.settle();
  assert.deepEqual(await Promise.all(outputs), [1, 2, 3, 4, 5, 6]);
  const snapshots = log.durable.filter((r) => r.kind === 'snapshot');
  assert.equal(snapshots.length, 1, 'one snapshot after six commands in fewer than five slots');
  const [record] = snapshots;
  if (record?.kind === 'snapshot') assert.deepEqual(JSON.parse(new TextDecoder().decode(record.data)), ['c0', 'c1', 'c2', 'c3', 'c4', 'c5']);
});

test('snapshotEarlier brings each snapshot forward by the amount it draws, drawn afresh after every snapshot', async () => {
  const log = new ManualLog();
  const machine = new Texts();
  const draws = [2, 0, 3];
  const driver = soloDriver(log, machine, {
    snapshotEverySlots: 4,
    snapshotEarlier: () => draws.shift() ?? 0,
    batchProposals: false,
  });
  driver.step({ type: 'campaign' });
  await log.settle();
  for (let i = 0; i < 9; i += 1) {
    const output = driver.propose({ id: `c${i}`, text: `c${i}` }, 1_000);
    await flush();
    await log.settle();
    await output;
  }
  // Due after 4 - 2 = 2 commands, then 4 - 0 = 4 more, then 4 - 3 = 1 more.
  const sizes = log.durable.flatMap((r) => (r.kind === 'snapshot' ? [(JSON.parse(new TextDecoder().decode(r.data)) as string[]).length] : []));
  assert.deepEqual(sizes, [2, 6, 7]);
});

/** Texts whose snapshots are made over several turns, as the KV store's are. */
class SlicedTexts extends Texts {
  slicedSnapshots = 0;
  async snapshotInSlices(yieldTurn: () => Promise<void>): Promise<Uint8Array> {
    const captured = [...this.texts];
    this.slicedSnapshots += 1;
    for (let i = 0; i < 3; i += 1) await yieldTurn();
    return new TextEncoder().encode(JSON.stringify(captured));
  }
}

test('a snapshot made in slices is labelled with the slot it was captured at, while commands go on being applied', async () => {
  const log = new ManualLog();
  const machine = new SlicedTexts();
  const driver = soloDriver(log, machine, {
    snapshotEverySlots: 3,
    batchProposals: false,
  });
  driver.step({ type: 'campaign' });
  await log.settle();
  for (let i = 0; i < 20; i += 1) {
    const output = driver.propose({ id: `c${i}`, text: `c${i}` }, 1_000);
    await log.settle();
    await output;
  }
  for (let i = 0; i < 5; i += 1) {
    await flush();
    await log.settle();
  }
  const recorded = snapshotsHoldTheirSlots(log);
  assert.ok(machine.slicedSnapshots >= 2 && recorded === machine.slicedSnapshots, `${machine.slicedSnapshots} sliced snapshots, ${recorded} recorded`);
  assert.equal(machine.texts.length, 20);
});
