/** The storage layer: ports (ports.ts), their file implementations and in-memory twins. */
export * from './errors.js';
export * from './ports.js';
export { resolveLimits, snapshotsKept, DEFAULT_SNAPSHOTS_KEPT, type SnapshotStoreOptions } from './limits.js';
export { FileWal, type FileWalOptions } from './wal.js';
export { FileSnapshotStore } from './snapshot-store.js';
export { MemoryWal, MemoryWalDisk, MemorySnapshotStore, type MemoryCrashOptions, type MemoryCrashReport } from './memory.js';
export { measureFsync, formatFsyncResult, type FsyncBenchOptions, type FsyncBenchResult } from './bench-fsync.js';
