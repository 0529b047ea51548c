/**
 * What a command may do to the outside world, as one small port: print, read
 * the wall clock (for rates only; the simulator never sees it) and set the exit
 * status. Tests pass their own to capture output.
 */
import { performance } from 'node:perf_hooks';

export interface CliIo {
  out(text: string): void;
  /** Writes without a newline (progress bars); only used when `isTTY`. */
  write(text: string): void;
  err(text: string): void;
  readonly isTTY: boolean;
  /** Milliseconds on a monotonic clock. */
  now(): number;
  setExitCode(code: number): void;
}

/** The real terminal; `main` tracks the exit status itself, so setting it here does nothing. */
export function processIo(): CliIo {
  return {
    out: (text) => void process.stdout.write(`${text}\n`),
    write: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(`${text}\n`),
    isTTY: process.stdout.isTTY === true,
    now: () => performance.now(),
    setExitCode: () => undefined,
  };
}
