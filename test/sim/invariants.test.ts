// The invariant checker on hand-made cluster events: each invariant must fire
// on the one event that breaks it, and stay quiet on a correct sequence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvariantError } from '../../src/core/assert.js';
import { ballot } from '../../src/core/ballot.js';
import { nodeId, slot, type NodeId } from '../../src/core/ids.js';
import { Replica } from '../../src/core/multipaxos/replica.js';
import type { SlotValue } from '../../src/core/multipaxos/types.js';
import { SessionStateMachine } from '../../src/smr/sessions.js';
import { Cluster } from '../../src/sim/cluster.js';
import type { Command, Output, SimClusterEvent } from '../../src/sim/events.js';
import { InvariantChecker, type Breach } from '../../src/sim/invariants.js';
import type { KvInput, KvOutput } from '../../src/check/history.js';
import { KvRegister } from '../../src/sim/kv-register.js';

const n1 = nodeId('n1');
const n2 = nodeId('n2');

/** A checker over per-node registers wrapped in session tables, applying commands as a replica would. */
function harness(): { checker: InvariantChecker; apply: (node: NodeId, s: number, value: SlotValue<Command>) => void } {
  const registers = new Map<NodeId, KvRegister>();
  const sessions = new Map<NodeId, SessionStateMachine<KvInput, KvOutput>>();
  for (const id of [n1, n2]) {
    const register = new KvRegister();
    registers.set(id, register);
    sessions.set(id, new SessionStateMachine(register));
  }
  const checker = new InvariantChecker((node) => registers.get(node) as KvRegister);
  const apply = (node: NodeId, s: number, value: SlotValue<Command>): void => {
    if (value.kind === 'batch') {
      for (const command of value.commands) {
        const output = sessions.get(node)?.apply(command, slot(s)) ?? null;
        checker.observe({ type: 'applied', node, slot: slot(s), command, output });
      }
    }
    checker.observe({ type: 'effect', node, effect: { type: 'apply', slot: slot(s), value } });
  };
  return { checker, apply };
}

/** Reads the breach through a call, so the compiler does not narrow it across observe() calls. */
const breachOf = (checker: InvariantChecker): Breach | null => checker.breach;

const put = (client: string, seq: number, value: string): Command => ({ client, seq, op: { kind: 'put', key: 'x', value } });
const batch = (...commands: Command[]): SlotValue<Command> => ({ kind: 'batch', commands });

test('a correct sequence of proposals and applies at two replicas breaks nothing', () => {
  const { checker, apply } = harness();
  const a = put('c1', 1, 'a');
  const b = put('c2', 1, 'b');
  checker.noteProposed(a);
  checker.noteProposed(b);
  for (const node of [n1, n2]) {
    apply(node, 1, batch(a));
    apply(node, 2, { kind: 'noop' });
    apply(node, 3, batch(b, a)); // a retried duplicate: the session table absorbs it
  }
  assert.equal(checker.breach, null);
});

test('two replicas applying different values for one slot is an agreement violation', () => {
  const { checker, apply } = harness();
  const a = put('c1', 1, 'a');
  const b = put('c2', 1, 'b');
  checker.noteProposed(a);
  checker.noteProposed(b);
  apply(n1, 1, batch(a));
  apply(n2, 1, batch(b));
  assert.equal(checker.breach?.invariant, 'agreement');
  assert.match(checker.breach?.message ?? '', /slot 1/);
});

test('a decision persisted for a slot already decided otherwise is caught before anyone applies it', () => {
  const { checker, apply } = harness();
  const a = put('c1', 1, 'a');
  checker.noteProposed(a);
  apply(n1, 1, batch(a));
  checker.observe({ type: 'persisted', node: n2, record: { kind: 'decide', slot: slot(1), value: { kind: 'noop' } } });
  assert.equal(checker.breach?.invariant, 'agreement');
});

test('applying a command no client proposed is a validity violation', () => {
  const { checker, apply } = harness();
  apply(n1, 1, batch(put('ghost', 1, 'boo')));
  assert.equal(checker.breach?.invariant, 'validity');
});

test('skipping a slot, or restoring a snapshot behind what was applied, breaks the applied prefix', () => {
  const gap = harness();
  gap.apply(n1, 2, { kind: 'noop' });
  assert.equal(gap.checker.breach?.invariant, 'applied-prefix');

  const back = harness();
  back.apply(n1, 1, { kind: 'noop' });
  back.apply(n1, 2, { kind: 'noop' });
  back.checker.observe({ type: 'restored', node: n1, throughSlot: slot(1) });
  assert.equal(back.checker.breach?.invariant, 'applied-prefix');
});

test('a restarted replica may apply its log again from the start', () => {
  const { checker, apply } = harness();
  apply(n1, 1, { kind: 'noop' });
  checker.observe({ type: 'restarted', node: n1 });
  apply(n1, 1, { kind: 'noop' });
  assert.equal(checker.breach, null);
});

test('a command executed at two different slots is an exactly-once violation', () => {
  const a = put('c1', 1, 'a');
  // Bypass the session table, as a broken one would: the register runs the command twice.
  const register = new KvRegister();
  const local = new InvariantChecker(() => register);
  local.noteProposed(a);
  for (const s of [1, 2]) {
    register.apply(a.op, slot(s));
    local.observe({ type: 'applied', node: n1, slot: slot(s), command: a, output: { kind: 'applied', output: { kind: 'put' } } });
  }
  assert.equal(local.breach?.invariant, 'exactly-once');
});

test('a promise below a ballot the node pledged before, even across a restart, is a broken promise', () => {
  const { checker } = harness();
  const sent = (round: number, type: 'promise' | 'accepted'): SimClusterEvent => ({
    type: 'sent',
    node: n2,
    id: round,
    message:
      type === 'promise'
        ? { type, from: n2, to: n1, ballot: ballot(round, n1), fromSlot: slot(1), accepted: [], decided: [], decidedTruncated: false, compactedThrough: slot(0) }
        : { type, from: n2, to: n1, ballot: ballot(round, n1), slot: slot(1) },
  });
  checker.observe(sent(3, 'promise'));
  checker.observe(sent(3, 'accepted'));
  checker.observe({ type: 'crashed', node: n2, recordsLost: 0 });
  checker.observe({ type: 'restarted', node: n2 });
  assert.equal(breachOf(checker), null);
  checker.observe(sent(2, 'accepted'));
  assert.equal(breachOf(checker)?.invariant, 'promise-kept');
});

test('only the first breach is kept', () => {
  const { checker } = harness();
  checker.report('agreement', 'first');
  checker.report('validity', 'second');
  assert.deepEqual(checker.breach, { invariant: 'agreement', message: 'first' });
});

test("a replica's own failed checkInvariants is reported as a breach, not thrown", () => {
  class Broken<C> extends Replica<C> {
    override checkInvariants(): void {
      throw new InvariantError('planted: always broken');
    }
  }
  const cluster = new Cluster<Command, Output>({
    members: [n1, n2, nodeId('n3')],
    seed: 1,
    stateMachine: () => new SessionStateMachine(new KvRegister()),
    replicaFactory: (config, durable) => new Broken<Command>(config, durable),
  });
  const checker = new InvariantChecker(() => new KvRegister());
  checker.afterStep(cluster);
  assert.equal(checker.breach?.invariant, 'replica-invariant');
  assert.match(checker.breach?.message ?? '', /planted/);
});
