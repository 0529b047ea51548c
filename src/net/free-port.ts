/**
 * Free loopback ports for the processes the benchmark, the chaos tester and the
 * tests start. Only 127.0.0.1 is ever bound.
 */
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * A port that is free now and stays out of the kernel's way: it is drawn from
 * below the ephemeral range (/proc/sys/net/ipv4/ip_local_port_range), which
 * the kernel hands to outgoing connections. A port from `listen(0)` is in that
 * range, so between finding it free and a node binding it (or between a
 * node's kill and its restart) any outgoing connection may take it, and the
 * node then fails to start with EADDRINUSE. Falls back to `listen(0)` where
 * the range cannot be read.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralRangeStart();
  if (low !== null && low > PORT_FLOOR + 1_000) {
    // Bounded: a handful of random tries, then the fallback.
    for (let attempt = 0; attempt < 50; attempt += 1) {
      const candidate = PORT_FLOOR + randomInt(0, low - PORT_FLOOR);
      if (taken.has(candidate)) continue;
      if (await canListen(candidate)) {
        taken.add(candidate);
        return candidate;
      }
    }
  }
  return anyFreePort();
}

/** Ports this process handed out, so two members never get the same one. */
const taken = new Set<number>();
const PORT_FLOOR = 10_000;

function ephemeralRangeStart(): number | null {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isSafeInteger(first) && first > 0 ? first : null;
  } catch {
    return null;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function anyFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}
