// Shared settings of the fuzz tests. The suite runs bounded counts so the whole
// of test/fuzz stays well under a minute; SYNOD_FUZZ_RUNS raises every count
// for a long run (e.g. SYNOD_FUZZ_RUNS=5000 node --test dist/test/fuzz/), and
// SYNOD_FUZZ_SEED replays fast-check's generation.

/** Runs per property: SYNOD_FUZZ_RUNS if set, else `suiteDefault`. */
export function fuzzRuns(suiteDefault: number): number {
  const text = process.env.SYNOD_FUZZ_RUNS;
  if (text === undefined || text === '') return suiteDefault;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`SYNOD_FUZZ_RUNS: "${text}" is not a positive whole number`);
  return value;
}

/** fast-check parameters: the run count, and the seed when SYNOD_FUZZ_SEED replays one. */
export function fuzzParameters(suiteDefault: number): { numRuns: number; seed?: number } {
  const seedText = process.env.SYNOD_FUZZ_SEED;
  const seed = seedText === undefined || seedText === '' ? undefined : Number(seedText);
  return seed === undefined || !Number.isSafeInteger(seed) ? { numRuns: fuzzRuns(suiteDefault) } : { numRuns: fuzzRuns(suiteDefault), seed };
}

/** Counts of inputs by outcome, printed at the end of a test. */
export class Tally {
  private readonly counts = new Map<string, number>();

  add(outcome: string, by = 1): void {
    this.counts.set(outcome, (this.counts.get(outcome) ?? 0) + by);
  }

  get(outcome: string): number {
    return this.counts.get(outcome) ?? 0;
  }

  get total(): number {
    let sum = 0;
    for (const count of this.counts.values()) sum += count;
    return sum;
  }

  toString(): string {
    return [...this.counts].map(([outcome, count]) => `${outcome} ${count}`).join(', ');
  }
}
