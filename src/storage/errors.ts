/**
 * The typed failures of the storage layer. Each is an expected failure a caller
 * can act on (STYLE.md, habit 7): a corrupt log stops the node with a message an
 * operator can follow; an oversized record is the caller's bug to report; a
 * failed sync means the process must restart before it trusts its disk again.
 */

/**
 * The write-ahead log holds something recovery must not skip: damage in a write
 * that a later write shows had been synced, a bad segment header, a missing
 * segment, an unreadable file (segment.ts has the rule). Dropping such a record
 * silently could forget a promise or a vote, so opening fails instead, and
 * nothing on disk is changed.
 */
export class CorruptLogError extends Error {
  override readonly name = 'CorruptLogError';
  constructor(
    /** The segment file (a path, or `memory:...` for the in-memory twin). */
    readonly file: string,
    /** Byte offset in `file` where the problem starts. */
    readonly offset: number,
    /** What is wrong, in words. */
    readonly problem: string,
  ) {
    super(`corrupt write-ahead log: ${file} at byte offset ${offset}: ${problem}`);
  }
}

/**
 * A file operation of the stores failed: a full disk (ENOSPC), a file-size
 * limit (EFBIG), an I/O error. Node's own message for a failed write names no
 * file, so the stores wrap such errors with the file and what was being done.
 */
export class FileOperationError extends Error {
  override readonly name = 'FileOperationError';
  /** The errno code (`ENOSPC`, `EFBIG`, ...) when the cause has one. */
  readonly code: string | undefined;
  constructor(
    readonly file: string,
    /** What was being done, as a verb phrase: "writing", "syncing", "creating". */
    readonly operation: string,
    cause: unknown,
  ) {
    super(`${operation} ${file} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    this.code = typeof code === 'string' ? code : undefined;
  }
}

/** A snapshot file that fails its header or checksum verification. */
export class CorruptSnapshotError extends Error {
  override readonly name = 'CorruptSnapshotError';
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`corrupt snapshot: ${file}: ${problem}`);
  }
}

/** `SnapshotStore.load(throughSlot)` found no snapshot taken at that slot. */
export class SnapshotNotFoundError extends Error {
  override readonly name = 'SnapshotNotFoundError';
  constructor(
    readonly throughSlot: number,
    readonly where: string,
  ) {
    super(`no snapshot through slot ${throughSlot} in ${where}`);
  }
}

/** An append or rewrite carried a payload above the record size bound; nothing was written. */
export class RecordTooLargeError extends Error {
  override readonly name = 'RecordTooLargeError';
  constructor(
    readonly recordBytes: number,
    readonly recordBytesMax: number,
  ) {
    super(`record of ${recordBytes} bytes exceeds the bound of ${recordBytesMax} bytes`);
  }
}

/** More bytes are queued for the log than its bound allows; the caller should slow down. */
export class LogOverloadedError extends Error {
  override readonly name = 'LogOverloadedError';
  constructor(
    readonly queuedBytes: number,
    readonly queuedBytesMax: number,
  ) {
    super(`write-ahead log overloaded: ${queuedBytes} bytes queued would exceed ${queuedBytesMax}`);
  }
}

/** The store was closed (or, for the in-memory twin, crashed); it takes no more operations. */
export class StorageClosedError extends Error {
  override readonly name = 'StorageClosedError';
  constructor(what: string) {
    super(`${what} is closed`);
  }
}

/**
 * A write or sync failed. The log is now unusable: after a failed fsync the
 * kernel may have dropped the dirty pages and cleared the error, so a retry can
 * "succeed" without the data on disk (the 2018 PostgreSQL "fsyncgate"). The only
 * safe continuation is to restart the process and recover from what is on disk.
 */
export class LogFailedError extends Error {
  override readonly name = 'LogFailedError';
  constructor(cause: unknown) {
    super(`write-ahead log failed and must be reopened after a restart: ${String(cause)}`, { cause });
  }
}
