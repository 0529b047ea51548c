/**
 * Synod's own counters around a point, read from the leader's admin /status
 * before and after the measuring window: how many slots were decided, how
 * many commands each carried, how many log syncs there were and how many
 * bytes went to the log and to the peers. These explain a throughput figure:
 * e.g. commands per slot shows how much the leader batched, syncs per second
 * against the fsync floor shows whether the disk was the limit.
 */

interface StatusJson {
  decidedThrough?: number;
  driver?: Record<string, number>;
  wal?: Record<string, number>;
  transport?: { peers?: Record<string, Record<string, unknown>> };
}

export interface SynodCounters {
  readonly decidedThrough: number;
  readonly applied: number;
  readonly steps: number;
  readonly driverSyncs: number;
  readonly recordsPersisted: number;
  readonly walSyncs: number;
  readonly walBytes: number;
  readonly walSyncMs: number;
  readonly peerFrames: number;
  readonly peerBytes: number;
}

export interface SynodWindowStats {
  readonly slotsPerSecond: number;
  /** Commands applied per decided slot (no-ops included as slots). */
  readonly commandsPerSlot: number | null;
  readonly syncsPerSecond: number;
  readonly recordsPerSync: number | null;
  readonly meanSyncMs: number | null;
  /** Core steps (inputs: messages, proposals, ticks, reads) per client op. */
  readonly stepsPerOp: number | null;
  readonly walBytesPerOp: number | null;
  readonly peerFramesPerOp: number | null;
  readonly peerBytesPerOp: number | null;
}

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

export function countersOf(status: StatusJson): SynodCounters {
  let peerFrames = 0;
  let peerBytes = 0;
  for (const peer of Object.values(status.transport?.peers ?? {})) {
    peerFrames += num(peer.framesSent);
    peerBytes += num(peer.bytesSent);
  }
  return {
    decidedThrough: num(status.decidedThrough),
    applied: num(status.driver?.applied),
    steps: num(status.driver?.steps),
    driverSyncs: num(status.driver?.syncs),
    recordsPersisted: num(status.driver?.recordsPersisted),
    walSyncs: num(status.wal?.syncs),
    walBytes: num(status.wal?.bytesWritten),
    walSyncMs: num(status.wal?.totalSyncMs),
    peerFrames,
    peerBytes,
  };
}

/** The leader's counters, or null if the admin endpoint does not answer within a second. */
export async function readCounters(adminUrl: string): Promise<SynodCounters | null> {
  try {
    const response = await fetch(`${adminUrl}/status`, { signal: AbortSignal.timeout(1_000) });
    return countersOf((await response.json()) as StatusJson);
  } catch {
    return null;
  }
}

export function windowStats(before: SynodCounters, after: SynodCounters, seconds: number, ops: number): SynodWindowStats {
  const d = (key: keyof SynodCounters): number => after[key] - before[key];
  const per = (value: number, by: number): number | null => (by > 0 ? value / by : null);
  return {
    slotsPerSecond: d('decidedThrough') / seconds,
    commandsPerSlot: per(d('applied'), d('decidedThrough')),
    syncsPerSecond: d('walSyncs') / seconds,
    recordsPerSync: per(d('recordsPersisted'), d('driverSyncs')),
    meanSyncMs: per(d('walSyncMs'), d('walSyncs')),
    stepsPerOp: per(d('steps'), ops),
    walBytesPerOp: per(d('walBytes'), ops),
    peerFramesPerOp: per(d('peerFrames'), ops),
    peerBytesPerOp: per(d('peerBytes'), ops),
  };
}
