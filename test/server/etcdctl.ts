// Debian's etcdctl as a test client: one-shot commands and long-running ones
// (watch, lock, elect) whose output the test waits on. Every wait is bounded;
// every process is killed when its test ends.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

/** The tests that need etcdctl skip with this reason when it is missing. */
export const ETCDCTL_MISSING: string | false =
  spawnSync('which', ['etcdctl'], { stdio: 'ignore' }).status === 0 ? false : 'etcdctl is not installed (`which etcdctl` failed); CI installs it with the etcd-client package';

const GLOBAL_FLAGS = ['--dial-timeout=2s', '--command-timeout=5s'];

function args(endpoint: string, command: readonly string[]): string[] {
  return [`--endpoints=${endpoint}`, ...GLOBAL_FLAGS, ...command];
}

const ENV = { ...process.env, ETCDCTL_API: '3' };

export interface EtcdctlResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs one etcdctl command to completion (killed after `timeoutMs`). */
export function etcdctl(endpoint: string, command: readonly string[], timeoutMs = 10_000): Promise<EtcdctlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('etcdctl', args(endpoint, command), { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`etcdctl ${command.join(' ')} did not finish in ${timeoutMs} ms; stdout ${JSON.stringify(stdout)} stderr ${JSON.stringify(stderr)}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A long-running etcdctl whose output lines are timestamped as they arrive. */
export class EtcdctlProcess {
  readonly lines: { at: number; text: string }[] = [];
  stdout = '';
  stderr = '';
  private readonly exit: Promise<number | null>;
  private readonly listeners = new Set<() => void>();

  private constructor(private readonly child: ChildProcess) {
    let partial = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString();
      partial += chunk.toString();
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      for (const text of parts) this.lines.push({ at: performance.now(), text });
      for (const listener of [...this.listeners]) listener();
    });
    child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exit = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  static start(endpoint: string, command: readonly string[]): EtcdctlProcess {
    return new EtcdctlProcess(spawn('etcdctl', args(endpoint, command), { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  /** Resolves once stdout holds `count` lines; rejects after `timeoutMs`. */
  waitForLines(count: number, timeoutMs = 10_000): Promise<void> {
    return this.waitFor(`${count} lines`, () => this.lines.length >= count, timeoutMs);
  }

  waitForText(text: string, timeoutMs = 10_000): Promise<void> {
    return this.waitFor(JSON.stringify(text), () => this.stdout.includes(text), timeoutMs);
  }

  /** When the line `text` was printed (performance.now()), or undefined. */
  printedAt(text: string): number | undefined {
    return this.lines.find((line) => line.text === text)?.at;
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  async exited(timeoutMs = 10_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`etcdctl did not exit in ${timeoutMs} ms; stdout ${JSON.stringify(this.stdout)} stderr ${JSON.stringify(this.stderr)}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exit, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  private waitFor(what: string, done: () => boolean, timeoutMs: number): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!done()) return;
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`timed out waiting for ${what} from etcdctl; stdout ${JSON.stringify(this.stdout)} stderr ${JSON.stringify(this.stderr)}`));
      }, timeoutMs);
      this.listeners.add(check);
    });
  }
}
