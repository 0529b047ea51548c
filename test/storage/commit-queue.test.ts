/**
 * Group commit on its own, over a scripted target: batching bounds, call order
 * between appends and rewrites, backpressure, and the rule that a failed write
 * or sync fails the log for good.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommitQueue, type CommitTarget } from '../../src/storage/commit-queue.js';
import { LogFailedError, LogOverloadedError, StorageClosedError } from '../../src/storage/errors.js';
import { resolveLimits } from '../../src/storage/limits.js';
import { bytes, texts } from './helpers.js';

/** Records what the queue sent, and fails when told to. */
function scriptedTarget(): CommitTarget & { calls: string[]; failNext: Error | null } {
  const target = {
    calls: [] as string[],
    failNext: null as Error | null,
    async appendDurably(payloads: readonly Uint8Array[]) {
      await Promise.resolve();
      if (target.failNext !== null) throw target.failNext;
      target.calls.push(`append ${texts(payloads).join(',')}`);
    },
    async rewriteDurably(payloads: readonly Uint8Array[]) {
      await Promise.resolve();
      target.calls.push(`rewrite ${texts(payloads).join(',')}`);
    },
  };
  return target;
}

describe('CommitQueue', () => {
  it('batches waiting appends up to batchBytesMax, and never batches across a rewrite', async () => {
    const target = scriptedTarget();
    // Each 1-byte payload is a 9-byte record: two fit in 20 bytes, three do not.
    const queue = new CommitQueue(target, resolveLimits({ batchBytesMax: 20 }), 'test log');
    await Promise.all([
      queue.append([bytes('a')]),
      queue.append([bytes('b')]),
      queue.append([bytes('c')]),
      queue.rewrite([bytes('R')]),
      queue.append([bytes('d')]),
    ]);
    assert.deepEqual(target.calls, ['append a,b', 'append c', 'rewrite R', 'append d']);
    assert.deepEqual(queue.counters, { appends: 4, records: 4, batches: 3, rewrites: 1 });
  });

  it('refuses appends beyond queuedBytesMax with LogOverloadedError while others wait', async () => {
    const target = scriptedTarget();
    const queue = new CommitQueue(target, resolveLimits({ queuedBytesMax: 20 }), 'test log');
    const first = queue.append([bytes('0123456789')]); // 18 bytes queued
    await assert.rejects(queue.append([bytes('x')]), LogOverloadedError);
    await first;
    await queue.append([bytes('x')]);
    assert.deepEqual(target.calls, ['append 0123456789', 'append x']);
  });

  it('a failed batch fails its appends, everything queued, and everything after, with LogFailedError', async () => {
    const target = scriptedTarget();
    const queue = new CommitQueue(target, resolveLimits({ batchBytesMax: 9 }), 'test log');
    await queue.append([bytes('ok')]);
    target.failNext = new Error('EIO: fdatasync failed');
    const failing = queue.append([bytes('a')]);
    const queued = queue.append([bytes('b')]);
    await assert.rejects(failing, (error: unknown) => error instanceof LogFailedError && /EIO/.test(error.message));
    await assert.rejects(queued, LogFailedError);
    target.failNext = null;
    // A retry could "succeed" over pages the kernel already dropped: the log stays failed.
    await assert.rejects(queue.append([bytes('c')]), LogFailedError);
    await queue.close();
    assert.deepEqual(target.calls, ['append ok']);
  });

  it('close waits for queued work, then refuses more', async () => {
    const target = scriptedTarget();
    const queue = new CommitQueue(target, resolveLimits(), 'test log');
    const pending = queue.append([bytes('last')]);
    await queue.close();
    assert.deepEqual(target.calls, ['append last']);
    await pending;
    await assert.rejects(queue.append([bytes('late')]), StorageClosedError);
  });
});
