/**
 * The watch hub: fans the events of every command this node applies out to the
 * subscriptions whose key range they touch, in revision order.
 *
 * A subscription starts at a revision. `subscribe` reads the events from that
 * revision to the current one out of the store (`watchEvents`) and registers
 * the subscription for live events from the next revision on, in one
 * synchronous step. The state machine only changes inside the driver's apply
 * loop, never during that step, so history and live events meet without a gap
 * and without a repeat. A client that resumes with start_revision = last seen
 * + 1 therefore loses nothing and sees nothing twice.
 *
 * Delivery is synchronous, from inside `node.onApplied`: a sink must not block
 * and must not assume the store is still at the delivered revision (one
 * command, e.g. a lease expiry, can write several revisions; the hub delivers
 * them one by one after the whole command applied).
 *
 * A member restored from a snapshot jumps revisions without applying them. The
 * hub notices the jump (at the next applied command, or at its periodic
 * check) and replays the missed revisions from the store to every
 * subscription, or tells it that they were compacted away.
 */
import type { Event } from '../../kv/types.js';
import { binaryToBytes, bytesToBinary } from '../../kv/bytes.js';
import { keySpan, spanContains, type KeySpan } from '../../kv/mvcc-store.js';
import type { KvStateMachine } from '../../kv/kv-state-machine.js';
import type { AppliedListener } from '../node.js';

/** What a subscription receives. */
export interface WatchSink {
  /**
   * Events on the subscription's keys, in revision order, never empty.
   * `headerRevision` is the store revision the batch is reported at.
   * `replayed`: read back from the store (after a snapshot restore), possibly
   * many revisions at once; otherwise the events of one revision as it applied.
   */
  events(events: readonly Event[], headerRevision: number, replayed: boolean): void;
  /** The revisions it still needed were compacted; the subscription is already gone. */
  compacted(compactRevision: number): void;
}

export interface WatchRange {
  readonly key: Uint8Array;
  /** etcd's conventions: absent/empty = the key alone, [0] = every key >= key. */
  readonly rangeEnd?: Uint8Array;
}

export type SubscribeResult =
  | {
      readonly type: 'subscribed';
      readonly subscription: Subscription;
      /** Events from the start revision through `currentRevision`, for the caller to send first. */
      readonly history: readonly Event[];
      readonly currentRevision: number;
    }
  | { readonly type: 'compacted'; readonly compactRevision: number; readonly currentRevision: number };

export interface Subscription {
  cancel(): void;
}

/** The part of SynodNode the hub needs (a port, so tests can drive it with a bare state machine). */
export interface AppliedSource {
  readonly stateMachine: KvStateMachine;
  onApplied(listener: AppliedListener): () => void;
}

interface Entry {
  readonly span: KeySpan;
  /** Set for single-key subscriptions, which are indexed by key. */
  readonly singleKey: string | null;
  /** The next revision this subscription has not been given. */
  nextRevision: number;
  readonly sink: WatchSink;
  active: boolean;
}

/** How often the hub checks for a revision jump that no applied command reported (a snapshot restore). */
const RESYNC_CHECK_MS = 1_000;

export class WatchHub {
  private readonly stateMachine: KvStateMachine;
  private readonly detach: () => void;
  /** Single-key subscriptions by binary key: lock and election waiters, `etcdctl watch key`. */
  private readonly byKey = new Map<string, Set<Entry>>();
  private readonly ranges = new Set<Entry>();
  /** The store revision the hub has delivered through. */
  private deliveredRevision: number;
  private readonly resyncTimer: NodeJS.Timeout;
  private closed = false;

  constructor(source: AppliedSource) {
    this.stateMachine = source.stateMachine;
    this.deliveredRevision = source.stateMachine.currentRevision;
    this.detach = source.onApplied((events, revision) => this.onApplied(events, revision));
    this.resyncTimer = setInterval(() => this.resyncIfBehind(), RESYNC_CHECK_MS);
    this.resyncTimer.unref();
  }

  get size(): number {
    let count = this.ranges.size;
    for (const set of this.byKey.values()) count += set.size;
    return count;
  }

  /**
   * Subscribes to the events on `range` from `startRevision` (0 or less: from
   * the next revision). A start in the future waits for that revision.
   */
  subscribe(range: WatchRange, startRevision: number, sink: WatchSink): SubscribeResult {
    if (this.closed) throw new Error('the watch hub is closed');
    // Deliver anything a restore skipped first, so `deliveredRevision` is the store's.
    this.resyncIfBehind();
    const currentRevision = this.stateMachine.currentRevision;
    const start = startRevision <= 0 ? currentRevision + 1 : startRevision;
    let history: readonly Event[] = [];
    if (start <= currentRevision) {
      const result = this.stateMachine.watchEvents({ key: range.key, rangeEnd: range.rangeEnd, startRevision: start });
      if (!result.ok) return { type: 'compacted', compactRevision: this.stateMachine.compactRevision, currentRevision };
      history = result.value.events;
    }
    const span = keySpan(range.key, range.rangeEnd);
    const single = range.rangeEnd === undefined || range.rangeEnd.length === 0 ? bytesToBinary(range.key) : null;
    const entry: Entry = { span, singleKey: single, nextRevision: Math.max(start, currentRevision + 1), sink, active: true };
    if (single !== null) {
      let set = this.byKey.get(single);
      if (set === undefined) {
        set = new Set();
        this.byKey.set(single, set);
      }
      set.add(entry);
    } else {
      this.ranges.add(entry);
    }
    return { type: 'subscribed', subscription: { cancel: () => this.remove(entry) }, history, currentRevision };
  }

  /**
   * `subscribe`, with the history delivered through the sink too (at once,
   * before this returns) and a compacted start reported through `compacted`.
   * Returns null if the start was compacted.
   */
  follow(range: WatchRange, startRevision: number, sink: WatchSink): Subscription | null {
    const result = this.subscribe(range, startRevision, sink);
    if (result.type === 'compacted') {
      sink.compacted(result.compactRevision);
      return null;
    }
    if (result.history.length > 0) sink.events(result.history, result.currentRevision, true);
    return result.subscription;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.resyncTimer);
    this.detach();
    for (const set of this.byKey.values()) for (const entry of set) entry.active = false;
    for (const entry of this.ranges) entry.active = false;
    this.byKey.clear();
    this.ranges.clear();
  }

  private remove(entry: Entry): void {
    if (!entry.active) return;
    entry.active = false;
    if (entry.singleKey === null) {
      this.ranges.delete(entry);
      return;
    }
    const set = this.byKey.get(entry.singleKey);
    set?.delete(entry);
    if (set !== undefined && set.size === 0) this.byKey.delete(entry.singleKey);
  }

  private onApplied(events: readonly Event[], revision: number): void {
    const first = events[0];
    if (first === undefined) return;
    if (first.kv.modRevision !== this.deliveredRevision + 1) {
      // A snapshot restore skipped revisions: replay from the store, which
      // already holds this command's events too.
      this.resync();
      return;
    }
    // Before any sink runs: a sink that subscribes during delivery must not
    // trigger a resync, and starts after this command's revisions.
    this.deliveredRevision = revision;
    // Nobody watching (the common case under a write load): nothing to group or match.
    if (this.byKey.size === 0 && this.ranges.size === 0) return;
    let start = 0;
    while (start < events.length) {
      const groupRevision = (events[start] as Event).kv.modRevision;
      let end = start + 1;
      while (end < events.length && (events[end] as Event).kv.modRevision === groupRevision) end += 1;
      this.deliverRevision(events.slice(start, end), groupRevision);
      start = end;
    }
  }

  /** One revision's events to every subscription they concern; subscriptions may come and go meanwhile. */
  private deliverRevision(events: readonly Event[], revision: number): void {
    const touched = new Map<Entry, Event[]>();
    const add = (entry: Entry, event: Event): void => {
      if (!entry.active || entry.nextRevision > revision) return;
      const list = touched.get(entry);
      if (list === undefined) touched.set(entry, [event]);
      else list.push(event);
    };
    for (const event of events) {
      const key = bytesToBinary(event.kv.key);
      const exact = this.byKey.get(key);
      if (exact !== undefined) for (const entry of exact) add(entry, event);
      for (const entry of this.ranges) {
        if (spanContains(entry.span, key)) add(entry, event);
      }
    }
    for (const [entry, list] of touched) {
      // An earlier sink in this loop may have cancelled this subscription.
      if (!entry.active) continue;
      entry.nextRevision = revision + 1;
      entry.sink.events(list, revision, false);
    }
  }

  private resyncIfBehind(): void {
    if (!this.closed && this.stateMachine.currentRevision !== this.deliveredRevision) this.resync();
  }

  /** Replays from the store every revision a subscription has not been given. */
  private resync(): void {
    const currentRevision = this.stateMachine.currentRevision;
    this.deliveredRevision = currentRevision;
    const entries = [...this.ranges];
    for (const set of this.byKey.values()) entries.push(...set);
    for (const entry of entries) {
      if (!entry.active || entry.nextRevision > currentRevision) continue;
      const span = entry.span;
      const result = this.stateMachine.watchEvents(spanRequest(span, entry.nextRevision));
      entry.nextRevision = currentRevision + 1;
      if (!result.ok) {
        this.remove(entry);
        entry.sink.compacted(this.stateMachine.compactRevision);
      } else if (result.value.events.length > 0) {
        entry.sink.events(result.value.events, currentRevision, true);
      }
    }
  }
}

/** A KeySpan back into the request form `watchEvents` takes. */
function spanRequest(span: KeySpan, startRevision: number): { key: Uint8Array; rangeEnd: Uint8Array; startRevision: number } {
  const key = binaryToBytes(span.start);
  const rangeEnd = span.end === null ? new Uint8Array([0]) : binaryToBytes(span.end);
  return { key, rangeEnd, startRevision };
}
