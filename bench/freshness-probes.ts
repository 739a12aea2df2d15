import { fromCents, toCents } from "../api/reports/money.js";

/**
 * The freshness probes of one rate (bench/freshness.bench.ts): payments of one user that `simulate`
 * leaves alone, committed one after another, each with an amount of its own. CDC topics have one
 * partition (BIONICPRO_TOPIC_PARTITIONS, default 1), so the consumers apply the payments in commit
 * order and the user's month total is always the base plus the amounts of a prefix of the probes:
 * the figure the API answers names exactly which probes it already shows. Pure: the bench feeds it
 * commit times and the figures it read.
 */
export class ProbeLedger {
  /** cumulative[k]: the amounts of the first k probes, in cents. */
  private readonly cumulative: bigint[] = [0n];
  private readonly committedAt: (number | undefined)[] = [];
  private readonly seenAt: (number | undefined)[] = [];
  private visible = 0;
  /** Figures lower than one read before (the API showing fewer probes than it once did). */
  wentBack = 0;

  constructor(private readonly base: string) {
    toCents(base);
  }

  /** Registers the next probe before its INSERT is sent; returns its index. */
  add(amount: string): number {
    const cents = toCents(amount);
    if (cents <= 0n) throw new RangeError(`a probe's amount must be positive, got ${amount}`);
    this.cumulative.push((this.cumulative.at(-1) as bigint) + cents);
    this.committedAt.push(undefined);
    this.seenAt.push(undefined);
    return this.committedAt.length - 1;
  }

  /** The moment the probe's COMMIT returned. */
  committed(index: number, atMs: number): void {
    this.committedAt[index] = atMs;
  }

  /** The total a reader should see once every probe so far is applied. */
  expected(): string {
    return fromCents(toCents(this.base) + (this.cumulative.at(-1) as bigint));
  }

  /**
   * A month total read at `atMs`: marks the probes it shows as seen then. Throws when the figure is
   * not the base plus a prefix of the probes (someone else changed the user's payments, or the
   * payments were applied out of commit order).
   */
  observe(figure: string, atMs: number): void {
    const shown = toCents(figure) - toCents(this.base);
    const k = this.cumulative.indexOf(shown);
    if (k < 0) {
      throw new Error(
        `month total ${figure} is not the base ${this.base} plus the first k of ${this.cumulative.length - 1} probes' amounts: ` +
          "the probe user's payments changed outside the probes, or they were applied out of commit order (more than one partition per topic?)",
      );
    }
    if (k < this.visible) {
      this.wentBack += 1;
      return;
    }
    for (let j = this.visible; j < k; j += 1) this.seenAt[j] = atMs;
    this.visible = k;
  }

  /** Probes added but not yet seen. */
  get outstanding(): number {
    return this.committedAt.length - this.visible;
  }

  get count(): number {
    return this.committedAt.length;
  }

  /** Commit -> seen, ms, of every probe seen (0 when a read saw it before its COMMIT returned). */
  latencies(): number[] {
    const out: number[] = [];
    for (let j = 0; j < this.visible; j += 1) {
      const committed = this.committedAt[j];
      const seen = this.seenAt[j];
      if (committed !== undefined && seen !== undefined) out.push(Math.max(0, seen - committed));
    }
    return out;
  }
}

export interface Distribution {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles (the smallest sample with at least p% of the samples at or below it). */
export function distribution(samples: readonly number[]): Distribution {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p: number): number =>
    sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
  return {
    n: sorted.length,
    p50: rank(50),
    p95: rank(95),
    p99: rank(99),
    max: sorted.at(-1) ?? Number.NaN,
  };
}
