/**
 * The run's trace: one line per thing that happened, kept three ways. The last
 * few lines go into a violation report; every line feeds a running hash, so two
 * runs of one seed can be compared for bit-for-bit determinism without storing
 * them; and with --verbose every line is printed as it happens.
 */
import { assertNever } from '../core/assert.js';
import { formatBallot } from '../core/ballot.js';
import type { Message, SlotValue } from '../core/multipaxos/types.js';
import type { Command } from './events.js';

export class Trace {
  private readonly tail: string[] = [];
  private nextIndex = 0;
  private hash = 0x811c9dc5;
  lines = 0;

  constructor(
    private readonly capacity: number,
    private readonly sink?: (line: string) => void,
  ) {}

  add(timeMs: number, text: string): void {
    const line = `${String(timeMs).padStart(6)} ${text}`;
    for (let i = 0; i < line.length; i += 1) {
      this.hash ^= line.charCodeAt(i);
      this.hash = Math.imul(this.hash, 0x01000193);
    }
    this.hash = Math.imul(this.hash ^ 0x0a, 0x01000193);
    this.lines += 1;
    if (this.tail.length < this.capacity) this.tail.push(line);
    else this.tail[this.nextIndex] = line;
    this.nextIndex = (this.nextIndex + 1) % this.capacity;
    this.sink?.(line);
  }

  /** The last lines, oldest first. */
  lastLines(): string[] {
    if (this.tail.length < this.capacity) return [...this.tail];
    return [...this.tail.slice(this.nextIndex), ...this.tail.slice(0, this.nextIndex)];
  }

  /** A fingerprint of every line so far. */
  digest(): string {
    return `${(this.hash >>> 0).toString(16).padStart(8, '0')}:${this.lines}`;
  }
}

export function describeValue(value: SlotValue<Command>): string {
  if (value.kind === 'noop') return 'noop';
  if (value.kind === 'config') return `config(${value.membership.members.map((m) => (m.voter ? m.id : `~${m.id}`)).join(' ')})`;
  return `[${value.commands.map(describeCommand).join(' ')}]`;
}

export function describeCommand(command: Command): string {
  const op = command.op;
  switch (op.kind) {
    case 'get':
      return `${command.client}#${command.seq}:get(${op.key})`;
    case 'put':
      return `${command.client}#${command.seq}:put(${op.key},${op.value})`;
    case 'cas':
      return `${command.client}#${command.seq}:cas(${op.key},${op.expected ?? '-'}->${op.value})`;
    default:
      return assertNever(op, 'KvInput');
  }
}

export function describeMessage(m: Message<Command>): string {
  const route = `${m.from}->${m.to}`;
  switch (m.type) {
    case 'prepare':
      return `${route} prepare ${formatBallot(m.ballot)} from ${m.fromSlot}${m.transfer !== null ? ` transfer from ${formatBallot(m.transfer)}` : ''}`;
    case 'promise':
      return `${route} promise ${formatBallot(m.ballot)} votes ${m.accepted.length} decided ${m.decided.length}${m.decidedTruncated ? '+' : ''} compacted ${m.compactedThrough}`;
    case 'accept':
      return `${route} accept ${formatBallot(m.ballot)} slot ${m.slot} ${describeValue(m.value)} commit ${m.commitThrough}`;
    case 'accepted':
      return `${route} accepted ${formatBallot(m.ballot)} slot ${m.slot}`;
    case 'reject':
      return `${route} reject ${formatBallot(m.ballot)} promised ${formatBallot(m.promised)}`;
    case 'heartbeat':
      return `${route} heartbeat ${formatBallot(m.ballot)} commit ${m.commitThrough} round ${m.readRound}`;
    case 'heartbeat-ack':
      return `${route} heartbeat-ack ${formatBallot(m.ballot)} round ${m.readRound} decided ${m.decidedThrough}`;
    case 'catchup-request':
      return `${route} catchup-request ${m.fromSlot}..${m.throughSlot}`;
    case 'catchup-reply':
      return `${route} catchup-reply ${m.decided.length} slots${m.decided.length > 0 ? ` from ${m.decided[0]?.slot}` : ''}`;
    case 'snapshot':
      return `${route} snapshot through ${m.throughSlot} (bytes ${m.offset}..${m.offset + m.data.length} of ${m.total})`;
    case 'forward':
      return `${route} forward ${m.commands.map(describeCommand).join(' ')}`;
    case 'timeout-now':
      return `${route} timeout-now ${formatBallot(m.ballot)}`;
    case 'reconfigure':
      return `${route} reconfigure ${m.request.id} based on ${m.request.basedOn}`;
    case 'reconfigure-rejected':
      return `${route} reconfigure-rejected ${m.id} ${m.reason}`;
    case 'snapshot-request':
      return `${route} snapshot-request through ${m.throughSlot} from byte ${m.offset}`;
    default:
      return assertNever(m, 'message');
  }
}
