/**
 * The node's storage glue (src/server/node-storage.ts) on its failure paths:
 * a failed open leaves no file open, and a full disk or a file-size limit
 * during a snapshot save or a log rewrite is reported with the file's name.
 * And its background compaction: a snapshot the log already covers is saved
 * while appends go on, and neither its success nor its failure loses a record.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ballot } from '../../src/core/ballot.js';
import { nodeId, slot } from '../../src/core/ids.js';
import { NOOP, type DurableRecord, type SlotValue } from '../../src/core/multipaxos/types.js';
import type { NodeCommand } from '../../src/server/command.js';
import { nodeCommandCodec } from '../../src/server/command.js';
import { NodeStorage } from '../../src/server/node-storage.js';
import { CorruptSnapshotError } from '../../src/storage/errors.js';
import { FileWal } from '../../src/storage/wal.js';
import { encodeRecord } from '../../src/wire/index.js';
import { bytes, withTempDir } from './helpers.js';

function decides(from: number, through: number): DurableRecord<NodeCommand>[] {
  const records: DurableRecord<NodeCommand>[] = [];
  for (let at = from; at <= through; at += 1) records.push({ kind: 'decide', slot: slot(at), value: NOOP });
  return records;
}

describe('NodeStorage compaction', () => {
  it('saves a snapshot the log covers in the background and carries the records appended meanwhile into the rewritten log', () =>
    withTempDir(async (dir) => {
      const { storage } = await NodeStorage.open(dir, nodeCommandCodec);
      await storage.append(decides(1, 3));
      const data = new Uint8Array(256 * 1024).fill(7);
      await storage.append([{ kind: 'snapshot', throughSlot: slot(3), data, configs: [] }]);
      // These land while the snapshot may still be being written.
      await storage.append(decides(4, 5));
      const vote = ballot(2, nodeId('n1'));
      await storage.append([{ kind: 'accept', slot: slot(6), ballot: vote, value: NOOP }]);
      await storage.settled();
      await storage.append(decides(6, 6));
      await storage.close();

      const { storage: reopened, durable } = await NodeStorage.open(dir, nodeCommandCodec);
      await reopened.close();
      assert.equal(durable.compactedThrough, 3);
      assert.deepEqual(new Uint8Array(durable.snapshot?.data ?? []), data);
      assert.deepEqual([...durable.decided.keys()], [4, 5, 6]);
      assert.equal(durable.accepted.size, 0);
      assert.deepEqual(durable.promised, vote);
    }));

  it('saves a snapshot the log does not cover (one received from a peer) before append returns', () =>
    withTempDir(async (dir) => {
      const { storage } = await NodeStorage.open(dir, nodeCommandCodec);
      await storage.append(decides(1, 2));
      await storage.append([{ kind: 'snapshot', throughSlot: slot(9), data: bytes('received'), configs: [] }]);
      // No settled(): the file and the rewritten log are already there.
      assert.deepEqual((await readdir(join(dir, 'snap'))).filter((name) => name.endsWith('.snap')), ['0000000000000009.snap']);
      const copy = join(dir, 'copy');
      await cp(join(dir, 'wal'), join(copy, 'wal'), { recursive: true });
      await cp(join(dir, 'snap'), join(copy, 'snap'), { recursive: true });
      await storage.close();
      const { storage: reopened, durable } = await NodeStorage.open(copy, nodeCommandCodec);
      await reopened.close();
      assert.equal(durable.compactedThrough, 9);
      assert.equal(durable.decided.size, 0);
    }));

  it('a background save that fails fails the next append with the file named, and the old log still holds every record', { skip: process.platform !== 'linux' }, () =>
    withTempDir(async (dir) => {
      const nodeStorage = new URL('../../src/server/node-storage.js', import.meta.url).href;
      const command = new URL('../../src/server/command.js', import.meta.url).href;
      // A child process under a 16 KiB file-size limit: the 64 KiB snapshot cannot be written.
      const script = `
        const { NodeStorage } = await import(${JSON.stringify(nodeStorage)});
        const { nodeCommandCodec } = await import(${JSON.stringify(command)});
        const dir = process.argv[1];
        const out = {};
        const decide = (at) => ({ kind: 'decide', slot: at, value: { kind: 'noop' } });
        const failOnce = async (at, appendAfter) => {
          const { storage } = await NodeStorage.open(at, nodeCommandCodec);
          await storage.append([decide(1), decide(2), decide(3)]);
          await storage.append([{ kind: 'snapshot', throughSlot: 3, data: new Uint8Array(64 * 1024), configs: [] }]);
          out.snapshotAppended = true;
          await storage.settled();
          if (appendAfter) await storage.append([decide(4)]).catch((error) => { out.append = error.message; });
          await storage.close().then(() => { out[appendAfter ? 'closedAfterAppend' : 'closed'] = 'ok'; }, (error) => { out[appendAfter ? 'closedAfterAppend' : 'closed'] = error.message; });
        };
        await failOnce(dir + '/a', true);
        await failOnce(dir + '/b', false);
        console.log(JSON.stringify(out));`;
      const child = spawnSync('bash', ['-c', 'ulimit -f 16 && exec "$0" --input-type=module -e "$1" "$2"', process.execPath, script, dir], {
        encoding: 'utf8',
        timeout: 10_000,
      });
      assert.equal(child.status, 0, child.stderr);
      const out = JSON.parse(child.stdout) as { snapshotAppended?: boolean; append?: string; closedAfterAppend?: string; closed?: string };
      assert.equal(out.snapshotAppended, true);
      const failure = (at: string): RegExp => new RegExp(`writing ${join(dir, at, 'snap', '0000000000000003.snap.tmp')} failed: EFBIG`);
      assert.match(out.append ?? '', failure('a'));
      assert.equal(out.closedAfterAppend, 'ok', 'a failure the append reported is not reported again');
      assert.match(out.closed ?? '', failure('b'), 'a failure no append reported is reported by close');
      for (const at of ['a', 'b']) {
        const { storage, durable } = await NodeStorage.open(join(dir, at), nodeCommandCodec);
        await storage.close();
        assert.equal(durable.compactedThrough, 0);
        assert.deepEqual([...durable.decided.keys()], [1, 2, 3]);
      }
    }));
});

describe('NodeStorage failure paths', () => {
  it('an open that fails on the snapshot the log refers to closes the log, so the directory can be opened again', () =>
    withTempDir(async (dir) => {
      const { storage } = await NodeStorage.open(dir, nodeCommandCodec);
      await storage.append([{ kind: 'snapshot', throughSlot: slot(3), data: bytes('state machine bytes'), configs: [] }]);
      await storage.close();
      const [snapshot] = (await readdir(join(dir, 'snap'))).filter((name) => name.endsWith('.snap'));
      const path = join(dir, 'snap', snapshot ?? '');
      const content = await readFile(path);
      content[content.length - 1] = (content[content.length - 1] ?? 0) ^ 0xff;
      await writeFile(path, content);
      await assert.rejects(NodeStorage.open(dir, nodeCommandCodec), CorruptSnapshotError);
      // A log left open by the failed attempt would refuse this ("already open in this process").
      const { wal } = await FileWal.open(join(dir, 'wal'));
      await wal.close();
    }));

  it('EFBIG during a snapshot save or a log rewrite names the file being written', { skip: process.platform !== 'linux' }, () =>
    withTempDir(async (dir) => {
      const storage = new URL('../../src/storage/index.js', import.meta.url).href;
      // A child process under a 16 KiB file-size limit: Node ignores SIGXFSZ, so writes past it fail with EFBIG.
      const script = `
        const { FileSnapshotStore, FileWal } = await import(${JSON.stringify(storage)});
        const dir = process.argv[1];
        const out = {};
        const store = await FileSnapshotStore.open(dir + '/snap');
        await store.save(5, new Uint8Array(64 * 1024)).catch((error) => { out.snapshot = error.message; });
        const { wal } = await FileWal.open(dir + '/wal');
        await wal.rewrite([new Uint8Array(64 * 1024)]).catch((error) => { out.rewrite = error.message; });
        await wal.close().catch(() => undefined);
        console.log(JSON.stringify(out));`;
      const child = spawnSync('bash', ['-c', 'ulimit -f 16 && exec "$0" --input-type=module -e "$1" "$2"', process.execPath, script, dir], {
        encoding: 'utf8',
        timeout: 10_000,
      });
      assert.equal(child.status, 0, child.stderr);
      const out = JSON.parse(child.stdout) as { snapshot?: string; rewrite?: string };
      assert.match(out.snapshot ?? '', new RegExp(`writing ${join(dir, 'snap', '0000000000000005.snap.tmp')} failed: EFBIG`));
      assert.match(out.rewrite ?? '', new RegExp(`writing ${join(dir, 'wal', '0000000000000002.seg.tmp')} failed: EFBIG`));
    }));
});

describe('NodeStorage decisions of its own votes', () => {
  const at = ballot(3, nodeId('n1'));
  const putValue = (): { kind: 'batch'; commands: NodeCommand[] } => ({
    kind: 'batch',
    commands: [{ id: 'n1.1.1', op: { type: 'put', request: { key: new TextEncoder().encode('key'), value: new Uint8Array(256).fill(7), lease: 0, prevKv: false, ignoreValue: false, ignoreLease: false } } }],
  });

  /** WAL bytes one append of `records` writes. */
  async function bytesOf(storage: NodeStorage<NodeCommand>, records: DurableRecord<NodeCommand>[]): Promise<number> {
    const before = storage.metrics().bytesWritten;
    await storage.append(records);
    return storage.metrics().bytesWritten - before;
  }

  it('writes the decision of the vote it holds as a reference, and replays it to that value', () =>
    withTempDir(async (dir) => {
      const { storage } = await NodeStorage.open(dir, nodeCommandCodec);
      const voted = putValue();
      const voteBytes = await bytesOf(storage, [{ kind: 'accept', slot: slot(1), ballot: at, value: voted }]);
      const referenceBytes = await bytesOf(storage, [{ kind: 'decide', slot: slot(1), value: voted }]);
      // An equal value that is not the vote's own (learned from a peer, say) is written in full.
      await storage.append([{ kind: 'accept', slot: slot(2), ballot: at, value: putValue() }]);
      const fullBytes = await bytesOf(storage, [{ kind: 'decide', slot: slot(2), value: putValue() }]);
      // A vote and its decision in one append.
      const both = putValue();
      await storage.append([
        { kind: 'accept', slot: slot(3), ballot: at, value: both },
        { kind: 'decide', slot: slot(3), value: both },
      ]);
      await storage.close();
      assert.ok(referenceBytes < voteBytes / 4, `a reference is small (${referenceBytes} bytes against ${voteBytes} for the vote)`);
      assert.ok(fullBytes >= voteBytes - 16, `a decision of another value is written in full (${fullBytes} bytes)`);

      const { storage: reopened, durable } = await NodeStorage.open(dir, nodeCommandCodec);
      await reopened.close();
      assert.deepEqual([...durable.decided.keys()], [1, 2, 3]);
      // Compared as the log encodes them: decoding gives Buffers where the test built Uint8Arrays.
      const encoded = (value: SlotValue<NodeCommand> | undefined): Uint8Array => encodeRecord({ kind: 'decide', slot: slot(1), value: value ?? NOOP }, nodeCommandCodec);
      for (const s of [1, 2, 3]) assert.deepEqual(encoded(durable.decided.get(slot(s))), encoded(putValue()), `slot ${s}`);
      assert.equal(durable.accepted.size, 0);
    }));

  it('refuses to open a log whose decision refers to a vote it does not hold, naming the record', () =>
    withTempDir(async (dir) => {
      const { storage } = await NodeStorage.open(dir, nodeCommandCodec);
      const voted = putValue();
      await storage.append([{ kind: 'accept', slot: slot(1), ballot: at, value: voted }]);
      await storage.append([{ kind: 'decide', slot: slot(1), value: voted }]);
      await storage.close();
      // The same log without the vote: the reference is left dangling.
      const { wal, recovery } = await FileWal.open(join(dir, 'wal'));
      await wal.rewrite(recovery.payloads.filter((payload) => payload[0] !== 0));
      await wal.close();
      await assert.rejects(NodeStorage.open(dir, nodeCommandCodec), /log record 0: the decision of slot 1 refers to a vote at ballot 3\.n1, which the log before it does not hold/);
    }));
});
