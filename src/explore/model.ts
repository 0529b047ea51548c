/**
 * The asynchronous model of Fischer, Lynch and Paterson (1985), small enough to
 * explore exhaustively.
 *
 * A configuration is the state of every process plus the message buffer, a
 * multiset of messages sent and not yet received. An event (p, m) takes message
 * m addressed to p out of the buffer, lets p take one deterministic step, and
 * puts whatever p sends into the buffer; the null event (p, null) is a step in
 * which p receives nothing (a timeout, or a spontaneous start). A schedule is a
 * sequence of events. Nothing bounds how long a message waits, so a process
 * cannot tell a crashed peer from a slow one: that is the whole of FLP.
 *
 * A protocol plugs in through `Protocol`: how each process starts from its
 * input bit, how it reacts to one event, and what (if anything) it has decided.
 */

export type Bit = 0 | 1;

export interface Configuration<S, M> {
  readonly processes: readonly S[];
  /** The buffer, kept sorted by message key so that equal configurations have equal keys. */
  readonly buffer: readonly M[];
}

/** An event: deliver `message` (a buffer key) to `process`, or the null event when `message` is null. */
export interface FlpEvent {
  readonly process: number;
  readonly message: string | null;
}

export interface StepResult<S, M> {
  readonly state: S;
  readonly send: readonly M[];
}

export interface Protocol<S, M> {
  /** A stable identifier (used in URLs and by the lab). */
  readonly id: string;
  readonly title: string;
  readonly processCount: number;
  /** Process `process` before its first step, holding input `input`. */
  initialState(process: number, input: Bit): S;
  /** Messages already in the buffer in the initial configuration (often none). */
  initialMessages(inputs: readonly Bit[]): readonly M[];
  recipient(message: M): number;
  /**
   * Process `process` in `state` receives `message` (null: the null event).
   * Returns null when the event is not enabled: a message the process is not
   * ready for yet stays in the buffer (the network may hold it as long as it
   * likes), and a null event that would change nothing is not offered.
   */
  receive(process: number, state: S, message: M | null): StepResult<S, M> | null;
  /**
   * True when `process` in `state` will ignore `message` whenever it arrives
   * (it belongs to a round the process has left). Such messages are removed from
   * the buffer at once: delivering them could change nothing but the buffer, so
   * dropping them merges configurations that no process can tell apart.
   */
  isStale(state: S, message: M): boolean;
  decision(state: S): Bit | null;
  stateKey(state: S): string;
  messageKey(message: M): string;
  describeState(state: S): string;
  describeMessage(message: M): string;
}

export function configurationKey<S, M>(protocol: Protocol<S, M>, configuration: Configuration<S, M>): string {
  const processes = configuration.processes.map((s) => protocol.stateKey(s)).join('|');
  const buffer = configuration.buffer.map((m) => protocol.messageKey(m)).join(',');
  return `${processes}#${buffer}`;
}

/** Builds a configuration: drops stale messages and sorts the buffer into its canonical order. */
export function makeConfiguration<S, M>(protocol: Protocol<S, M>, processes: readonly S[], buffer: readonly M[]): Configuration<S, M> {
  const live = buffer.filter((m) => {
    const to = processes[protocol.recipient(m)];
    return to !== undefined && !protocol.isStale(to, m);
  });
  const keyed = live.map((m) => [protocol.messageKey(m), m] as const);
  keyed.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { processes, buffer: keyed.map(([, m]) => m) };
}

export function initialConfiguration<S, M>(protocol: Protocol<S, M>, inputs: readonly Bit[]): Configuration<S, M> {
  if (inputs.length !== protocol.processCount) {
    throw new RangeError(`${protocol.id} has ${protocol.processCount} processes, got ${inputs.length} inputs`);
  }
  const processes = inputs.map((input, process) => protocol.initialState(process, input));
  return makeConfiguration(protocol, processes, protocol.initialMessages(inputs));
}

/** The events enabled in `configuration`, each with the configuration it leads to. */
export function successors<S, M>(
  protocol: Protocol<S, M>,
  configuration: Configuration<S, M>,
): { readonly event: FlpEvent; readonly next: Configuration<S, M> }[] {
  const result: { event: FlpEvent; next: Configuration<S, M> }[] = [];
  const seen = new Set<string>();
  configuration.buffer.forEach((message, index) => {
    const key = protocol.messageKey(message);
    // The buffer is a multiset: two copies of one message give the same event.
    if (seen.has(key)) return;
    seen.add(key);
    const process = protocol.recipient(message);
    const state = configuration.processes[process];
    if (state === undefined) return;
    const step = protocol.receive(process, state, message);
    if (step === null) return;
    const rest = configuration.buffer.filter((_, i) => i !== index);
    result.push({ event: { process, message: key }, next: applyStep(protocol, configuration, process, step, rest) });
  });
  configuration.processes.forEach((state, process) => {
    const step = protocol.receive(process, state, null);
    if (step === null) return;
    result.push({ event: { process, message: null }, next: applyStep(protocol, configuration, process, step, configuration.buffer) });
  });
  return result;
}

/** Applies one event; throws if it is not enabled. */
export function applyEvent<S, M>(protocol: Protocol<S, M>, configuration: Configuration<S, M>, event: FlpEvent): Configuration<S, M> {
  const found = successors(protocol, configuration).find(
    (s) => s.event.process === event.process && s.event.message === event.message,
  );
  if (found === undefined) throw new RangeError(`event (p${event.process}, ${event.message ?? 'null'}) is not enabled`);
  return found.next;
}

/** The decisions some process has made in `configuration`, as a bit mask (1: decided 0, 2: decided 1). */
export function decisionMask<S, M>(protocol: Protocol<S, M>, configuration: Configuration<S, M>): number {
  let mask = 0;
  for (const state of configuration.processes) {
    const d = protocol.decision(state);
    if (d !== null) mask |= 1 << d;
  }
  return mask;
}

function applyStep<S, M>(
  protocol: Protocol<S, M>,
  configuration: Configuration<S, M>,
  process: number,
  step: StepResult<S, M>,
  rest: readonly M[],
): Configuration<S, M> {
  const processes = configuration.processes.map((s, i) => (i === process ? step.state : s));
  return makeConfiguration(protocol, processes, [...rest, ...step.send]);
}
