/**
 * The two lemmas of the FLP proof, made executable over a finite state space.
 *
 * Lemma 2: some initial configuration is bivalent. We enumerate all 2^n input
 * assignments and classify each; the proof's argument (neighbouring inputs
 * differing in one process, one 0-valent and one 1-valent, cannot both be
 * univalent if that process may be silent) is shown by `adjacentPairs`.
 *
 * Lemma 3: from a bivalent configuration C and any event e = (p, m) enabled in
 * C, some configuration reachable by first running events other than e and then
 * e is bivalent. The adversary applies this over and over to the oldest pending
 * message, so no message waits forever and yet the run never leaves bivalence.
 * Valency can only shrink along a run (what is reachable from a successor is
 * reachable from its predecessor), so when the final configuration of a step is
 * bivalent, every configuration on the way to it was bivalent too.
 */
import {
  initialConfiguration,
  successors,
  type Bit,
  type Configuration,
  type FlpEvent,
  type Protocol,
} from './model.js';
import type { StateSpace, Valency } from './state-space.js';

export interface InitialClassification<S, M> {
  readonly inputs: readonly Bit[];
  readonly configuration: Configuration<S, M>;
  readonly valency: Valency;
}

/** Every input assignment in binary order (process 0 is the lowest bit) with its valency. */
export function classifyInitialConfigurations<S, M>(space: StateSpace<S, M>): InitialClassification<S, M>[] {
  const n = space.protocol.processCount;
  const result: InitialClassification<S, M>[] = [];
  for (let bits = 0; bits < 1 << n; bits += 1) {
    const inputs = Array.from({ length: n }, (_, p) => ((bits >> p) & 1) as Bit);
    const configuration = initialConfiguration(space.protocol, inputs);
    result.push({ inputs, configuration, valency: space.valency(configuration) });
  }
  return result;
}

/** Lemma 2: the first bivalent initial configuration, or undefined if the protocol has none. */
export function findBivalentInitial<S, M>(space: StateSpace<S, M>): InitialClassification<S, M> | undefined {
  return classifyInitialConfigurations(space).find((c) => c.valency === 'bivalent');
}

/** Pairs of initial configurations whose inputs differ in exactly one process, with that process. */
export function adjacentPairs<S, M>(
  classified: readonly InitialClassification<S, M>[],
): { readonly a: InitialClassification<S, M>; readonly b: InitialClassification<S, M>; readonly process: number }[] {
  const pairs: { a: InitialClassification<S, M>; b: InitialClassification<S, M>; process: number }[] = [];
  classified.forEach((a, i) => {
    classified.slice(i + 1).forEach((b) => {
      const differing = a.inputs.flatMap((bit, p) => (bit === b.inputs[p] ? [] : [p]));
      if (differing.length === 1) pairs.push({ a, b, process: differing[0] as number });
    });
  });
  return pairs;
}

export interface BivalentRun<S, M> {
  /** The events applied, in order. */
  readonly events: readonly FlpEvent[];
  /** The configurations visited: `configurations[0]` is the start, `configurations[i + 1]` follows `events[i]`. */
  readonly configurations: readonly Configuration<S, M>[];
  /** Why the run stopped before the requested length, if it did. */
  readonly stopped: string | null;
}

export interface AdversaryOptions {
  /** Most configurations one Lemma 3 search may visit. */
  readonly searchConfigurationsMax?: number;
}

function sameEvent(a: FlpEvent, b: FlpEvent): boolean {
  return a.process === b.process && a.message === b.message;
}

/**
 * One application of Lemma 3: events leading from bivalent `start` to a bivalent
 * configuration, ending with `target`, and applying `target` nowhere before.
 * Breadth-first, so the shortest such schedule wins (often `target` alone).
 */
export function scheduleEndingWith<S, M>(
  space: StateSpace<S, M>,
  start: Configuration<S, M>,
  target: FlpEvent,
  options: AdversaryOptions = {},
): { events: FlpEvent[]; configurations: Configuration<S, M>[] } | null {
  const limit = options.searchConfigurationsMax ?? 5_000;
  interface Node { configuration: Configuration<S, M>; parent: Node | null; event: FlpEvent | null }
  const seen = new Set<string>([space.key(start)]);
  let frontier: Node[] = [{ configuration: start, parent: null, event: null }];
  while (frontier.length > 0 && seen.size <= limit) {
    const next: Node[] = [];
    for (const node of frontier) {
      for (const move of space.moves(node.configuration)) {
        // Valency only shrinks along a run: a non-bivalent configuration is a dead end.
        if (move.valency !== 'bivalent') continue;
        if (sameEvent(move.event, target)) {
          const events: FlpEvent[] = [move.event];
          const configurations: Configuration<S, M>[] = [move.next];
          for (let at: Node | null = node; at !== null && at.event !== null; at = at.parent) {
            events.unshift(at.event);
            configurations.unshift(at.configuration);
          }
          return { events, configurations };
        }
        const key = space.key(move.next);
        if (seen.has(key)) continue;
        seen.add(key);
        next.push({ configuration: move.next, parent: node, event: move.event });
      }
    }
    frontier = next;
  }
  return null;
}

/**
 * Lemma 3 played as an adversary: extends a run from bivalent `start` by at
 * least `steps` events (unless the bounded model runs out), every configuration
 * bivalent. Each round it picks the enabled message that has waited longest and
 * finds a schedule that delivers it and stays bivalent; null events come last.
 */
export function extendBivalentRun<S, M>(
  space: StateSpace<S, M>,
  start: Configuration<S, M>,
  steps: number,
  options: AdversaryOptions = {},
): BivalentRun<S, M> {
  const events: FlpEvent[] = [];
  const configurations: Configuration<S, M>[] = [start];
  if (space.valency(start) !== 'bivalent') return { events, configurations, stopped: 'the start is not bivalent' };
  // When each message key in the buffer was sent, one entry per copy, oldest first.
  let sentAt = arrivals(space.protocol, new Map(), [], start, 0);
  while (events.length < steps) {
    const current = configurations[configurations.length - 1] as Configuration<S, M>;
    const candidates = successors(space.protocol, current)
      .map((s) => s.event)
      .sort((a, b) => age(sentAt, a) - age(sentAt, b));
    let found: { events: FlpEvent[]; configurations: Configuration<S, M>[] } | null = null;
    for (const candidate of candidates) {
      found = scheduleEndingWith(space, current, candidate, options);
      if (found !== null) break;
    }
    if (found === null) return { events, configurations, stopped: 'no event keeps the run bivalent (the bounded model ran out)' };
    for (const [i, event] of found.events.entries()) {
      const before = configurations[configurations.length - 1] as Configuration<S, M>;
      const after = found.configurations[i] as Configuration<S, M>;
      events.push(event);
      configurations.push(after);
      sentAt = arrivals(space.protocol, sentAt, before.buffer, after, events.length);
    }
  }
  return { events, configurations, stopped: null };
}

function age(sentAt: ReadonlyMap<string, readonly number[]>, event: FlpEvent): number {
  if (event.message === null) return Number.POSITIVE_INFINITY;
  return sentAt.get(event.message)?.[0] ?? Number.POSITIVE_INFINITY;
}

/** Updates send times: copies that left the buffer are forgotten oldest first, new copies are stamped `now`. */
function arrivals<S, M>(
  protocol: Protocol<S, M>,
  previous: ReadonlyMap<string, readonly number[]>,
  before: readonly M[],
  after: Configuration<S, M>,
  now: number,
): Map<string, number[]> {
  const count = (buffer: readonly M[]): Map<string, number> => {
    const counts = new Map<string, number>();
    for (const m of buffer) counts.set(protocol.messageKey(m), (counts.get(protocol.messageKey(m)) ?? 0) + 1);
    return counts;
  };
  const was = count(before);
  const is = count(after.buffer);
  const result = new Map<string, number[]>();
  for (const [key, copies] of is) {
    const old = [...(previous.get(key) ?? [])].slice(Math.max(0, (was.get(key) ?? 0) - copies));
    while (old.length < copies) old.push(now);
    result.set(key, old);
  }
  return result;
}
