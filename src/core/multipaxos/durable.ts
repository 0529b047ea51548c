/**
 * The replica's durable state and how it is rebuilt from the records a replica
 * persisted. Storage (the real write-ahead log and its in-memory twin) only has
 * to keep the records in order; this replay is the one place that gives them
 * meaning, so the real node and the simulator recover the same way.
 */
import { assert } from '../assert.js';
import { ZERO_BALLOT, compareBallots, type Ballot } from '../ballot.js';
import { NO_SLOT, type Slot } from '../ids.js';
import type { ConfigEntry, DurableRecord, SlotValue } from './types.js';

export interface DurableState<C> {
  /** The highest ballot this acceptor promised (phase 1b) or accepted in. */
  promised: Ballot;
  /** Votes for slots not known decided (and above compactedThrough). */
  readonly accepted: Map<Slot, { ballot: Ballot; value: SlotValue<C> }>;
  /** Decided values above compactedThrough. */
  readonly decided: Map<Slot, SlotValue<C>>;
  /** Every slot through this one is covered by `snapshot`. */
  compactedThrough: Slot;
  /** The state machine as of compactedThrough; null while nothing was compacted. */
  snapshot: { throughSlot: Slot; data: Uint8Array; configs: readonly ConfigEntry[] } | null;
  /**
   * The configurations known independently of the decided values kept here: the
   * bootstrap membership, or a snapshot's. Null for a member still joining.
   */
  configs: readonly ConfigEntry[] | null;
}

export function emptyDurableState<C>(): DurableState<C> {
  return { promised: ZERO_BALLOT, accepted: new Map(), decided: new Map(), compactedThrough: NO_SLOT, snapshot: null, configs: null };
}

/** Applies one record to the state, exactly as recovery would. */
export function applyRecord<C>(state: DurableState<C>, record: DurableRecord<C>): void {
  switch (record.kind) {
    case 'promise':
      if (compareBallots(record.ballot, state.promised) > 0) state.promised = record.ballot;
      return;
    case 'accept':
      if (record.slot <= state.compactedThrough || state.decided.has(record.slot)) return;
      state.accepted.set(record.slot, { ballot: record.ballot, value: record.value });
      if (compareBallots(record.ballot, state.promised) > 0) state.promised = record.ballot;
      return;
    case 'decide':
      if (record.slot <= state.compactedThrough) return;
      state.decided.set(record.slot, record.value);
      state.accepted.delete(record.slot);
      return;
    case 'snapshot':
      if (record.throughSlot <= state.compactedThrough) return;
      state.snapshot = { throughSlot: record.throughSlot, data: record.data, configs: record.configs };
      state.configs = record.configs;
      dropThrough(state, record.throughSlot);
      return;
    case 'genesis':
      if (state.configs === null) state.configs = record.configs;
      return;
    default: {
      const never: never = record;
      assert(false, () => `unknown durable record ${JSON.stringify(never)}`);
    }
  }
}

export function replayRecords<C>(records: Iterable<DurableRecord<C>>): DurableState<C> {
  const state = emptyDurableState<C>();
  for (const record of records) applyRecord(state, record);
  return state;
}

/**
 * The records that rebuild `state` from nothing: what a log rewrites when it
 * compacts. Replaying them gives back an equal state.
 */
export function recordsOf<C>(state: DurableState<C>): DurableRecord<C>[] {
  const records: DurableRecord<C>[] = [];
  if (state.snapshot !== null) {
    records.push({ kind: 'snapshot', throughSlot: state.snapshot.throughSlot, data: state.snapshot.data, configs: state.snapshot.configs });
  } else if (state.configs !== null) {
    records.push({ kind: 'genesis', configs: state.configs });
  }
  records.push({ kind: 'promise', ballot: state.promised });
  for (const [slot, vote] of [...state.accepted].sort((a, b) => a[0] - b[0])) {
    records.push({ kind: 'accept', slot, ballot: vote.ballot, value: vote.value });
  }
  for (const [slot, value] of [...state.decided].sort((a, b) => a[0] - b[0])) {
    records.push({ kind: 'decide', slot, value });
  }
  return records;
}

function dropThrough<C>(state: DurableState<C>, throughSlot: Slot): void {
  state.compactedThrough = throughSlot;
  for (const slot of state.accepted.keys()) if (slot <= throughSlot) state.accepted.delete(slot);
  for (const slot of state.decided.keys()) if (slot <= throughSlot) state.decided.delete(slot);
}
