// The state machine the core's scripted tests use.
import type { StateMachine } from '../../src/smr/state-machine.js';

/** A state machine that remembers the commands it applied, in order. */
export class AppendLog implements StateMachine<string, number> {
  entries: string[] = [];
  apply(command: string): number {
    this.entries.push(command);
    return this.entries.length;
  }
  snapshot(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify(this.entries));
  }
  restore(bytes: Uint8Array): void {
    this.entries = JSON.parse(new TextDecoder().decode(bytes)) as string[];
  }
}
