/**
 * Pacing for a steady change rate: tokens accrue at `ratePerS` up to a small burst, each change
 * spends one. A change that needs more rows than it was granted (ending a subscription to start
 * another) leaves the bucket in debt, which the following ticks pay back.
 */
export class TokenBucket {
  private tokens = 0;

  constructor(
    private readonly ratePerS: number,
    private readonly burst: number,
    private lastMs: number,
  ) {}

  private refill(nowMs: number): void {
    this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.lastMs) / 1000) * this.ratePerS);
    this.lastMs = nowMs;
  }

  /** Grants up to `max` whole tokens available at `nowMs`. */
  take(nowMs: number, max: number): number {
    this.refill(nowMs);
    const granted = Math.max(0, Math.min(max, Math.floor(this.tokens)));
    this.tokens -= granted;
    return granted;
  }

  /** Spends tokens beyond those granted (may go negative). */
  debit(count: number): void {
    this.tokens -= count;
  }

  /** Milliseconds until one whole token is available. */
  msUntilNext(nowMs: number): number {
    this.refill(nowMs);
    return this.tokens >= 1 ? 0 : ((1 - this.tokens) / this.ratePerS) * 1000;
  }
}
