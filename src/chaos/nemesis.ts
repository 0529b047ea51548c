/**
 * Carries out a nemesis schedule (schedule.ts) against a live cluster: each
 * fault starts at its planned time (or as soon as the previous one is healed,
 * if that ran late), lasts its planned time, and is healed before the next.
 * Every action is logged with its time, and each kind is counted.
 */
import { prlimitPath, type ChaosCluster } from './cluster.js';
import { HEALTHY_LINK } from './proxy.js';
import { bridgeSides, describePlan, majorityMinority, type FaultKind, type FaultPlan, type ScheduledFault, type Target } from './schedule.js';
import { sleep } from './wait.js';

export interface DiskFullOutcome {
  readonly node: string;
  readonly mode: 'fills-up' | 'already-full';
  readonly limitBytes: number;
  /** How the node ended: its exit, or that it was still running when the fault ended. */
  readonly result: string;
}

export class Nemesis {
  readonly injected = new Map<FaultKind, number>();
  readonly events: string[] = [];
  readonly diskFull: DiskFullOutcome[] = [];
  /** Faults in the schedule that were skipped, with the reason. */
  readonly skipped: string[] = [];

  constructor(
    private readonly cluster: ChaosCluster,
    private readonly schedule: readonly ScheduledFault[],
    private readonly clock: () => number,
    private readonly endMs: number,
    private readonly print: (line: string) => void,
  ) {}

  /** Runs the schedule until its end or `endMs`, whichever is first; every fault is healed on return. */
  async run(): Promise<void> {
    for (const fault of this.schedule) {
      const waitMs = fault.atMs - this.clock();
      if (waitMs > 0) await sleep(waitMs);
      // A fault that would outlast the workload is not started: its heal must come before the final checks.
      if (this.clock() >= this.endMs) {
        this.skipped.push(`${describePlan(fault.plan)} (planned at ${fault.atMs} ms; the run ended first)`);
        continue;
      }
      await this.inject(fault.plan);
    }
  }

  /** Undoes every fault: links pass, paused nodes continue, stopped nodes start. */
  async healAll(): Promise<void> {
    this.cluster.mesh.heal();
    for (const name of this.cluster.names) {
      if (this.cluster.isPaused(name)) {
        this.cluster.resume(name);
        this.log(`resume ${name} (final heal)`);
      }
      if (!this.cluster.isRunning(name)) {
        this.cluster.start(name);
        this.log(`start ${name} (final heal)`);
      }
    }
  }

  private log(text: string): void {
    const line = `[${(this.clock() / 1000).toFixed(1).padStart(6)} s] ${text}`;
    this.events.push(line);
    this.print(line);
  }

  private count(kind: FaultKind): void {
    this.injected.set(kind, (this.injected.get(kind) ?? 0) + 1);
  }

  private async resolve(target: Target): Promise<string> {
    const names = this.cluster.names;
    if (target.role === 'node') return names[target.index % names.length] as string;
    const leader = await this.cluster.leader();
    // No agreed leader (an election is under way): the first live node stands in.
    return leader ?? this.cluster.live()[0] ?? (names[0] as string);
  }

  private async inject(plan: FaultPlan): Promise<void> {
    const { cluster } = this;
    const { mesh } = cluster;
    const names = cluster.names;
    const at = (indices: readonly number[]): string[] => indices.map((i) => names[i] as string);
    switch (plan.kind) {
      case 'kill': {
        const name = await this.resolve(plan.target);
        this.log(`kill -9 ${name}${plan.target.role === 'leader' ? ' (leader)' : ''}; down for ${plan.downMs} ms`);
        this.count(plan.kind);
        await cluster.kill(name);
        await sleep(plan.downMs);
        cluster.start(name);
        this.log(`restart ${name}`);
        return;
      }
      case 'pause': {
        const name = await this.resolve(plan.target);
        this.log(`SIGSTOP ${name}${plan.target.role === 'leader' ? ' (leader)' : ''} for ${plan.pausedMs} ms`);
        this.count(plan.kind);
        cluster.pause(name);
        await sleep(plan.pausedMs);
        cluster.resume(name);
        this.log(`SIGCONT ${name}`);
        return;
      }
      case 'partition-majority': {
        const [majority, minority] = majorityMinority(plan.order).map(at) as [string[], string[]];
        this.log(`partition ${majority.join(',')} | ${minority.join(',')} (${plan.style}) for ${plan.durationMs} ms`);
        this.count(plan.kind);
        mesh.partition([majority, minority], plan.style);
        await this.holdThenHeal(plan.durationMs);
        return;
      }
      case 'partition-leader': {
        const leader = await this.resolve({ role: 'leader' });
        const others = names.filter((n) => n !== leader);
        this.log(`isolate leader ${leader} from ${others.join(',')} (${plan.style}) for ${plan.durationMs} ms`);
        this.count(plan.kind);
        mesh.partition([[leader], others], plan.style);
        await this.holdThenHeal(plan.durationMs);
        return;
      }
      case 'partition-one-way': {
        const name = await this.resolve(plan.target);
        const others = names.filter((n) => n !== name);
        this.log(`${name} cannot ${plan.direction === 'outbound' ? 'send to' : 'hear from'} ${others.join(',')} (${plan.style}) for ${plan.durationMs} ms`);
        this.count(plan.kind);
        if (plan.direction === 'outbound') mesh.cut(name, others, plan.style);
        else for (const other of others) mesh.cut(other, [name], plan.style);
        await this.holdThenHeal(plan.durationMs);
        return;
      }
      case 'partition-bridge': {
        const [bridge, left, right] = bridgeSides(plan.order);
        const leftNames = at(left);
        const rightNames = at(right);
        this.log(`bridge: ${leftNames.join(',')} | ${rightNames.join(',')} cut, ${names[bridge]} sees both (${plan.style}) for ${plan.durationMs} ms`);
        this.count(plan.kind);
        mesh.partition([leftNames, rightNames], plan.style);
        await this.holdThenHeal(plan.durationMs);
        return;
      }
      case 'flapping': {
        const [majority, minority] = majorityMinority(plan.order).map(at) as [string[], string[]];
        this.log(`flapping partition ${majority.join(',')} | ${minority.join(',')} every ${plan.periodMs} ms (${plan.style}) for ${plan.durationMs} ms`);
        this.count(plan.kind);
        const endMs = this.clock() + plan.durationMs;
        let cut = false;
        // Bounded by endMs: each iteration sleeps periodMs (>= 100 ms).
        while (this.clock() < endMs) {
          cut = !cut;
          if (cut) mesh.partition([majority, minority], plan.style);
          else mesh.heal();
          await sleep(Math.min(plan.periodMs, Math.max(0, endMs - this.clock())));
        }
        mesh.heal();
        this.log('heal flapping partition');
        return;
      }
      case 'slow-network': {
        this.log(`slow network: +${plan.delayMs}..${plan.delayMs + plan.jitterMs} ms per peer message for ${plan.durationMs} ms`);
        this.count(plan.kind);
        mesh.setAll({ ...HEALTHY_LINK, delayMs: plan.delayMs, jitterMs: plan.jitterMs });
        await this.holdThenHeal(plan.durationMs);
        return;
      }
      case 'lossy-network': {
        this.log(`lossy network: ${Math.round(plan.dropProbability * 100)}% of peer messages lost for ${plan.durationMs} ms`);
        this.count(plan.kind);
        mesh.setAll({ ...HEALTHY_LINK, dropProbability: plan.dropProbability });
        await this.holdThenHeal(plan.durationMs);
        return;
      }
      case 'disk-full':
        await this.diskFullFault(plan);
        return;
      default: {
        const never: never = plan;
        throw new Error(`unknown fault ${JSON.stringify(never)}`);
      }
    }
  }

  private async holdThenHeal(durationMs: number): Promise<void> {
    await sleep(durationMs);
    this.cluster.mesh.heal();
    this.log('heal network');
  }

  /**
   * Restarts the node with a limit on how large it may grow any file (see the
   * plan's modes). Its appends fail (EFBIG); it must stop rather than go on
   * with an unknown disk state. Afterwards it restarts normally.
   */
  private async diskFullFault(plan: Extract<FaultPlan, { kind: 'disk-full' }>): Promise<void> {
    const { cluster } = this;
    if (prlimitPath() === null) {
      this.skipped.push('disk-full: prlimit is not installed, so file sizes cannot be limited');
      return;
    }
    const name = await this.resolve(plan.target);
    await cluster.stop(name, 3_000);
    const limitBytes = plan.mode === 'fills-up' ? cluster.newestSegmentBytes(name) + plan.headroomBytes : plan.headroomBytes;
    this.log(`disk ${plan.mode === 'fills-up' ? 'filling up' : 'already full'}: restart ${name} with files limited to ${limitBytes} bytes for ${plan.durationMs} ms`);
    this.count(plan.kind);
    cluster.start(name, limitBytes);
    const exited = await cluster.waitForExit(name, plan.durationMs);
    let result: string;
    if (exited) {
      const exit = cluster.exits[cluster.exits.length - 1];
      const why = exit?.tail.split('\n').filter((l) => l.trim() !== '').slice(-1)[0] ?? '';
      result = `stopped (${exit?.signal ?? `code ${exit?.code}`}): ${why.slice(0, 300)}`;
    } else {
      result = 'still running when the fault ended (its writes had not reached the limit, or it kept going)';
      await cluster.stop(name, 3_000);
    }
    this.diskFull.push({ node: name, mode: plan.mode, limitBytes, result });
    this.log(`disk full on ${name}: ${result.slice(0, 160)}`);
    cluster.start(name);
    this.log(`restart ${name} without the limit`);
  }
}
