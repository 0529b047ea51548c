/**
 * Bounded waiting for the chaos tester: every wait here has a deadline, and the
 * monotonic clock (performance.now) measures it, so a wall-clock step cannot
 * stretch or cut a run.
 */
export { freePort } from '../net/free-port.js';

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve();
      return;
    }
    const timer = setTimeout(done, Math.max(0, ms));
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Calls `probe` every `everyMs` until it returns a value other than undefined,
 * or resolves undefined once `timeoutMs` has passed. Probe errors count as "not yet".
 */
export async function poll<T>(probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = 100): Promise<T | undefined> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch {
      // Not ready yet; the deadline bounds the retries.
    }
    await sleep(everyMs);
  }
  return undefined;
}

/** Resolves with `promise`'s value, or with `fallback` after `timeoutMs`. */
export async function within<T, F>(promise: Promise<T>, timeoutMs: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<F>((resolve) => {
    timer = setTimeout(() => resolve(fallback), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
