/**
 * A 64-bit non-cryptographic hash (two FNV-1a lanes) for cross-replica state
 * checks: replicas that applied the same log must report the same digest. It
 * catches divergence, not tampering.
 */

const FNV_PRIME = 16777619;

export class Digest {
  private laneA = 0x811c9dc5;
  private laneB = 0x01000193 ^ 0x5bd1e995;

  byte(value: number): void {
    this.laneA = Math.imul(this.laneA ^ value, FNV_PRIME);
    this.laneB = Math.imul(this.laneB ^ (value ^ 0xa5), FNV_PRIME) ^ (this.laneB >>> 13);
  }

  bytes(value: Uint8Array): void {
    this.number(value.length);
    for (let i = 0; i < value.length; i += 1) this.byte(value[i] as number);
  }

  /** Any finite number, hashed through its decimal form so 2^53-sized values stay exact. */
  number(value: number): void {
    const text = String(value);
    for (let i = 0; i < text.length; i += 1) this.byte(text.charCodeAt(i));
    this.byte(0x3b);
  }

  /** A binary string (one code unit per byte). */
  binary(value: string): void {
    this.number(value.length);
    for (let i = 0; i < value.length; i += 1) this.byte(value.charCodeAt(i));
  }

  hex(): string {
    return (this.laneA >>> 0).toString(16).padStart(8, '0') + (this.laneB >>> 0).toString(16).padStart(8, '0');
  }
}
