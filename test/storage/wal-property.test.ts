/**
 * Property: any sequence of concurrent appends, rewrites, clean reopens and
 * crashes that tear the final write gives back exactly the payloads a simple
 * list model predicts, on both implementations. The file log runs with tiny segments so that rotation
 * happens in most runs. On failure fast-check prints the seed and the shrunk
 * sequence; replay with `fc.assert(..., { seed, path })`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { OpenedWal, WalLimits } from '../../src/storage/ports.js';
import { SEGMENT_HEADER_BYTES, WRITE_HEADER_BYTES } from '../../src/storage/segment.js';
import { fileHarness, hexes, memoryHarness, withHarness, type WalHarnessFactory } from './helpers.js';

type Operation =
  | { readonly kind: 'append'; readonly concurrent: readonly (readonly Uint8Array[])[] }
  | { readonly kind: 'rewrite'; readonly payloads: readonly Uint8Array[] }
  | { readonly kind: 'reopen' }
  /** Crash after the last sync, cut `1 + cut % size` bytes off the final write of the last segment, reopen. */
  | { readonly kind: 'tear'; readonly cut: number };

const payloadArbitrary = fc.uint8Array({ maxLength: 48 });
const operationArbitrary: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('append' as const), concurrent: fc.array(fc.array(payloadArbitrary, { maxLength: 4 }), { minLength: 1, maxLength: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rewrite' as const), payloads: fc.array(payloadArbitrary, { maxLength: 5 }) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'reopen' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tear' as const), cut: fc.nat({ max: 1000 }) }) },
);

const limits: Partial<WalLimits> = { segmentBytesMax: 160, recordBytesMax: 64 };

/**
 * Where the final write of a segment starts and how many records it holds,
 * read from the write headers and record lengths; null when the segment has no
 * write past its created bytes (only those could be torn).
 */
function finalWrite(segment: Uint8Array): { readonly start: number; readonly records: number } | null {
  const content = Buffer.from(segment);
  const createdBytes = Number(content.readBigUInt64LE(16));
  let last: { start: number; records: number } | null = null;
  for (let start = SEGMENT_HEADER_BYTES; start < content.length; ) {
    const end = start + WRITE_HEADER_BYTES + Number(content.readBigUInt64LE(start + 8));
    let records = 0;
    for (let at = start + WRITE_HEADER_BYTES; at < end; at += 8 + content.readUInt32LE(at)) records += 1;
    last = start >= createdBytes ? { start, records } : null;
    start = end;
  }
  return last;
}

async function runSequence(factory: WalHarnessFactory, operations: readonly Operation[]): Promise<void> {
  await withHarness(factory, async (harness) => {
    let opened: OpenedWal = await harness.open(limits);
    let expected: Uint8Array[] = [];
    const reopen = async (expectTornBytes: number | null): Promise<void> => {
      await opened.wal.close();
      opened = await harness.open(limits);
      assert.deepEqual(hexes(opened.recovery.payloads), hexes(expected));
      assert.equal(opened.recovery.truncated?.bytes ?? null, expectTornBytes);
    };
    for (const operation of operations) {
      switch (operation.kind) {
        case 'append':
          await Promise.all(operation.concurrent.map((payloads) => opened.wal.append(payloads)));
          expected.push(...operation.concurrent.flat());
          break;
        case 'rewrite':
          await opened.wal.rewrite(operation.payloads);
          expected = [...operation.payloads];
          break;
        case 'reopen':
          await reopen(null);
          break;
        case 'tear': {
          await harness.crash(opened);
          const { bytes } = await harness.lastSegment();
          const final = finalWrite(bytes);
          if (final === null) {
            opened = await harness.open(limits);
            break;
          }
          const size = bytes.length - final.start;
          const removed = 1 + (operation.cut % size);
          await harness.truncateLastSegment(bytes.length - removed);
          expected = expected.slice(0, expected.length - final.records);
          opened = await harness.open(limits);
          assert.deepEqual(hexes(opened.recovery.payloads), hexes(expected));
          assert.equal(opened.recovery.truncated?.bytes ?? null, removed === size ? null : size - removed);
          break;
        }
      }
    }
    await reopen(null);
    await opened.wal.close();
  });
}

describe('WriteAheadLog property: appends, rewrites, reopens and torn tails', () => {
  it('the in-memory twin gives back exactly the modelled payloads', async () => {
    await fc.assert(fc.asyncProperty(fc.array(operationArbitrary, { maxLength: 16 }), (operations) => runSequence(memoryHarness, operations)), {
      numRuns: 150,
    });
  });

  it('the file log gives back exactly the modelled payloads, across rotated segments', async () => {
    await fc.assert(fc.asyncProperty(fc.array(operationArbitrary, { maxLength: 12 }), (operations) => runSequence(fileHarness, operations)), {
      numRuns: 30,
    });
  });
});
