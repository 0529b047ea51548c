/**
 * FloodSet: consensus in a synchronous system with at most f crash failures
 * (Lynch, "Distributed Algorithms", §6.2). Each process keeps W, the set of values
 * it knows, initially its own input. In every round each live process sends all
 * of W to every other process and merges what it receives. After round f+1 each
 * process that has not crashed decides min(W).
 *
 * We flood all of W, not only the values learned last round. Both are correct;
 * sending W keeps the argument one line long: among f+1 rounds with at most f
 * crashes, some round has no crash, every live process hears every other in it,
 * so all W are equal after it, and no later round can add a value one of them
 * lacks (any value later received was already in the sender's W, equal to all).
 * With only f rounds the adversary can crash one process per round and pass a
 * value along a chain that reaches one correct process and not another.
 *
 * A process that crashes in round r sends its round-r message to an arbitrary
 * subset of the others, then nothing: it neither receives in round r nor decides.
 *
 * The model is pure: a run is a function of the inputs and the crash schedule.
 * `startFlooding` and `stepFlooding` go one round at a time for the lab;
 * `runFlooding` does a whole execution.
 */
import { assert } from '../assert.js';

/** A process's crash: the round it crashes in and who receives its last message. */
export interface FloodingCrash {
  /** Index of the crashing process, 0-based. */
  readonly process: number;
  /** 1-based round in which it crashes. */
  readonly round: number;
  /** Indices of the processes its round-`round` message reaches. */
  readonly receivers: readonly number[];
}

export interface FloodingConfig {
  /** One input value per process; process i has `inputs[i]`. */
  readonly inputs: readonly number[];
  /** The most crashes the algorithm is meant to tolerate. */
  readonly f: number;
  /** Rounds to run before deciding; f+1 is correct, fewer is not. Defaults to f+1. */
  readonly rounds?: number;
  readonly crashes: readonly FloodingCrash[];
}

export type FloodingProcess =
  | { readonly status: 'running'; readonly known: readonly number[] }
  | { readonly status: 'crashed'; readonly crashRound: number; readonly known: readonly number[] }
  | { readonly status: 'decided'; readonly known: readonly number[]; readonly decision: number };

/** One message of a round: `values` is the sender's whole W, ascending. */
export interface FloodingMessage {
  readonly from: number;
  readonly to: number;
  readonly values: readonly number[];
}

export interface FloodingState {
  readonly config: FloodingConfig;
  /** The number of rounds to run, resolved from the config. */
  readonly roundCount: number;
  /** Rounds completed so far; 0 before the first. */
  readonly roundsCompleted: number;
  /** Per process, in index order. `known` lists are ascending without duplicates. */
  readonly processes: readonly FloodingProcess[];
}

export interface FloodingRoundRecord {
  /** 1-based. */
  readonly round: number;
  readonly messages: readonly FloodingMessage[];
  /** The processes after the round's merges, crashes and (in the last round) decisions. */
  readonly processes: readonly FloodingProcess[];
}

export interface FloodingRun {
  /** Per process: its decision, or null if it crashed. */
  readonly decisions: readonly (number | null)[];
  readonly rounds: readonly FloodingRoundRecord[];
  readonly final: FloodingState;
}

/**
 * Checks a config that comes from outside (the lab, a user). Returns an error
 * message, or null if the config is valid. The other functions assert validity.
 */
export function validateFloodingConfig(config: FloodingConfig): string | null {
  const n = config.inputs.length;
  if (n === 0) return 'there must be at least one process';
  if (!config.inputs.every((v) => Number.isFinite(v))) return 'every input must be a finite number';
  if (!Number.isSafeInteger(config.f) || config.f < 0) return `f must be a non-negative integer, got ${config.f}`;
  const rounds = config.rounds ?? config.f + 1;
  if (!Number.isSafeInteger(rounds) || rounds < 1) return `rounds must be a positive integer, got ${rounds}`;
  if (config.crashes.length > config.f) return `${config.crashes.length} crashes exceed f = ${config.f}`;
  const seen = new Set<number>();
  for (const crash of config.crashes) {
    if (!isIndex(crash.process, n)) return `no process ${crash.process}`;
    if (seen.has(crash.process)) return `process ${crash.process} crashes twice`;
    seen.add(crash.process);
    if (!Number.isSafeInteger(crash.round) || crash.round < 1 || crash.round > rounds) {
      return `process ${crash.process} crashes in round ${crash.round}, outside 1..${rounds}`;
    }
    for (const receiver of crash.receivers) {
      if (!isIndex(receiver, n) || receiver === crash.process) return `process ${crash.process} cannot send its last message to ${receiver}`;
    }
  }
  return null;
}

export function startFlooding(config: FloodingConfig): FloodingState {
  const error = validateFloodingConfig(config);
  assert(error === null, () => `invalid flooding config: ${error}`);
  return {
    config,
    roundCount: config.rounds ?? config.f + 1,
    roundsCompleted: 0,
    processes: config.inputs.map((input) => ({ status: 'running', known: [input] })),
  };
}

export function isFloodingFinished(state: FloodingState): boolean {
  return state.roundsCompleted === state.roundCount;
}

/** Runs the next round: sends, crashes, merges, and decides after the last round. */
export function stepFlooding(state: FloodingState): { readonly state: FloodingState; readonly record: FloodingRoundRecord } {
  assert(!isFloodingFinished(state), 'the flooding run is already over');
  const round = state.roundsCompleted + 1;
  const n = state.processes.length;
  const crashingNow = new Map<number, FloodingCrash>();
  for (const crash of state.config.crashes) if (crash.round === round) crashingNow.set(crash.process, crash);

  const messages: FloodingMessage[] = [];
  state.processes.forEach((process, from) => {
    if (process.status !== 'running') return;
    const crash = crashingNow.get(from);
    const receivers = crash?.receivers ?? range(n).filter((to) => to !== from);
    for (const to of receivers) messages.push({ from, to, values: process.known });
  });

  const isLastRound = round === state.roundCount;
  const processes = state.processes.map((process, index): FloodingProcess => {
    if (process.status !== 'running') return process;
    if (crashingNow.has(index)) return { status: 'crashed', crashRound: round, known: process.known };
    const known = new Set(process.known);
    for (const message of messages) if (message.to === index) for (const value of message.values) known.add(value);
    const sorted = [...known].sort((a, b) => a - b);
    if (!isLastRound) return { status: 'running', known: sorted };
    const decision = sorted[0];
    assert(decision !== undefined, 'a process always knows at least its own input');
    return { status: 'decided', known: sorted, decision };
  });

  const next: FloodingState = { ...state, roundsCompleted: round, processes };
  return { state: next, record: { round, messages, processes } };
}

export function runFlooding(config: FloodingConfig): FloodingRun {
  let state = startFlooding(config);
  const rounds: FloodingRoundRecord[] = [];
  while (!isFloodingFinished(state)) {
    const step = stepFlooding(state);
    state = step.state;
    rounds.push(step.record);
  }
  const decisions = state.processes.map((process) => {
    assert(process.status !== 'running', 'after the last round every process has decided or crashed');
    return process.status === 'decided' ? process.decision : null;
  });
  return { decisions, rounds, final: state };
}

function isIndex(value: number, n: number): boolean {
  return Number.isSafeInteger(value) && value >= 0 && value < n;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
