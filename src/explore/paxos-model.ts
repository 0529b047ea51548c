/**
 * One instance of single-decree Paxos among 3 processes, compact enough to
 * explore every configuration. Each process is an acceptor and a proposer of its
 * own input; quorums are majorities (2 of 3). The roles follow src/core/paxos
 * ("Paxos Made Simple" §2), folded for size:
 *
 * - A process is its own first acceptor: starting ballot b, it promises b to
 *   itself in the same step and sends prepare(b) to the two others, so one
 *   promise from either of them completes phase 1; likewise it accepts its own
 *   phase-2 value at once and needs one accepted from the others to decide.
 * - Only the proposer of a ballot learns the outcome (no separate learners), so
 *   a value can be chosen (a majority accepted it) before anyone has decided:
 *   the configuration turns univalent at that instant, the point of no return.
 * - Acceptors ignore requests below their promise instead of refusing them, and
 *   a proposer that hears nothing starts a higher ballot on a timeout (the null
 *   event), whenever it likes until it has decided. Refusals would only tell it
 *   sooner; leaving them out keeps the space small enough to explore in a browser.
 *   When its own acceptor promises a higher ballot, a process knows its attempt
 *   is preempted.
 * - Ballot b belongs to proposer (b - 1) mod (number of proposers); a new
 *   attempt takes the smallest ballot its proposer owns above everything it has
 *   promised. Ballots stop at `ballotsMax`, which keeps the space finite: two
 *   proposers preempting each other go on only that long here, and for ever in
 *   the real protocol.
 */
import { assert } from '../core/assert.js';
import type { Bit, Protocol, StepResult } from './model.js';

export interface Vote {
  readonly ballot: number;
  readonly value: Bit;
}

export type PaxosProposerPhase =
  | { readonly phase: 'idle' }
  | { readonly phase: 'preparing'; readonly ballot: number }
  | { readonly phase: 'accepting'; readonly ballot: number; readonly value: Bit }
  | { readonly phase: 'preempted'; readonly ballot: number }
  | { readonly phase: 'decided'; readonly value: Bit };

export interface PaxosProcess {
  readonly input: Bit;
  /** Acceptor: the highest ballot promised (0: none). */
  readonly promised: number;
  /** Acceptor: the last vote. */
  readonly accepted: Vote | null;
  readonly proposer: PaxosProposerPhase;
}

export type PaxosModelMessage =
  | { readonly kind: 'prepare'; readonly from: number; readonly to: number; readonly ballot: number }
  | { readonly kind: 'promise'; readonly from: number; readonly to: number; readonly ballot: number; readonly accepted: Vote | null }
  | { readonly kind: 'accept'; readonly from: number; readonly to: number; readonly ballot: number; readonly value: Bit }
  | { readonly kind: 'accepted'; readonly from: number; readonly to: number; readonly ballot: number };

const PROCESS_COUNT = 3;

function activeBallot(p: PaxosProposerPhase): number | null {
  return p.phase === 'preparing' || p.phase === 'accepting' ? p.ballot : null;
}

/** After this process's acceptor raised its promise to `promised`, a lower attempt of its own is over. */
function preemptIfBelow(state: PaxosProcess, promised: number): PaxosProcess {
  const active = activeBallot(state.proposer);
  return active !== null && active < promised ? { ...state, proposer: { phase: 'preempted', ballot: active } } : state;
}

export interface PaxosModelOptions {
  /** The highest ballot number any process may start. */
  readonly ballotsMax?: number;
  /** Which processes propose (the others only accept). Defaults to all three. */
  readonly proposers?: readonly number[];
}

export function paxosModelProtocol(options: PaxosModelOptions = {}): Protocol<PaxosProcess, PaxosModelMessage> {
  const ballotsMax = options.ballotsMax ?? 4;
  const proposers = options.proposers ?? [0, 1, 2];
  assert(Number.isSafeInteger(ballotsMax) && ballotsMax >= 1, 'ballotsMax must be a positive integer');
  assert(proposers.length > 0 && proposers.every((p) => p >= 0 && p < PROCESS_COUNT), 'proposers must be processes 0..2');
  const others = (p: number): number[] => [0, 1, 2].filter((q) => q !== p);
  const owner = (ballot: number): number => proposers[(ballot - 1) % proposers.length] as number;
  const nextBallot = (process: number, state: PaxosProcess): number | null => {
    for (let b = state.promised + 1; b <= ballotsMax; b += 1) if (owner(b) === process) return b;
    return null;
  };
  const voteKey = (v: Vote | null): string => (v === null ? '-' : `${v.ballot}${v.value}`);

  function receive(process: number, state: PaxosProcess, message: PaxosModelMessage | null): StepResult<PaxosProcess, PaxosModelMessage> | null {
    if (message === null) {
      // A timeout: start a new attempt (the first one, or a retry).
      if (!proposers.includes(process) || state.proposer.phase === 'decided') return null;
      const ballot = nextBallot(process, state);
      if (ballot === null) return null;
      const next: PaxosProcess = { ...state, promised: ballot, proposer: { phase: 'preparing', ballot } };
      return { state: next, send: others(process).map((to) => ({ kind: 'prepare', from: process, to, ballot })) };
    }
    const from = message.from;
    switch (message.kind) {
      case 'prepare': {
        if (message.ballot <= state.promised) return { state, send: [] };
        const next = preemptIfBelow({ ...state, promised: message.ballot }, message.ballot);
        return { state: next, send: [{ kind: 'promise', from: process, to: from, ballot: message.ballot, accepted: state.accepted }] };
      }
      case 'accept': {
        if (message.ballot < state.promised) return { state, send: [] };
        const accepted: Vote = { ballot: message.ballot, value: message.value };
        const next = preemptIfBelow({ ...state, promised: message.ballot, accepted }, message.ballot);
        return { state: next, send: [{ kind: 'accepted', from: process, to: from, ballot: message.ballot }] };
      }
      case 'promise': {
        const p = state.proposer;
        if (p.phase !== 'preparing' || p.ballot !== message.ballot) return { state, send: [] };
        assert(state.promised === p.ballot, 'a preparing process has promised exactly its own ballot');
        // Phase 2a: the highest-ballot vote in the quorum (ourselves and the sender), else our input.
        const votes = [state.accepted, message.accepted].filter((v): v is Vote => v !== null);
        votes.sort((a, b) => b.ballot - a.ballot);
        const value = votes[0]?.value ?? state.input;
        const next: PaxosProcess = { ...state, accepted: { ballot: p.ballot, value }, proposer: { phase: 'accepting', ballot: p.ballot, value } };
        return { state: next, send: others(process).map((to) => ({ kind: 'accept', from: process, to, ballot: p.ballot, value })) };
      }
      case 'accepted': {
        const p = state.proposer;
        if (p.phase !== 'accepting' || p.ballot !== message.ballot) return { state, send: [] };
        return { state: { ...state, proposer: { phase: 'decided', value: p.value } }, send: [] };
      }
    }
  }

  return {
    id: 'paxos',
    title: `Single-decree Paxos (3 processes, ballots up to ${ballotsMax})`,
    processCount: PROCESS_COUNT,
    initialState: (_process, input) => ({ input, promised: 0, accepted: null, proposer: { phase: 'idle' } }),
    initialMessages: () => [],
    recipient: (message) => message.to,
    isStale(state, message) {
      switch (message.kind) {
        // An acceptor ignores requests below its promise, and promises only rise.
        case 'prepare':
          return message.ballot <= state.promised;
        case 'accept':
          return message.ballot < state.promised;
        // A proposer never returns to a ballot it has left.
        case 'promise':
          return !(state.proposer.phase === 'preparing' && state.proposer.ballot === message.ballot);
        case 'accepted':
          return !(state.proposer.phase === 'accepting' && state.proposer.ballot === message.ballot);
      }
    },
    receive,
    decision: (state) => (state.proposer.phase === 'decided' ? state.proposer.value : null),
    stateKey(s) {
      const p = s.proposer;
      const phase = p.phase === 'idle' ? 'i'
        : p.phase === 'decided' ? `d${p.value}`
        : p.phase === 'accepting' ? `a${p.ballot}.${p.value}`
        : `${p.phase[0]}${p.ballot}`;
      return `${s.input}${s.promised}${voteKey(s.accepted)}${phase}`;
    },
    messageKey(m) {
      const tail = m.kind === 'promise' ? voteKey(m.accepted) : m.kind === 'accept' ? `${m.value}` : '';
      return `${m.kind.slice(0, 3)}${m.kind === 'accepted' ? 'd' : ''}${m.ballot}:${m.from}>${m.to}${tail}`;
    },
    describeState(s) {
      const p = s.proposer;
      const role = p.phase === 'idle' ? 'idle'
        : p.phase === 'decided' ? `DECIDED ${p.value}`
        : p.phase === 'accepting' ? `accepting b${p.ballot}=${p.value}`
        : `${p.phase} b${p.ballot}`;
      const vote = s.accepted === null ? 'no vote' : `voted ${s.accepted.value} in b${s.accepted.ballot}`;
      return `input ${s.input}; ${role}; promised b${s.promised}, ${vote}`;
    },
    describeMessage(m) {
      switch (m.kind) {
        case 'prepare': return `prepare(b${m.ballot}) p${m.from}→p${m.to}`;
        case 'promise': return `promise(b${m.ballot}${m.accepted === null ? '' : `, had ${m.accepted.value}@b${m.accepted.ballot}`}) p${m.from}→p${m.to}`;
        case 'accept': return `accept(b${m.ballot}, ${m.value}) p${m.from}→p${m.to}`;
        case 'accepted': return `accepted(b${m.ballot}) p${m.from}→p${m.to}`;
      }
    },
  };
}
