/**
 * What a simulated run produces: its outcome (with a violation report if an
 * invariant broke), figures about what happened, and a fingerprint of its trace.
 * Plain data, so results cross worker threads and compare with deepEqual.
 */
import type { ActivityKind, Counts, FaultKind, ReconfigurationCount } from './events.js';
import type { InvariantName } from './invariants.js';
import type { SimOptions } from './options.js';

export type Phase = 'safety' | 'liveness';

export interface Violation {
  readonly invariant: InvariantName;
  readonly message: string;
  readonly phase: Phase;
  readonly timeMs: number;
  /** How many events had been processed, counting the one that broke the invariant. */
  readonly step: number;
  readonly traceTail: readonly string[];
  /** For linearizability: the failing key's sub-history, one operation a line. */
  readonly history?: string;
}

export type Outcome = { readonly kind: 'ok' } | { readonly kind: 'violation'; readonly violation: Violation };

export interface SimFigures {
  readonly events: number;
  readonly virtualTimeMs: number;
  readonly opsCompleted: number;
  readonly opsIncomplete: number;
  readonly slotsDecided: number;
  readonly faults: Counts<FaultKind>;
  readonly activity: Counts<ActivityKind>;
  readonly reconfigurations: Counts<ReconfigurationCount>;
  readonly linearizability: 'ok' | 'unknown' | 'violation' | 'not-checked';
}

export interface SimResult {
  readonly options: SimOptions;
  readonly outcome: Outcome;
  readonly figures: SimFigures;
  /** A fingerprint of the whole trace: equal for two runs of one seed. */
  readonly traceDigest: string;
}
