/**
 * Branded identifiers. A slot, a node id and a round are all plain values at run
 * time; the brands keep them from being mixed up at compile time.
 */
import { assert } from './assert.js';

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** A replica's name in the cluster, e.g. `n1`. Non-empty; compared as a string. */
export type NodeId = Brand<string, 'NodeId'>;

/** An index into the replicated log. Slot 1 is the first; slot 0 means "none". */
export type Slot = Brand<number, 'Slot'>;

export const NO_SLOT = 0 as Slot;

export function nodeId(name: string): NodeId {
  assert(name.length > 0, 'a node id must not be empty');
  return name as NodeId;
}

export function slot(index: number): Slot {
  assert(Number.isSafeInteger(index) && index >= 0, () => `a slot must be a non-negative integer, got ${index}`);
  return index as Slot;
}

export function nextSlot(s: Slot): Slot {
  return (s + 1) as Slot;
}
