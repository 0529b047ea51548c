/**
 * `synod up`: a local cluster of real node processes on loopback, with data
 * under ./synod-data (reused by the next `synod up`). It prints the endpoints
 * and keeps running until Ctrl-C, then stops every node gracefully.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { startLabServer } from '../lab-server/serve.js';
import type { CliIo } from './io.js';
import { parsePort } from './lab-command.js';

export interface UpMember {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly adminPort: number;
}

/** etcd's local-cluster convention: 2379/2380, 22379/22380, 32379/32380, ... */
export function localMembers(count: number, basePort = 2379): UpMember[] {
  return Array.from({ length: count }, (_, i) => {
    const offset = i === 0 ? 0 : (i + 1) * 10_000;
    return { name: `n${i + 1}`, clientPort: basePort + offset, peerPort: basePort + 1 + offset, adminPort: basePort + 2 + offset };
  });
}

export function memberArgs(member: UpMember, members: readonly UpMember[], dataDir: string, extra: readonly string[] = []): string[] {
  return [
    'start',
    '--name', member.name,
    '--data-dir', join(dataDir, member.name),
    '--listen-client-urls', `http://127.0.0.1:${member.clientPort}`,
    '--listen-peer-urls', `http://127.0.0.1:${member.peerPort}`,
    '--listen-admin-url', `http://127.0.0.1:${member.adminPort}`,
    '--initial-cluster', members.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(','),
    '--initial-cluster-client-urls', members.map((m) => `${m.name}=http://127.0.0.1:${m.clientPort}`).join(','),
    ...extra,
  ];
}

/** The launcher script, resolved from this compiled file (dist/src/cli/). */
export function launcherPath(): string {
  return resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../bin/synod.js');
}

function parseCount(text: string): number {
  const n = Number(text);
  if (n !== 1 && n !== 3 && n !== 5) throw new InvalidArgumentError('must be 1, 3 or 5');
  return n;
}

export function upCommand(io: CliIo): Command {
  return new Command('up')
    .description('run a local cluster of Synod nodes on 127.0.0.1 until Ctrl-C')
    .option('--data-dir <dir>', 'parent directory of the members\' data', 'synod-data')
    .option('--nodes <count>', 'how many members (1, 3 or 5)', parseCount, 3)
    .option('--lab-port <port>', 'port of the browser lab (0 picks a free one)', parsePort, 8080)
    .action(async (options: { dataDir: string; nodes: number; labPort: number }) => {
      const dataDir = resolve(options.dataDir);
      mkdirSync(dataDir, { recursive: true });
      const members = localMembers(options.nodes);
      const children = new Map<string, ChildProcess>();
      let stopping = false;
      for (const member of members) {
        const log = createWriteStream(join(dataDir, `${member.name}.log`), { flags: 'a' });
        const child = spawn(process.execPath, [launcherPath(), ...memberArgs(member, members, dataDir)], { stdio: ['ignore', 'pipe', 'pipe'] });
        child.stdout?.pipe(log);
        child.stderr?.on('data', (chunk: Buffer) => {
          log.write(chunk);
          io.err(`[${member.name}] ${chunk.toString().trimEnd()}`);
        });
        child.on('exit', (code, signal) => {
          children.delete(member.name);
          if (!stopping) io.err(`synod up: ${member.name} exited (${signal ?? `code ${code}`}); see ${join(dataDir, `${member.name}.log`)}`);
        });
        children.set(member.name, child);
      }
      const lab = await startLabServer({ port: options.labPort, host: '127.0.0.1' }).catch((error: unknown) => {
        io.err(`synod up: the lab could not start (${error instanceof Error ? error.message : String(error)}); the cluster runs without it`);
        return null;
      });
      const endpoints = members.map((m) => `127.0.0.1:${m.clientPort}`).join(',');
      io.out(`Synod: ${members.length} nodes on 127.0.0.1, data in ${dataDir}`);
      for (const m of members) {
        io.out(`  ${m.name}  client http://127.0.0.1:${m.clientPort}  peer :${m.peerPort}  admin http://127.0.0.1:${m.adminPort}/status`);
      }
      if (lab !== null) io.out(`Lab:  ${lab.url.replace(/\/$/, "")}/#/live  (the live view follows these nodes)`);
      io.out(`Try:  etcdctl --endpoints=${endpoints} put hello world`);
      io.out(`      node bin/synod.js get hello --endpoints=${endpoints}`);
      io.out('Ctrl-C stops the cluster; the next `synod up` reuses its data.');
      await new Promise<void>((done) => {
        const stop = (): void => {
          if (stopping) return;
          stopping = true;
          io.out('stopping...');
          for (const child of children.values()) child.kill('SIGTERM');
          const deadline = setTimeout(() => {
            for (const child of children.values()) child.kill('SIGKILL');
          }, 5_000);
          const wait = setInterval(() => {
            if (children.size > 0) return;
            clearInterval(wait);
            clearTimeout(deadline);
            void (lab?.close() ?? Promise.resolve()).then(() => done());
          }, 50);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
