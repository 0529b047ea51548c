/**
 * etcd's Watch service: one bidirectional stream carries many watchers.
 *
 * What the client sees, as etcd 3.4/3.5 sends it (checked against a real etcd):
 * - create: a `created` response first (header at the current revision), then
 *   the history from start_revision if it is in the past, then live events,
 *   one response per revision. A duplicate watch_id or a key range whose end
 *   is not above its key gets `created` + `canceled` with watch_id -1 and
 *   etcd's reason. A start revision below the compaction point gets `created`
 *   and then `canceled` with compact_revision set.
 * - cancel: a `canceled` response with the watch_id; an unknown id gets none.
 * - progress request: a response with watch_id -1 and the current revision.
 * - progress_notify: every `progressNotifyIntervalMs`, an empty response with
 *   the current revision to each such watcher that was sent nothing since the
 *   last tick.
 *
 * Every response leaves through one FIFO outbox per stream, so a response
 * never overtakes one queued before it: a progress response at revision R
 * follows every event at or below R. The outbox is written while the
 * transport takes it and waits for 'drain' when it does not. A watcher whose
 * live events waiting in the outbox exceed `watcherQueueBytesMax` is canceled
 * with a reason naming the revision to resume from, instead of buffering
 * without bound; the client re-creates it with start_revision = that
 * revision and loses nothing (unless it was compacted meanwhile).
 *
 * Differences from etcd, all deliberate: a compaction cancel carries etcd's
 * compacted message as cancel_reason and the current revision in its header
 * (etcd leaves the reason empty and the header revision 0); `fragment` is
 * accepted but responses are never fragmented; a slow watcher is canceled
 * (etcd parks it and retries).
 */
import * as grpc from '@grpc/grpc-js';
import type { Event } from '../../kv/types.js';
import type { SynodNode } from '../node.js';
import type * as pb from '../proto.js';
import { RequestError, eventToPb, headerToPb, watchCreateFromPb, watchRangeIsEmpty, type WatchCreate } from './convert.js';
import { headerIds, toServiceError } from './kv-service.js';
import type { Subscription, WatchHub } from './watch-hub.js';

export interface WatchServiceOptions {
  /** etcd's --experimental-watch-progress-notify-interval; 10 minutes by default. */
  readonly progressNotifyIntervalMs: number;
  /** A watcher whose unsent live events exceed this many bytes is canceled. */
  readonly watcherQueueBytesMax: number;
}

export const DEFAULT_WATCH_OPTIONS: WatchServiceOptions = Object.freeze({
  progressNotifyIntervalMs: 10 * 60 * 1000,
  watcherQueueBytesMax: 64 * 1024 * 1024,
});

/** etcd's messages, byte for byte (mvcc/watcher.go). */
export const WATCH_DUPLICATE_ID = 'mvcc: duplicate watch ID provided on the WatchStream';
export const WATCH_RANGE_EMPTY = 'mvcc: watcher range is empty';
export const WATCH_COMPACTED = 'etcdserver: mvcc: required revision has been compacted';

/** Watchers one stream may hold; creating one more is refused like a bad request. */
const WATCHERS_PER_STREAM_MAX = 10_000;
/**
 * A response that carries several revisions (history, a catch-up) stops at
 * a revision boundary once it reaches either bound. 1 MiB stays well below
 * the 4 MiB gRPC clients accept by default; a single revision larger than
 * that still goes out whole.
 */
const BATCH_EVENTS_MAX = 1_000;
const BATCH_BYTES_MAX = 1024 * 1024;
/** Outbox length above which the stream stops reading requests until the client catches up. */
const OUTBOX_PAUSE_ITEMS = 1_024;
/** Rough per-event overhead on the wire beyond keys and values, for the queue bound. */
const EVENT_OVERHEAD_BYTES = 64;

type WatchCall = grpc.ServerDuplexStream<pb.WatchRequest, pb.WatchResponseInit>;

interface StreamWatcher {
  readonly id: number;
  readonly create: WatchCreate;
  subscription: Subscription | null;
  /** Bytes of live events in the outbox; history from the create request is not counted. */
  queuedBytes: number;
  /** Event items of this watcher in the outbox. */
  queuedItems: number;
  /** Every revision up to this one has been handed to the transport (the resume point is this + 1). */
  sentRevision: number;
  /** Whether events were queued since the last progress tick. */
  busySinceTick: boolean;
}

type OutItem =
  | { readonly type: 'control'; readonly response: pb.WatchResponseInit }
  | {
      readonly type: 'events';
      readonly watcher: StreamWatcher;
      readonly events: readonly Event[];
      /** Index of the next event to send. */
      next: number;
      /** Header revision once the last event is sent. */
      readonly headerRevision: number;
      /** Bytes counted against the watcher's bound (0 for create-time history). */
      readonly countedBytes: number;
    };

export function watchService(node: SynodNode, hub: WatchHub, options: WatchServiceOptions): grpc.UntypedServiceImplementation {
  return {
    Watch: (call: WatchCall) => {
      new WatchStream(node, hub, options, call).start();
    },
  };
}

function eventBytes(event: Event): number {
  const prev = event.prevKv === null ? 0 : event.prevKv.key.length + event.prevKv.value.length;
  return event.kv.key.length + event.kv.value.length + prev + EVENT_OVERHEAD_BYTES;
}

class WatchStream {
  private readonly watchers = new Map<number, StreamWatcher>();
  private nextAutoId = 0;
  private readonly outbox: OutItem[] = [];
  private outboxHead = 0;
  private blocked = false;
  private paused = false;
  private closed = false;
  private progressTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly node: SynodNode,
    private readonly hub: WatchHub,
    private readonly options: WatchServiceOptions,
    private readonly call: WatchCall,
  ) {}

  start(): void {
    this.call.on('data', (request: pb.WatchRequest) => this.onRequest(request));
    // etcd keeps sending after the client half-closes; the stream ends when the client cancels it.
    this.call.on('cancelled', () => this.close());
    this.call.on('error', () => this.close());
    this.call.on('close', () => this.close());
    this.progressTimer = setInterval(() => this.progressTick(), this.options.progressNotifyIntervalMs);
    this.progressTimer.unref();
  }

  private onRequest(request: pb.WatchRequest): void {
    if (this.closed) return;
    try {
      this.handle(request);
    } catch (error) {
      // Not a client mistake (those are answered in the stream): end this stream, keep the node.
      this.node.logger.error({ err: error }, 'watch stream failed');
      this.close();
      this.call.emit('error', toServiceError(error));
    }
  }

  private handle(request: pb.WatchRequest): void {
    switch (request.request_union) {
      case 'create_request':
        this.create(request.create_request);
        break;
      case 'cancel_request':
        this.cancelRequest(request.cancel_request);
        break;
      case 'progress_request':
        // Behind every queued event, so the revision it reports has really been sent through.
        this.control({ header: this.header(), watch_id: '-1' });
        break;
      default:
        // etcd ignores requests it does not understand rather than end the stream.
        break;
    }
  }

  private create(request: pb.WatchCreateRequest): void {
    let create: WatchCreate;
    try {
      create = watchCreateFromPb(request);
    } catch (error) {
      this.refuse(error instanceof RequestError ? error.message : String(error));
      return;
    }
    if (watchRangeIsEmpty(create)) return this.refuse(WATCH_RANGE_EMPTY);
    if (this.watchers.size >= WATCHERS_PER_STREAM_MAX) return this.refuse(`synod: a watch stream holds at most ${WATCHERS_PER_STREAM_MAX} watchers`);
    let id = create.watchId;
    if (id === 0) {
      while (this.watchers.has(this.nextAutoId)) this.nextAutoId += 1;
      id = this.nextAutoId;
      this.nextAutoId += 1;
    } else if (this.watchers.has(id)) {
      return this.refuse(WATCH_DUPLICATE_ID);
    }
    const watcher: StreamWatcher = { id, create, subscription: null, queuedBytes: 0, queuedItems: 0, sentRevision: 0, busySinceTick: false };
    this.control({ header: this.header(), watch_id: String(id), created: true });
    const result = this.hub.subscribe({ key: create.key, rangeEnd: create.rangeEnd }, create.startRevision, {
      events: (events, headerRevision, replayed) => this.onEvents(watcher, events, headerRevision, !replayed),
      compacted: (compactRevision) => this.onCompacted(watcher, compactRevision),
    });
    if (result.type === 'compacted') {
      this.control(this.compactedResponse(id, result.compactRevision));
      return;
    }
    this.watchers.set(id, watcher);
    watcher.subscription = result.subscription;
    const start = create.startRevision > 0 ? create.startRevision : result.currentRevision + 1;
    watcher.sentRevision = Math.min(start, result.currentRevision + 1) - 1;
    if (result.history.length > 0) this.onEvents(watcher, result.history, result.currentRevision, false);
    else if (start <= result.currentRevision) watcher.sentRevision = result.currentRevision;
  }

  /** etcd's answer to a create it cannot serve: created and canceled at once, watch_id -1. */
  private refuse(reason: string): void {
    this.control({ header: this.header(), watch_id: '-1', created: true, canceled: true, cancel_reason: reason });
  }

  private cancelRequest(request: pb.WatchCancelRequest): void {
    const id = Number(request.watch_id);
    const watcher = this.watchers.get(id);
    if (watcher === undefined) return;
    this.drop(watcher);
    this.control({ header: this.header(), watch_id: String(id), canceled: true });
  }

  /**
   * Queues events for a watcher. Only `counted` ones (applied as the watcher
   * waited) count against its bound: history it asked for, and history the
   * hub replays after a snapshot restore, are bounded by the store itself.
   */
  private onEvents(watcher: StreamWatcher, events: readonly Event[], headerRevision: number, counted: boolean): void {
    if (this.closed || watcher.subscription === null) return;
    const { noPut, noDelete } = watcher.create;
    const kept = noPut || noDelete ? events.filter((event) => !(event.type === 'PUT' ? noPut : noDelete)) : events;
    if (kept.length === 0) {
      // Nothing to send; the watcher has still seen these revisions.
      if (watcher.queuedItems === 0) watcher.sentRevision = Math.max(watcher.sentRevision, headerRevision);
      return;
    }
    let bytes = 0;
    if (counted) for (const event of kept) bytes += eventBytes(event);
    watcher.queuedBytes += bytes;
    watcher.queuedItems += 1;
    watcher.busySinceTick = true;
    this.push({ type: 'events', watcher, events: kept, next: 0, headerRevision, countedBytes: bytes });
    if (watcher.queuedBytes > this.options.watcherQueueBytesMax) this.overflow(watcher);
  }

  private onCompacted(watcher: StreamWatcher, compactRevision: number): void {
    if (this.closed) return;
    watcher.subscription = null;
    this.drop(watcher);
    this.control(this.compactedResponse(watcher.id, compactRevision));
  }

  private compactedResponse(id: number, compactRevision: number): pb.WatchResponseInit {
    return { header: this.header(), watch_id: String(id), canceled: true, compact_revision: String(compactRevision), cancel_reason: WATCH_COMPACTED };
  }

  /** The client is not reading fast enough: cancel the watcher and tell it where to resume. */
  private overflow(watcher: StreamWatcher): void {
    const resumeFrom = watcher.sentRevision + 1;
    this.drop(watcher);
    this.node.logger.warn({ watchId: watcher.id, resumeFrom, queueBytesMax: this.options.watcherQueueBytesMax }, 'slow watcher canceled');
    this.control({
      header: this.header(),
      watch_id: String(watcher.id),
      canceled: true,
      cancel_reason: `synod: watcher fell behind by more than ${this.options.watcherQueueBytesMax} bytes of events; re-create it with start_revision ${resumeFrom}`,
    });
  }

  /** Forgets a watcher: no more events, and its unsent ones leave the outbox. */
  private drop(watcher: StreamWatcher): void {
    watcher.subscription?.cancel();
    watcher.subscription = null;
    this.watchers.delete(watcher.id);
    if (watcher.queuedItems === 0) return;
    const kept = this.outbox.slice(this.outboxHead).filter((item) => item.type === 'control' || item.watcher !== watcher);
    this.outbox.length = 0;
    this.outbox.push(...kept);
    this.outboxHead = 0;
    watcher.queuedItems = 0;
    watcher.queuedBytes = 0;
  }

  private progressTick(): void {
    for (const watcher of this.watchers.values()) {
      if (!watcher.create.progressNotify) continue;
      // etcd skips a watcher it sent events to since the last tick.
      if (!watcher.busySinceTick && watcher.queuedItems === 0) {
        this.control({ header: this.header(), watch_id: String(watcher.id) });
      }
      watcher.busySinceTick = false;
    }
  }

  private header(): pb.Init<pb.ResponseHeader<pb.Int64Like>> {
    return headerToPb(headerIds(this.node), this.node.stateMachine.currentRevision);
  }

  private control(response: pb.WatchResponseInit): void {
    this.push({ type: 'control', response });
  }

  private push(item: OutItem): void {
    if (this.closed) return;
    this.outbox.push(item);
    if (!this.paused && this.outbox.length - this.outboxHead > OUTBOX_PAUSE_ITEMS) {
      this.paused = true;
      this.call.pause();
    }
    this.flush();
  }

  /** Writes from the outbox while the transport takes it. */
  private flush(): void {
    while (!this.blocked && !this.closed && this.outboxHead < this.outbox.length) {
      const item = this.outbox[this.outboxHead] as OutItem;
      let response: pb.WatchResponseInit;
      if (item.type === 'control') {
        response = item.response;
        this.outboxHead += 1;
      } else {
        response = this.nextBatch(item);
      }
      if (!this.call.write(response)) {
        this.blocked = true;
        this.call.once('drain', () => {
          this.blocked = false;
          this.flush();
        });
      }
    }
    if (this.outboxHead === this.outbox.length) {
      this.outbox.length = 0;
      this.outboxHead = 0;
    } else if (this.outboxHead > 4_096) {
      this.outbox.splice(0, this.outboxHead);
      this.outboxHead = 0;
    }
    if (this.paused && this.outbox.length - this.outboxHead <= OUTBOX_PAUSE_ITEMS / 2) {
      this.paused = false;
      this.call.resume();
    }
  }

  /** The next response of an events item: whole revisions, up to the batch bounds. */
  private nextBatch(item: Extract<OutItem, { type: 'events' }>): pb.WatchResponseInit {
    const events = item.events;
    let end = item.next + 1;
    let bytes = eventBytes(events[item.next] as Event);
    while (end < events.length) {
      const size = eventBytes(events[end] as Event);
      if (!sameRevision(events, end) && (end - item.next >= BATCH_EVENTS_MAX || bytes + size > BATCH_BYTES_MAX)) break;
      bytes += size;
      end += 1;
    }
    const batch = events.slice(item.next, end);
    item.next = end;
    const watcher = item.watcher;
    const done = end === events.length;
    const lastRevision = (events[end - 1] as Event).kv.modRevision;
    const headerRevision = done ? item.headerRevision : lastRevision;
    if (done) {
      this.outboxHead += 1;
      watcher.queuedItems -= 1;
      watcher.queuedBytes -= item.countedBytes;
    }
    watcher.sentRevision = Math.max(watcher.sentRevision, headerRevision);
    const withPrevKv = watcher.create.prevKv;
    return {
      header: headerToPb(headerIds(this.node), headerRevision),
      watch_id: String(watcher.id),
      events: batch.map((event) => eventToPb(event, withPrevKv)),
    };
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.progressTimer !== null) clearInterval(this.progressTimer);
    for (const watcher of this.watchers.values()) watcher.subscription?.cancel();
    this.watchers.clear();
    this.outbox.length = 0;
    this.outboxHead = 0;
  }
}

/** Whether events[index] belongs to the same revision as the event before it. */
function sameRevision(events: readonly Event[], index: number): boolean {
  return (events[index] as Event).kv.modRevision === (events[index - 1] as Event).kv.modRevision;
}
