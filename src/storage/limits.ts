/**
 * Resolving and checking the configurable bounds of the stores. Kept apart
 * from the file implementations so the in-memory twins (which a simulator
 * imports) do not pull in the file system.
 */
import { assert } from '../core/assert.js';
import { DEFAULT_WAL_LIMITS, type WalLimits } from './ports.js';

export function resolveLimits(overrides: Partial<WalLimits> = {}): WalLimits {
  const limits = { ...DEFAULT_WAL_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    assert(Number.isSafeInteger(value) && value > 0, () => `WAL limit ${name} must be a positive integer, got ${value}`);
  }
  // The length field is a u32.
  assert(limits.recordBytesMax <= 0xffff_ffff, () => `recordBytesMax ${limits.recordBytesMax} does not fit a u32 length`);
  return limits;
}

export interface SnapshotStoreOptions {
  /** Snapshots kept after a save, newest first. At least 1; 2 by default. */
  readonly keep?: number;
}

export const DEFAULT_SNAPSHOTS_KEPT = 2;

export function snapshotsKept(options: SnapshotStoreOptions): number {
  const keep = options.keep ?? DEFAULT_SNAPSHOTS_KEPT;
  assert(Number.isSafeInteger(keep) && keep >= 1, () => `a snapshot store must keep at least 1 snapshot, got ${keep}`);
  return keep;
}
