import type { Freshness } from "../../clickhouse/freshness.js";

export interface FreshnessView {
  data_as_of: string | null;
  lag_seconds: number | null;
}

export type FreshnessListener = (freshness: FreshnessView) => void;

/**
 * Reads the marts' freshness (`data_as_of`) once per interval for every live stream together, and
 * only while at least one stream listens. Listeners hear each new `data_as_of` (the lag is computed
 * at the read; the page counts it on from there).
 */
export class FreshnessWatch {
  private readonly listeners = new Set<FreshnessListener>();
  private timer: NodeJS.Timeout | undefined;
  private reading = false;
  private latest: FreshnessView | null = null;

  constructor(
    private readonly read: () => Promise<Freshness>,
    private readonly intervalMs: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** The last value read, if any. */
  get current(): FreshnessView | null {
    return this.latest;
  }

  subscribe(listener: FreshnessListener): () => void {
    this.listeners.add(listener);
    if (!this.timer) {
      this.timer = setInterval(() => void this.poll(), this.intervalMs);
      this.timer.unref();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  /** One read now (also what the interval runs); listeners hear it when data_as_of moved. */
  async poll(): Promise<FreshnessView | null> {
    if (this.reading) return this.latest;
    this.reading = true;
    try {
      const f = await this.read();
      const view = { data_as_of: f.dataAsOf, lag_seconds: f.lagSeconds };
      const moved = view.data_as_of !== this.latest?.data_as_of;
      this.latest = view;
      if (moved) for (const listener of this.listeners) listener(view);
    } catch (error) {
      this.onError(error);
    } finally {
      this.reading = false;
    }
    return this.latest;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
