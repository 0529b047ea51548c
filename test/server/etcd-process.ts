// A real etcd (Debian's etcd-server) on loopback, for side-by-side tests and
// benchmarks. Temp data dir, free ports, stopped and removed afterwards.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, until, KvClient } from './harness.js';

export function etcdAvailable(): boolean {
  return spawnSync('sh', ['-c', 'command -v etcd'], { stdio: 'ignore' }).status === 0;
}

export class EtcdProcess {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly clientPort: number,
  ) {}

  static async start(): Promise<EtcdProcess> {
    const dir = mkdtempSync(join(tmpdir(), 'etcd-test-'));
    const clientPort = await freePort();
    const peerPort = await freePort();
    const client = `http://127.0.0.1:${clientPort}`;
    const peer = `http://127.0.0.1:${peerPort}`;
    const child = spawn(
      'etcd',
      ['--name', 'e1', '--data-dir', join(dir, 'data'), '--listen-client-urls', client, '--advertise-client-urls', client,
        '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `e1=${peer}`, '--log-level', 'error'],
      { stdio: 'ignore' },
    );
    const etcd = new EtcdProcess(child, dir, clientPort);
    const probe = new KvClient(`127.0.0.1:${clientPort}`);
    try {
      await until('etcd to answer', async () => ((await probe.call('Range', { key: Buffer.from('probe') }, 1_000)) === undefined ? undefined : true), 20_000);
    } finally {
      probe.close();
    }
    return etcd;
  }

  get endpoint(): string {
    return `127.0.0.1:${this.clientPort}`;
  }

  async stop(): Promise<void> {
    this.child.kill('SIGKILL');
    await new Promise((resolve) => (this.child.exitCode !== null ? resolve(undefined) : this.child.once('exit', resolve)));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
