/**
 * Exhaustive exploration of a protocol's configurations, with valency.
 *
 * The valency of a configuration C is the set of decision values reachable
 * from C by some schedule (FLP §3): {0} is 0-valent, {1} is 1-valent, {0, 1} is
 * bivalent. A configuration from which no decision is reachable at all is
 * "stuck". Because the successors of C are exactly the configurations one event
 * away, valency(C) = decided(C) ∪ ⋃ valency(successor): the least fixpoint of
 * that equation over the finite reachable graph is what `valency` returns, also
 * when the graph has cycles.
 *
 * Configurations are memoized by key across calls, so exploring all initial
 * configurations of a protocol shares every configuration they have in common.
 */
import {
  configurationKey,
  decisionMask,
  successors,
  type Bit,
  type Configuration,
  type FlpEvent,
  type Protocol,
} from './model.js';

export type Valency = '0-valent' | '1-valent' | 'bivalent' | 'stuck';

export function valencyFromMask(mask: number): Valency {
  switch (mask & 3) {
    case 1: return '0-valent';
    case 2: return '1-valent';
    case 3: return 'bivalent';
    default: return 'stuck';
  }
}

/** The values a valency leaves possible. */
export function valencyValues(valency: Valency): Bit[] {
  switch (valency) {
    case '0-valent': return [0];
    case '1-valent': return [1];
    case 'bivalent': return [0, 1];
    case 'stuck': return [];
  }
}

export class StateSpaceLimitError extends Error {
  override readonly name = 'StateSpaceLimitError';
}

export interface StateSpaceOptions {
  /** Refuse to hold more configurations than this (the explorer must stay bounded). */
  readonly configurationsMax?: number;
}

export class StateSpace<S, M> {
  private readonly index = new Map<string, number>();
  private readonly configurations: Configuration<S, M>[] = [];
  private readonly edges: { event: FlpEvent; target: number }[][] = [];
  private readonly masks: number[] = [];
  private readonly configurationsMax: number;

  constructor(readonly protocol: Protocol<S, M>, options: StateSpaceOptions = {}) {
    this.configurationsMax = options.configurationsMax ?? 2_000_000;
  }

  /** How many distinct configurations have been explored so far. */
  get size(): number {
    return this.configurations.length;
  }

  /** Every configuration explored so far, in discovery order. */
  configurationsExplored(): readonly Configuration<S, M>[] {
    return this.configurations;
  }

  key(configuration: Configuration<S, M>): string {
    return configurationKey(this.protocol, configuration);
  }

  /** The set of decision values reachable from `configuration`, as a mask (bit v set: v reachable). */
  mask(configuration: Configuration<S, M>): number {
    return this.masks[this.explore(configuration)] as number;
  }

  valency(configuration: Configuration<S, M>): Valency {
    return valencyFromMask(this.mask(configuration));
  }

  /** The enabled events from `configuration` with their targets and the targets' valencies. */
  moves(configuration: Configuration<S, M>): { event: FlpEvent; next: Configuration<S, M>; valency: Valency }[] {
    const node = this.explore(configuration);
    return (this.edges[node] ?? []).map(({ event, target }) => ({
      event,
      next: this.configurations[target] as Configuration<S, M>,
      valency: valencyFromMask(this.masks[target] as number),
    }));
  }

  /** Explores everything reachable from `root` (if not yet done) and returns its node number. */
  explore(root: Configuration<S, M>): number {
    const known = this.index.get(this.key(root));
    if (known !== undefined) return known;
    const fresh: number[] = [];
    const rootNode = this.add(root, fresh);
    // Iterative depth-first search: the spaces are deep enough to overflow a recursive one.
    const stack = [rootNode];
    while (stack.length > 0) {
      const node = stack.pop() as number;
      const out: { event: FlpEvent; target: number }[] = [];
      for (const { event, next } of successors(this.protocol, this.configurations[node] as Configuration<S, M>)) {
        const key = this.key(next);
        let target = this.index.get(key);
        if (target === undefined) {
          target = this.add(next, fresh, key);
          stack.push(target);
        }
        out.push({ event, target });
      }
      this.edges[node] = out;
    }
    this.solveMasks(fresh);
    return rootNode;
  }

  /**
   * Least fixpoint of mask(n) = decided(n) | OR of mask(successors) over the
   * fresh nodes (older nodes are already solved and closed under successors).
   * A worklist over predecessors handles cycles.
   */
  private solveMasks(fresh: readonly number[]): void {
    const isFresh = new Set(fresh);
    const predecessors = new Map<number, number[]>();
    for (const node of fresh) {
      for (const { target } of this.edges[node] ?? []) {
        if (!isFresh.has(target)) continue;
        const list = predecessors.get(target);
        if (list === undefined) predecessors.set(target, [node]);
        else list.push(node);
      }
    }
    const work = [...fresh];
    while (work.length > 0) {
      const node = work.pop() as number;
      let mask = this.masks[node] as number;
      for (const { target } of this.edges[node] ?? []) mask |= this.masks[target] as number;
      if (mask === this.masks[node]) continue;
      this.masks[node] = mask;
      for (const predecessor of predecessors.get(node) ?? []) work.push(predecessor);
    }
  }

  private add(configuration: Configuration<S, M>, fresh: number[], key = this.key(configuration)): number {
    if (this.configurations.length >= this.configurationsMax) {
      throw new StateSpaceLimitError(`${this.protocol.id}: more than ${this.configurationsMax} configurations`);
    }
    const node = this.configurations.length;
    this.index.set(key, node);
    this.configurations.push(configuration);
    this.edges.push([]);
    // Start every node at what it has decided itself; the fixpoint adds what is reachable.
    this.masks.push(decisionMask(this.protocol, configuration));
    fresh.push(node);
    return node;
  }
}
