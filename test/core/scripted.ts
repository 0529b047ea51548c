// What the core's scripted tests share: a state machine that records what it
// applied, an agreement check on every apply, and bounded delivery.
import assert from 'node:assert/strict';
import type { Slot } from '../../src/core/ids.js';
import type { Message } from '../../src/core/multipaxos/types.js';
import type { Cluster } from '../../src/sim/cluster.js';
import type { StateMachine } from '../../src/smr/state-machine.js';

/** A state machine that remembers the commands it applied, in order. */
export class AppendLog implements StateMachine<string, number> {
  entries: string[] = [];
  apply(command: string): number {
    this.entries.push(command);
    return this.entries.length;
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify(this.entries));
  }
  restore(bytes: Uint8Array): void {
    this.entries = JSON.parse(new TextDecoder().decode(bytes)) as string[];
  }
}

export type Filter = (message: Message<string>) => boolean;

/** Checks agreement on every apply, not only at the end of a scenario; returns the value seen per slot. */
export function watchAgreement(cluster: Cluster<string, number>): Map<Slot, string> {
  const slots = new Map<Slot, string>();
  cluster.observe((event) => {
    if (event.type !== 'effect' || event.effect.type !== 'apply') return;
    const value = JSON.stringify(event.effect.value);
    const previous = slots.get(event.effect.slot);
    assert.ok(previous === undefined || previous === value, `slot ${event.effect.slot} decided twice: ${previous} then ${value}`);
    slots.set(event.effect.slot, value);
  });
  return slots;
}

/** Delivers messages (dropping those `cut` rejects) until none are left; bounded. */
export function settle(cluster: Cluster<string, number>, cut: Filter = () => false, stepsMax = 10_000): void {
  for (let step = 0; step < stepsMax; step += 1) {
    const next = cluster.inFlight()[0];
    if (next === undefined) return;
    if (cut(next.message)) cluster.drop(next.id);
    else cluster.deliver(next.id);
  }
  assert.fail('the cluster did not settle');
}
