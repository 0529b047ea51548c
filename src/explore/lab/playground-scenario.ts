/**
 * A Multi-Paxos playground scenario: the seed, the cluster's shape and every
 * action the user took. It is all a link carries and all a replay needs, so it
 * is validated field by field when it comes from outside (a URL, a file).
 */
import type { KvInput } from '../../check/history.js';
import { isMutantName, type MutantName } from '../../sim/mutants.js';

export const PRESET_NAMES = ['calm', 'lossy', 'flaky-leader', 'partition-storm'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export const CLIENT_NAMES = ['c1', 'c2'] as const;

export type PlaygroundAction =
  /** Deliver, drop, duplicate in-flight message `id`, or move it behind everything in flight. */
  | { readonly t: 'deliver'; readonly id: number }
  | { readonly t: 'drop'; readonly id: number }
  | { readonly t: 'duplicate'; readonly id: number }
  | { readonly t: 'delay'; readonly id: number }
  /** The network moves its next message (a message on a cut link is lost). */
  | { readonly t: 'step' }
  /** Steps until nothing is in flight (bounded). */
  | { readonly t: 'settle' }
  /** Every live replica's clock advances `count` ticks. */
  | { readonly t: 'tick'; readonly count: number }
  | { readonly t: 'crash'; readonly node: string }
  | { readonly t: 'restart'; readonly node: string }
  | { readonly t: 'campaign'; readonly node: string }
  | { readonly t: 'compact'; readonly node: string }
  /** Symmetric partition: links between different groups are cut both ways. */
  | { readonly t: 'partition'; readonly groups: readonly (readonly string[])[] }
  /** One-way cut: messages from `from` to `to` are lost. */
  | { readonly t: 'cut'; readonly from: string; readonly to: string }
  | { readonly t: 'heal' }
  /** Client `client` asks replica `node` to run `op` (abandoning any operation still pending). */
  | { readonly t: 'op'; readonly client: string; readonly node: string; readonly op: KvInput }
  /** Client `client` sends its pending operation again, to replica `node`. */
  | { readonly t: 'retry'; readonly client: string; readonly node: string }
  /** `steps` steps of a fault preset driven by the session's seeded PRNG. */
  | { readonly t: 'preset'; readonly name: PresetName; readonly steps: number };

export interface PlaygroundScenario {
  readonly seed: number;
  /** Replicas n1..nN, 3 to 7. */
  readonly replicas: number;
  /** A planted bug (src/sim/mutants.ts) in every replica, to watch the checks catch it; null for the real protocol. */
  readonly bug: MutantName | null;
  readonly actions: readonly PlaygroundAction[];
}

export const REPLICAS_MIN = 3;
export const REPLICAS_MAX = 7;

export function replicaNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `n${i + 1}`);
}

export function defaultPlaygroundScenario(seed = 1, replicas = 3): PlaygroundScenario {
  return {
    seed,
    replicas,
    bug: null,
    actions: [
      { t: 'campaign', node: 'n1' },
      { t: 'settle' },
      { t: 'op', client: 'c1', node: 'n1', op: { kind: 'put', key: 'x', value: '1' } },
    ],
  };
}

export type ParseResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown, max: number): v is number => Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= max;

function parseKvInput(v: unknown): KvInput | null {
  if (!isRecord(v) || typeof v.key !== 'string' || v.key.length === 0 || v.key.length > 64) return null;
  switch (v.kind) {
    case 'get':
      return { kind: 'get', key: v.key };
    case 'put':
      return typeof v.value === 'string' && v.value.length <= 64 ? { kind: 'put', key: v.key, value: v.value } : null;
    case 'cas':
      if (typeof v.value !== 'string' || v.value.length > 64) return null;
      if (v.expected !== null && (typeof v.expected !== 'string' || v.expected.length > 64)) return null;
      return { kind: 'cas', key: v.key, expected: v.expected, value: v.value };
    default:
      return null;
  }
}

function parseAction(v: unknown, nodes: ReadonlySet<string>): PlaygroundAction | string {
  if (!isRecord(v)) return 'an action must be an object';
  const node = (field: string): string | null => (typeof v[field] === 'string' && nodes.has(v[field]) ? v[field] : null);
  const id = isCount(v.id, Number.MAX_SAFE_INTEGER) ? v.id : null;
  switch (v.t) {
    case 'deliver':
    case 'drop':
    case 'duplicate':
    case 'delay':
      return id === null ? `${v.t} needs a message id` : { t: v.t, id };
    case 'step':
    case 'settle':
    case 'heal':
      return { t: v.t };
    case 'tick':
      return isCount(v.count, 1000) && v.count > 0 ? { t: 'tick', count: v.count } : 'tick needs a count of 1..1000';
    case 'crash':
    case 'restart':
    case 'campaign':
    case 'compact': {
      const n = node('node');
      return n === null ? `${v.t} needs a replica name` : { t: v.t, node: n };
    }
    case 'partition': {
      const groups = v.groups;
      if (!Array.isArray(groups) || !groups.every((g) => Array.isArray(g) && g.every((n) => typeof n === 'string' && nodes.has(n)))) {
        return 'partition needs groups of replica names';
      }
      return { t: 'partition', groups: groups as string[][] };
    }
    case 'cut': {
      const from = node('from');
      const to = node('to');
      return from === null || to === null || from === to ? 'cut needs two different replicas' : { t: 'cut', from, to };
    }
    case 'op':
    case 'retry': {
      const n = node('node');
      if (n === null || typeof v.client !== 'string' || !(CLIENT_NAMES as readonly string[]).includes(v.client)) {
        return `${v.t} needs a client (${CLIENT_NAMES.join(', ')}) and a replica`;
      }
      if (v.t === 'retry') return { t: 'retry', client: v.client, node: n };
      const op = parseKvInput(v.op);
      return op === null ? 'op needs a get, put or cas on a key' : { t: 'op', client: v.client, node: n, op };
    }
    case 'preset':
      if (typeof v.name !== 'string' || !(PRESET_NAMES as readonly string[]).includes(v.name)) return `unknown preset ${String(v.name)}`;
      return isCount(v.steps, 10_000) && v.steps > 0 ? { t: 'preset', name: v.name as PresetName, steps: v.steps } : 'preset needs 1..10000 steps';
    default:
      return `unknown action ${JSON.stringify(v.t)}`;
  }
}

/** Checks a scenario that came from outside into a typed value, or says what is wrong with it. */
export function parsePlaygroundScenario(v: unknown): ParseResult<PlaygroundScenario> {
  if (!isRecord(v)) return { ok: false, error: 'a scenario must be an object' };
  if (!isCount(v.seed, 0xffff_ffff)) return { ok: false, error: 'seed must be an integer in 0..2^32-1' };
  if (!isCount(v.replicas, REPLICAS_MAX) || v.replicas < REPLICAS_MIN) {
    return { ok: false, error: `replicas must be ${REPLICAS_MIN}..${REPLICAS_MAX}` };
  }
  const bug = v.bug ?? null;
  if (bug !== null && (typeof bug !== 'string' || !isMutantName(bug))) return { ok: false, error: `unknown planted bug ${String(bug)}` };
  if (!Array.isArray(v.actions) || v.actions.length > 5000) return { ok: false, error: 'actions must be a list of at most 5000' };
  const nodes = new Set(replicaNames(v.replicas));
  const actions: PlaygroundAction[] = [];
  for (const [index, raw] of (v.actions as unknown[]).entries()) {
    const action = parseAction(raw, nodes);
    if (typeof action === 'string') return { ok: false, error: `action ${index}: ${action}` };
    actions.push(action);
  }
  return { ok: true, value: { seed: v.seed, replicas: v.replicas, bug, actions } };
}

export function describeAction(a: PlaygroundAction): string {
  switch (a.t) {
    case 'deliver': case 'drop': case 'duplicate': case 'delay': return `${a.t} message #${a.id}`;
    case 'step': return 'network step';
    case 'settle': return 'deliver everything';
    case 'tick': return `${a.count} tick${a.count === 1 ? '' : 's'}`;
    case 'crash': case 'restart': case 'campaign': case 'compact': return `${a.t} ${a.node}`;
    case 'partition': return `partition ${a.groups.map((g) => `{${g.join(',')}}`).join(' | ')}`;
    case 'cut': return `cut ${a.from} → ${a.to}`;
    case 'heal': return 'heal the network';
    case 'op': return `${a.client}: ${describeKvInput(a.op)} via ${a.node}`;
    case 'retry': return `${a.client}: retry via ${a.node}`;
    case 'preset': return `${a.steps} steps of "${a.name}"`;
  }
}

export function describeKvInput(op: KvInput): string {
  switch (op.kind) {
    case 'get': return `get ${op.key}`;
    case 'put': return `put ${op.key}=${op.value}`;
    case 'cas': return `cas ${op.key}: ${op.expected ?? '∅'}→${op.value}`;
  }
}
