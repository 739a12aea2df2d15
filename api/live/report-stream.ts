import { utcMonth } from "../reports/period.js";
import type { DailyReport, MonthDays, MonthReport } from "../schemas/reports.js";
import type { LiveFeed, SequencedChange } from "./feed.js";
import type { FreshnessView, FreshnessWatch } from "./freshness-watch.js";
import { affectedSections, reloadsScope, sections, type Section, type StreamScope } from "./scope.js";
import type { SseWriter } from "./sse.js";

/** The reads a stream makes, all through the report service (the same figures as the routes). */
export interface DashboardReports {
  month(userId: number, month: string): Promise<MonthReport>;
  day(userId: number, date: string): Promise<DailyReport>;
  days(userId: number, month: string): Promise<MonthDays>;
  devices(userId: number): Promise<{ prostheticIds: number[]; chipIds: string[] }>;
}

export interface ReportStreamOptions {
  userId: number;
  reports: DashboardReports;
  feed: LiveFeed;
  freshness: FreshnessWatch;
  writer: SseWriter;
  clock: () => Date;
  /** The client's Last-Event-ID: only what changed since is sent again. */
  lastEventId?: string;
  heartbeatMs: number;
  retryMs: number;
  /** Epoch ms when the stream ends by itself (the access token's exp). */
  endAt?: number;
  /** A read failed; the sections are read again after `retryAfterMs`. */
  onError: (error: unknown) => void;
  /** @default 2000 */
  retryAfterMs?: number;
}

/**
 * One client's live report stream (GET /api/reports/stream). Events, each `data` one JSON document:
 * - `month`: the current month's report (GET /reports/user/{id}?month=), id `<epoch>.<seq>`;
 * - `today`: today's daily report with hourly data (GET /api/reports/{today}), same id scheme;
 * - `days`: the month's daily usage (GET /api/reports/days?month=), same id scheme;
 * - `freshness`: `{data_as_of, lag_seconds}` whenever data_as_of moves (no id: it must not move the
 *   resume point past figures not yet sent);
 * - `problem`: a read failed (`{code}`); the stream retries;
 * - `token-expired`: the access token's lifetime is over; the stream ends (reconnect with a new one).
 * An id `<epoch>.<seq>` says the figures include every change of the feed up to `seq`. On connect
 * with such a Last-Event-ID, only the sections changed since are sent; otherwise all three.
 * Only changes that name the user, one of their prostheses or chips ever cause a read.
 */
export class ReportStream {
  private scope: StreamScope | null = null;
  private scopeStale = true;
  private readonly pending = new Set<Section>();
  /** Changes heard before the scope was first read. */
  private early: SequencedChange[] | null = [];
  private running: Promise<void> | null = null;
  private closed = false;
  private readonly cleanups: (() => void)[] = [];

  constructor(private readonly o: ReportStreamOptions) {}

  /** Subscribes, sends what the client lacks, and keeps it current until close(). */
  async start(): Promise<void> {
    const { o } = this;
    o.writer.retry(o.retryMs);
    this.cleanups.push(o.feed.subscribe((change) => this.onChange(change)));
    this.cleanups.push(o.freshness.subscribe((f) => this.sendFreshness(f)));
    const heartbeat = setInterval(() => {
      if (!o.writer.comment("keep-alive")) this.close();
    }, o.heartbeatMs);
    heartbeat.unref();
    this.cleanups.push(() => clearInterval(heartbeat));
    if (o.endAt !== undefined) {
      const expiry = setTimeout(
        () => {
          o.writer.send({ event: "token-expired", data: {} });
          this.close();
          o.writer.end();
        },
        Math.max(0, o.endAt - Date.now()),
      );
      expiry.unref();
      this.cleanups.push(() => clearTimeout(expiry));
    }
    const missed = o.feed.changesSince(o.lastEventId);
    await this.loadScope().catch((error: unknown) => o.onError(error));
    const early = this.early ?? [];
    this.early = null;
    if (missed === null || !this.scope) {
      for (const s of sections) this.pending.add(s);
    } else {
      for (const change of missed) this.account(change);
    }
    for (const change of early) this.account(change);
    const current = o.freshness.current ?? (await o.freshness.poll());
    if (current) this.sendFreshness(current);
    this.schedule();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const cleanup of this.cleanups.splice(0)) cleanup();
  }

  /** Resolves when no read is in flight (tests). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private onChange(change: SequencedChange): void {
    if (this.closed) return;
    if (this.early) {
      this.early.push(change);
      return;
    }
    if (this.account(change)) this.schedule();
  }

  /** Marks the sections a change affects; true when there is something to send. */
  private account(change: SequencedChange): boolean {
    const scope = this.scope;
    if (!scope) return false;
    if (reloadsScope(change, scope)) this.scopeStale = true;
    const affected = affectedSections(change, scope);
    for (const s of affected) this.pending.add(s);
    return affected.size > 0;
  }

  private async loadScope(): Promise<void> {
    const devices = await this.o.reports.devices(this.o.userId);
    this.scope = {
      userId: this.o.userId,
      prosthetics: new Set(devices.prostheticIds),
      chips: new Set(devices.chipIds),
    };
    this.scopeStale = false;
  }

  private schedule(): void {
    if (this.running || this.closed || this.pending.size === 0) return;
    this.running = this.flush().finally(() => {
      this.running = null;
      // Changes that arrived during the reads are sent by the next round.
      this.schedule();
    });
  }

  private async flush(): Promise<void> {
    const { o } = this;
    const due = [...this.pending];
    this.pending.clear();
    // Every change up to this seq was recorded applied before the reads below begin.
    const seq = o.feed.seq;
    const id = o.feed.eventId(seq);
    try {
      if (this.scopeStale) await this.loadScope();
      const now = o.clock();
      const month = utcMonth(now);
      const today = now.toISOString().slice(0, 10);
      const reads: Record<Section, () => Promise<unknown>> = {
        month: () => o.reports.month(o.userId, month),
        today: () => o.reports.day(o.userId, today),
        days: () => o.reports.days(o.userId, month),
      };
      const results = await Promise.all(due.map((s) => reads[s]()));
      if (this.closed) return;
      due.forEach((section, i) => {
        if (!o.writer.send({ id, event: section, data: results[i] })) this.close();
      });
    } catch (error) {
      if (this.closed) return;
      o.onError(error);
      const code = (error as { code?: unknown }).code;
      o.writer.send({ event: "problem", data: { code: typeof code === "string" ? code : "INTERNAL_ERROR" } });
      await new Promise((resolve) => setTimeout(resolve, o.retryAfterMs ?? 2000).unref());
      for (const s of due) this.pending.add(s);
    }
  }

  private sendFreshness(view: FreshnessView): void {
    if (this.closed) return;
    if (!this.o.writer.send({ event: "freshness", data: view })) this.close();
  }
}
