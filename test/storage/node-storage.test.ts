/**
 * The node's storage glue (src/server/node-storage.ts) on its failure paths:
 * a failed open leaves no file open, and a full disk or a file-size limit
 * during a snapshot save or a log rewrite is reported with the file's name.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { slot } from '../../src/core/ids.js';
import { nodeCommandCodec } from '../../src/server/command.js';
import { NodeStorage } from '../../src/server/node-storage.js';
import { CorruptSnapshotError } from '../../src/storage/errors.js';
import { FileWal } from '../../src/storage/wal.js';
import { bytes, withTempDir } from './helpers.js';

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
