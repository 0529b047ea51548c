// The amnesia guard's memory of peers: first incarnation wins, a different one
// is refused, departed members are forgotten, and all of it survives a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { nodeId } from '../../src/core/ids.js';
import { IncarnationBook } from '../../src/server/incarnations.js';

test('a peer keeps the incarnation it was first seen with, durably, until it leaves the configuration', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'synod-incarnations-'));
  try {
    const logger = pino({ level: 'silent' });
    const book = await IncarnationBook.open(dir, logger);
    assert.equal(book.admit(nodeId('n2'), 'aaaa'), null);
    assert.equal(book.admit(nodeId('n2'), 'aaaa'), null);
    assert.match(book.admit(nodeId('n2'), 'bbbb') ?? '', /new data directory.*remove it/);
    assert.match(book.admit(nodeId('n3'), '') ?? '', /no data-directory incarnation/);
    assert.equal(book.admit(nodeId('n3'), 'cccc'), null);
    await book.flush();

    const reopened = await IncarnationBook.open(dir, logger);
    assert.match(reopened.admit(nodeId('n2'), 'bbbb') ?? '', /new data directory/, 'the refusal survives a restart');
    reopened.retain(new Set([nodeId('n3')]));
    await reopened.flush();
    const afterRemoval = await IncarnationBook.open(dir, logger);
    assert.equal(afterRemoval.admit(nodeId('n2'), 'bbbb'), null, 'a member that left is forgotten, so it may be added back');
    assert.match(afterRemoval.admit(nodeId('n3'), 'dddd') ?? '', /new data directory/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
