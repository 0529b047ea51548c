// The watch hub over a bare state machine (no processes): the hand-over from
// history to live events, one delivery per revision for commands that write
// several, and the replay after a snapshot restore skipped revisions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { slot } from '../../src/core/ids.js';
import { KvStateMachine } from '../../src/kv/kv-state-machine.js';
import type { Event, KvCommand } from '../../src/kv/types.js';
import type { AppliedListener } from '../../src/server/node.js';
import { WatchHub, type WatchSink } from '../../src/server/grpc/watch-hub.js';

const text = (value: string): Uint8Array => new TextEncoder().encode(value);
const put = (key: string, value: string, lease = 0): KvCommand => ({ type: 'put', request: { key: text(key), value: text(value), lease } });

/** What SynodNode does around its state machine: apply, then tell the listeners the events and the revision. */
class Source {
  readonly stateMachine = new KvStateMachine();
  private readonly listeners = new Set<AppliedListener>();
  private nextSlot = 1;

  onApplied(listener: AppliedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  apply(command: KvCommand): void {
    const output = this.stateMachine.apply(command, slot(this.nextSlot));
    this.nextSlot += 1;
    if (output.type === 'error' || output.events.length === 0) return;
    for (const listener of this.listeners) listener(output.events, this.stateMachine.currentRevision);
  }
}

interface Delivery {
  readonly events: string[];
  readonly headerRevision: number;
  readonly replayed: boolean;
}

function recorder(): { sink: WatchSink; deliveries: Delivery[]; compacted: number[] } {
  const deliveries: Delivery[] = [];
  const compacted: number[] = [];
  const describe = (event: Event): string => `${event.kv.modRevision} ${event.type} ${new TextDecoder().decode(event.kv.key)}`;
  return {
    deliveries,
    compacted,
    sink: {
      events: (events, headerRevision, replayed) => deliveries.push({ events: events.map(describe), headerRevision, replayed }),
      compacted: (revision) => compacted.push(revision),
    },
  };
}

test('a subscription from a past revision gets the history at once, then each later revision live, with nothing missed or repeated', () => {
  const source = new Source();
  const hub = new WatchHub(source);
  try {
    for (let i = 0; i < 5; i += 1) source.apply(put(`a${i}`, 'x'));
    const { sink, deliveries } = recorder();
    const result = hub.subscribe({ key: text('a'), rangeEnd: text('b') }, 4, sink);
    assert.equal(result.type, 'subscribed');
    assert.deepEqual(result.type === 'subscribed' ? result.history.map((e) => e.kv.modRevision) : [], [4, 5, 6]);
    source.apply(put('a9', 'y'));
    source.apply(put('zz', 'not watched'));
    source.apply({ type: 'delete-range', request: { key: text('a0') } });
    assert.deepEqual(deliveries, [
      { events: ['7 PUT a9'], headerRevision: 7, replayed: false },
      { events: ['9 DELETE a0'], headerRevision: 9, replayed: false },
    ]);
  } finally {
    hub.close();
  }
});

test('a command that writes several revisions (an expiry of two leases) is delivered one revision at a time', () => {
  const source = new Source();
  const hub = new WatchHub(source);
  try {
    source.apply({ type: 'lease-grant', request: { ttl: 5, id: 1 }, now: 0 });
    source.apply({ type: 'lease-grant', request: { ttl: 5, id: 2 }, now: 0 });
    source.apply(put('k1', 'x', 1));
    source.apply(put('k2', 'x', 2));
    const { sink, deliveries } = recorder();
    hub.subscribe({ key: text('k'), rangeEnd: text('l') }, 0, sink);
    source.apply({ type: 'lease-expire', ids: [1, 2], now: 60_000 });
    assert.deepEqual(deliveries, [
      { events: ['4 DELETE k1'], headerRevision: 4, replayed: false },
      { events: ['5 DELETE k2'], headerRevision: 5, replayed: false },
    ]);
  } finally {
    hub.close();
  }
});

test('after a snapshot restore skipped revisions, the next applied command makes the hub replay them from the store, in order', () => {
  const ahead = new Source();
  const source = new Source();
  const hub = new WatchHub(source);
  try {
    for (const target of [ahead, source]) target.apply(put('r1', 'x'));
    const { sink, deliveries, compacted } = recorder();
    hub.subscribe({ key: text('r'), rangeEnd: text('s') }, 0, sink);
    // The member falls behind; the leader's state arrives as a snapshot, with no events.
    for (let i = 2; i <= 6; i += 1) ahead.apply(put(`r${i}`, 'x'));
    source.stateMachine.restore(ahead.stateMachine.snapshot());
    for (const target of [ahead, source]) target.apply(put('r7', 'x'));
    assert.deepEqual(deliveries, [{ events: ['3 PUT r2', '4 PUT r3', '5 PUT r4', '6 PUT r5', '7 PUT r6', '8 PUT r7'], headerRevision: 8, replayed: true }]);
    assert.deepEqual(compacted, []);
    source.apply(put('r8', 'x'));
    assert.deepEqual(deliveries[1], { events: ['9 PUT r8'], headerRevision: 9, replayed: false }, 'live delivery resumes');
  } finally {
    hub.close();
  }
});

test('a restore past a compaction the subscription needed tells it so and drops it', () => {
  const ahead = new Source();
  const source = new Source();
  const hub = new WatchHub(source);
  try {
    const { sink, deliveries, compacted } = recorder();
    hub.subscribe({ key: text('c') }, 0, sink);
    for (let i = 0; i < 4; i += 1) ahead.apply(put('c', `v${i}`));
    ahead.apply({ type: 'compact', request: { revision: 4 } });
    source.stateMachine.restore(ahead.stateMachine.snapshot());
    for (const target of [ahead, source]) target.apply(put('c', 'after'));
    assert.deepEqual(compacted, [4]);
    assert.deepEqual(deliveries, []);
    assert.equal(hub.size, 0);
  } finally {
    hub.close();
  }
});

test('a sink may cancel another subscription, or subscribe anew, in the middle of a delivery', () => {
  const source = new Source();
  const hub = new WatchHub(source);
  try {
    const late = recorder();
    const first = recorder();
    let second: { cancel(): void } | null = null;
    const canceling: WatchSink = {
      events: (events, revision, replayed) => {
        first.sink.events(events, revision, replayed);
        second?.cancel();
        hub.subscribe({ key: text('x') }, 0, late.sink);
      },
      compacted: () => undefined,
    };
    hub.subscribe({ key: text('x') }, 0, canceling);
    const skipped = recorder();
    const result = hub.subscribe({ key: text('x') }, 0, skipped.sink);
    second = result.type === 'subscribed' ? result.subscription : null;
    source.apply(put('x', '1'));
    assert.equal(first.deliveries.length, 1);
    assert.equal(skipped.deliveries.length, 0, 'a subscription canceled mid-delivery gets nothing more');
    assert.equal(late.deliveries.length, 0, 'one made mid-delivery starts after the revision being delivered');
    source.apply(put('x', '2'));
    assert.deepEqual(late.deliveries.map((d) => d.events), [['3 PUT x']]);
  } finally {
    hub.close();
  }
});
