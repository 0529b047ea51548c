/**
 * The clock a leader times its read lease by (core/multipaxos/reads.ts).
 *
 * The monotonic clock never runs backwards and keeps running while the
 * process is paused, but on Linux it stops while the whole machine is
 * suspended (a laptop asleep, some paused VMs), while the other members'
 * timers run on: a leader waking from a suspend would take its lease for
 * still running. The wall clock does count the suspend (it is set again on
 * resume), but it can be stepped back. So this clock follows the monotonic
 * clock, and jumps ahead whenever the wall clock shows more time passed since
 * it started: it never measures less time than the monotonic clock, and after
 * a suspend it catches up with the wall clock. A wall clock stepped forward
 * only ends leases early (reads fall back to a quorum round); one stepped
 * back is ignored.
 */
export interface TimeSources {
  /** Monotonic milliseconds (performance.now()). */
  readonly monotonic: () => number;
  /** Wall-clock milliseconds (Date.now()). */
  readonly wall: () => number;
}

export const SYSTEM_TIME: TimeSources = { monotonic: () => performance.now(), wall: () => Date.now() };

export function leaseClock(sources: TimeSources = SYSTEM_TIME): () => number {
  const monotonicStart = sources.monotonic();
  const wallStart = sources.wall();
  let ahead = 0;
  return () => {
    const monotonic = sources.monotonic() - monotonicStart;
    ahead = Math.max(ahead, sources.wall() - wallStart - monotonic);
    return monotonic + ahead;
  };
}
