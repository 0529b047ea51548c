/**
 * The FLP explorer's session: which protocol (and how large), the inputs of the
 * initial configuration and the events applied since. Like every lab session it
 * replays exactly and fits in a link.
 */
import { majorityVoteProtocol } from '../majority-vote.js';
import { applyEvent, initialConfiguration, type Bit, type Configuration, type FlpEvent, type Protocol } from '../model.js';
import { paxosModelProtocol } from '../paxos-model.js';
import type { ParseResult } from './playground-scenario.js';

export type FlpProtocolId = 'majority' | 'paxos';

export interface FlpScenario {
  readonly protocol: FlpProtocolId;
  /** Rounds for the majority vote, ballots for Paxos. */
  readonly size: number;
  readonly inputs: readonly Bit[];
  readonly events: readonly FlpEvent[];
}

/** The sizes offered: larger spaces take too long to explore in a page. */
export const FLP_SIZES: Readonly<Record<FlpProtocolId, readonly number[]>> = {
  majority: [1, 2, 3, 4, 5, 6, 8],
  paxos: [2, 3, 4, 5],
};

export const FLP_DEFAULT_SIZE: Readonly<Record<FlpProtocolId, number>> = { majority: 6, paxos: 4 };

/** Any protocol, with its state and message types erased for the user interface. */
export type AnyProtocol = Protocol<unknown, unknown>;

export function flpProtocol(id: FlpProtocolId, size: number): AnyProtocol {
  const protocol = id === 'majority' ? majorityVoteProtocol({ roundsMax: size }) : paxosModelProtocol({ ballotsMax: size });
  return protocol as unknown as AnyProtocol;
}

/** The configurations of the session's run: the initial one, then one per event. */
export function replayFlp(protocol: AnyProtocol, scenario: FlpScenario): Configuration<unknown, unknown>[] {
  const path = [initialConfiguration(protocol, scenario.inputs)];
  for (const event of scenario.events) path.push(applyEvent(protocol, path[path.length - 1] as Configuration<unknown, unknown>, event));
  return path;
}

export function parseFlpScenario(v: unknown): ParseResult<FlpScenario> {
  if (typeof v !== 'object' || v === null) return { ok: false, error: 'a scenario must be an object' };
  const r = v as Record<string, unknown>;
  if (r.protocol !== 'majority' && r.protocol !== 'paxos') return { ok: false, error: 'protocol must be majority or paxos' };
  const protocol: FlpProtocolId = r.protocol;
  if (typeof r.size !== 'number' || !FLP_SIZES[protocol].includes(r.size)) {
    return { ok: false, error: `size must be one of ${FLP_SIZES[protocol].join(', ')}` };
  }
  if (!Array.isArray(r.inputs) || r.inputs.length !== 3 || !r.inputs.every((b) => b === 0 || b === 1)) {
    return { ok: false, error: 'inputs must be three bits' };
  }
  if (!Array.isArray(r.events) || r.events.length > 1000) return { ok: false, error: 'events must be a list' };
  const events: FlpEvent[] = [];
  for (const e of r.events as unknown[]) {
    const ev = e as Record<string, unknown> | null;
    if (ev === null || typeof ev !== 'object' || ![0, 1, 2].includes(ev.process as number)) return { ok: false, error: 'bad event' };
    if (ev.message !== null && typeof ev.message !== 'string') return { ok: false, error: 'bad event message' };
    events.push({ process: ev.process as number, message: ev.message as string | null });
  }
  return { ok: true, value: { protocol, size: r.size, inputs: r.inputs as Bit[], events } };
}
