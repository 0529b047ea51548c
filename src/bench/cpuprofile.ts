/**
 * Summarizes a V8 .cpuprofile (as `node --cpu-prof` writes it): self time per
 * function, self time per module (file, or package under node_modules), and
 * inclusive time per function, so a profile of a node under load can be read
 * in a terminal and pasted into docs/PERFORMANCE.md.
 *
 * `node dist/src/bench/cpuprofile.js FILE.cpuprofile [top]`
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

export interface ProfileEntry {
  readonly name: string;
  readonly ms: number;
  readonly percent: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  /** Time not idle: what the process really spent on the CPU (roughly). */
  readonly busyMs: number;
  readonly selfByFunction: readonly ProfileEntry[];
  readonly selfByModule: readonly ProfileEntry[];
  readonly inclusiveByFunction: readonly ProfileEntry[];
}

/** "dist/src/storage/wal.js" for Synod's files, "@grpc/grpc-js" for packages, "node:internal/..." kept. */
export function moduleOf(url: string): string {
  if (url === '') return '(native / vm)';
  const packageMatch = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (packageMatch !== null) return packageMatch[1] as string;
  const distMatch = /\/dist\/(.*)$/.exec(url);
  if (distMatch !== null) return distMatch[1] as string;
  return url.replace(/^file:\/\//, '');
}

function frameName(frame: CallFrame): string {
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  if (frame.url === '') return name;
  return `${name} ${moduleOf(frame.url)}:${frame.lineNumber + 1}`;
}

function top(map: Map<string, number>, totalMs: number, count: number): ProfileEntry[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, ms]) => ({ name, ms, percent: totalMs === 0 ? 0 : (100 * ms) / totalMs }));
}

export function summarizeProfile(profile: CpuProfile, count = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfMicros = new Map<number, number>();
  // timeDeltas[i] is the time between sample i-1 and sample i; charge it to sample i.
  for (let i = 0; i < profile.samples.length; i += 1) {
    const id = profile.samples[i] as number;
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + Math.max(0, profile.timeDeltas[i] ?? 0));
  }
  const totalMs = [...selfMicros.values()].reduce((a, b) => a + b, 0) / 1000;
  const selfByFunction = new Map<string, number>();
  const selfByModule = new Map<string, number>();
  let idleMs = 0;
  for (const [id, micros] of selfMicros) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const ms = micros / 1000;
    if (node.callFrame.functionName === '(idle)') {
      idleMs += ms;
      continue;
    }
    const name = frameName(node.callFrame);
    selfByFunction.set(name, (selfByFunction.get(name) ?? 0) + ms);
    const module = node.callFrame.url === '' ? node.callFrame.functionName || '(native / vm)' : moduleOf(node.callFrame.url);
    selfByModule.set(module, (selfByModule.get(module) ?? 0) + ms);
  }
  // Inclusive time: a function's self time plus its callees', counted once per
  // stack even when the function recurses.
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const inclusive = new Map<string, number>();
  for (const [id, micros] of selfMicros) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at);
      if (node === undefined) break;
      const name = frameName(node.callFrame);
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + micros / 1000);
    }
  }
  for (const synthetic of ['(root)', '(idle)', '(program)', '(garbage collector)']) inclusive.delete(synthetic);
  const busyMs = totalMs - idleMs;
  return {
    totalMs,
    busyMs,
    selfByFunction: top(selfByFunction, busyMs, count),
    selfByModule: top(selfByModule, busyMs, count),
    inclusiveByFunction: top(inclusive, busyMs, count),
  };
}

export function formatProfileSummary(summary: ProfileSummary): string[] {
  const lines = [`profile: ${(summary.totalMs / 1000).toFixed(1)} s sampled, ${(summary.busyMs / 1000).toFixed(1)} s not idle; percentages are of the non-idle time`];
  const section = (title: string, entries: readonly ProfileEntry[]): void => {
    lines.push(title);
    for (const e of entries) lines.push(`  ${e.percent.toFixed(1).padStart(5)}%  ${e.ms.toFixed(0).padStart(7)} ms  ${e.name}`);
  };
  section('self time by function:', summary.selfByFunction);
  section('self time by module:', summary.selfByModule);
  section('inclusive time by function:', summary.inclusiveByFunction);
  return lines;
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  const file = process.argv[2];
  if (file === undefined) {
    console.error('usage: node dist/src/bench/cpuprofile.js FILE.cpuprofile [top]');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  for (const line of formatProfileSummary(summarizeProfile(profile, Number.parseInt(process.argv[3] ?? '25', 10)))) console.log(line);
}
