/**
 * Majority vote in rounds: the voting idea of "Zero to Consensus" made safe,
 * with retries, for 3 processes of which at most f = 1 may crash.
 *
 * One-shot voting gets stuck: with one vote for 0, one for 1 and the third
 * voter silent, nobody can tell whether the silent one voted (and for what) or
 * crashed first. So a process never waits for all three: in every round it
 * waits for n - f = 2 messages (its own and the first to arrive) and then moves
 * on. A round has two exchanges (this is Ben-Or's protocol without the coin):
 *
 *   vote:   send my preference; with two votes in hand, if they agree on v,
 *           report v, else report "?" (no majority seen).
 *   report: send my report; with two reports in hand, if both say v, decide v;
 *           if one says v, prefer v; if neither, fall back to a fixed rule.
 *
 * Safety: two agreeing votes are a majority of all three, so no two processes
 * report different values in one round; a decision on v needs two reports of v,
 * and any two reports a process holds include one of them, so every process
 * leaves the round preferring v and the next round can only decide v.
 *
 * Liveness is where FLP bites: the fallback rule is deterministic (Ben-Or flips
 * a coin there), and an adversary that chooses which message arrives first can
 * keep the preferences split round after round. Rounds are bounded so the
 * configuration space is finite; a process that finishes the last round halts.
 */
import { assert } from '../core/assert.js';
import type { Bit, Protocol, StepResult } from './model.js';

export type Report = Bit | null;

export interface VoterState {
  /** 1-based; `roundsMax + 1` once the process has halted. */
  readonly round: number;
  readonly exchange: 'vote' | 'report';
  readonly preference: Bit;
  /** This process's own report in the current round (meaningful in the report exchange). */
  readonly report: Report;
  readonly decision: Bit | null;
}

export type VoterMessage =
  | { readonly kind: 'vote'; readonly from: number; readonly to: number; readonly round: number; readonly value: Bit }
  | { readonly kind: 'report'; readonly from: number; readonly to: number; readonly round: number; readonly value: Report };

export interface MajorityVoteOptions {
  readonly roundsMax?: number;
}

const PROCESS_COUNT = 3;

/** The deterministic stand-in for Ben-Or's coin: alternate by process and round. */
export function fallbackPreference(process: number, round: number): Bit {
  return ((process + round) % 2) as Bit;
}

export function majorityVoteProtocol(options: MajorityVoteOptions = {}): Protocol<VoterState, VoterMessage> {
  const roundsMax = options.roundsMax ?? 3;
  assert(Number.isSafeInteger(roundsMax) && roundsMax >= 1, 'roundsMax must be a positive integer');
  const others = (p: number): number[] => [0, 1, 2].filter((q) => q !== p);
  const broadcast = (from: number, make: (to: number) => VoterMessage): VoterMessage[] => others(from).map(make);
  const order = (exchange: VoterState['exchange']): number => (exchange === 'vote' ? 0 : 1);
  /** Compares (round, exchange) positions. */
  const position = (round: number, exchange: VoterState['exchange']): number => round * 2 + order(exchange);

  return {
    id: 'majority',
    title: 'Majority vote in rounds (3 processes, f = 1)',
    processCount: PROCESS_COUNT,
    initialState: (_process, input) => ({ round: 1, exchange: 'vote', preference: input, report: null, decision: null }),
    // Every process's first step, sending its round-1 vote, has already happened.
    initialMessages: (inputs) =>
      inputs.flatMap((value, from) => broadcast(from, (to) => ({ kind: 'vote', from, to, round: 1, value }))),
    recipient: (message) => message.to,
    isStale: (state, message) => position(message.round, message.kind) < position(state.round, state.exchange),
    receive(process, state, message): StepResult<VoterState, VoterMessage> | null {
      if (message === null || state.round > roundsMax) return null;
      if (position(message.round, message.kind) !== position(state.round, state.exchange)) return null;
      if (message.kind === 'vote') {
        const report: Report = message.value === state.preference ? state.preference : null;
        const next: VoterState = { ...state, exchange: 'report', report };
        return { state: next, send: broadcast(process, (to) => ({ kind: 'report', from: process, to, round: state.round, value: report })) };
      }
      const reports = [state.report, message.value].filter((r): r is Bit => r !== null);
      assert(reports.length < 2 || reports[0] === reports[1], 'two reports of different values in one round');
      const [first] = reports;
      const decision = state.decision ?? (reports.length === 2 ? (first as Bit) : null);
      const preference = first ?? fallbackPreference(process, state.round);
      const round = state.round + 1;
      const next: VoterState = { round, exchange: 'vote', preference, report: null, decision };
      if (round > roundsMax) return { state: next, send: [] };
      return { state: next, send: broadcast(process, (to) => ({ kind: 'vote', from: process, to, round, value: preference })) };
    },
    decision: (state) => state.decision,
    stateKey: (s) => `${s.round}${s.exchange[0]}${s.preference}${s.report ?? '?'}${s.decision ?? '-'}`,
    messageKey: (m) => `${m.kind[0]}${m.round}:${m.from}>${m.to}=${m.value ?? '?'}`,
    describeState: (s) =>
      s.round > roundsMax
        ? `halted, prefers ${s.preference}`
        : `round ${s.round} ${s.exchange}, prefers ${s.preference}${s.exchange === 'report' ? `, reports ${s.report ?? '?'}` : ''}`,
    describeMessage: (m) => `${m.kind}(r${m.round}, ${m.value ?? '?'}) p${m.from}→p${m.to}`,
  };
}
