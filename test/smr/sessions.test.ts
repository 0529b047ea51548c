// Exactly-once client sessions: a retried command runs once, and the session
// table survives snapshots with byte-valued outputs intact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Slot } from '../../src/core/ids.js';
import { SessionStateMachine } from '../../src/smr/sessions.js';
import type { StateMachine } from '../../src/smr/state-machine.js';

/** Appends bytes; its output is the bytes appended so far. */
class ByteLog implements StateMachine<number, Uint8Array> {
  bytes: number[] = [];
  apply(command: number): Uint8Array {
    this.bytes.push(command);
    return Uint8Array.from(this.bytes);
  }
  snapshot(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
  restore(snapshot: Uint8Array): void {
    this.bytes = [...snapshot];
  }
}

const at = (n: number): Slot => n as Slot;

test('a command decided twice is applied once and the retry gets the first output', () => {
  const inner = new ByteLog();
  const sessions = new SessionStateMachine(inner);
  const first = sessions.apply({ client: 'c', seq: 1, op: 7 }, at(1));
  const retry = sessions.apply({ client: 'c', seq: 1, op: 7 }, at(2));
  assert.deepEqual(inner.bytes, [7]);
  assert.deepEqual(retry, first);
  assert.deepEqual(sessions.apply({ client: 'c', seq: 0, op: 9 }, at(3)), { kind: 'session-expired' }, 'an older seq is refused');
});

test('the session table and byte outputs survive snapshot and restore', () => {
  const sessions = new SessionStateMachine(new ByteLog());
  sessions.apply({ client: 'a', seq: 1, op: 1 }, at(1));
  sessions.apply({ client: 'b', seq: 1, op: 2 }, at(2));
  const copy = new SessionStateMachine(new ByteLog());
  copy.restore(sessions.snapshot());
  const retry = copy.apply({ client: 'b', seq: 1, op: 2 }, at(3));
  assert.ok(retry.kind === 'applied' && retry.output instanceof Uint8Array, 'the cached output is still bytes');
  assert.deepEqual(retry, { kind: 'applied', output: Uint8Array.from([1, 2]) });
  assert.equal(copy.lastSeq('a'), 1);
});

test('past the session bound the least recently used client is evicted and its retries refused', () => {
  const sessions = new SessionStateMachine(new ByteLog(), 2);
  sessions.apply({ client: 'a', seq: 1, op: 1 }, at(1));
  sessions.apply({ client: 'b', seq: 1, op: 2 }, at(2));
  sessions.apply({ client: 'c', seq: 1, op: 3 }, at(3));
  assert.equal(sessions.lastSeq('a'), 0, 'a was evicted');
  assert.deepEqual(sessions.apply({ client: 'a', seq: 2, op: 4 }, at(4)), { kind: 'session-expired' });
});
