import type { StreamConfig } from "../config.js";
import type { LiveFeed } from "./feed.js";
import type { FreshnessWatch } from "./freshness-watch.js";
import { ReportStream, type DashboardReports } from "./report-stream.js";
import { SseWriter, type SseSink } from "./sse.js";

/** Everything the stream route needs; one per app. */
export interface LiveReports {
  feed: LiveFeed;
  freshness: FreshnessWatch;
  reports: DashboardReports;
  config: StreamConfig;
  clock: () => Date;
  /** Streams open now, each with the function that ends its response. */
  open: Map<ReportStream, () => void>;
  /** Stops the change source and the freshness polling (app close). */
  stop(): void;
}

export interface OpenStream {
  userId: number;
  sink: SseSink;
  lastEventId?: string;
  endAt?: number;
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

/** Starts one client's stream; the caller registers it in `live.open` and closes it when the connection ends. */
export async function openReportStream(live: LiveReports, options: OpenStream): Promise<ReportStream> {
  const writer = new SseWriter(options.sink, live.config.maxBufferedBytes, (bytes) =>
    options.log.warn({ bufferedBytes: bytes }, "live stream dropped: the client does not keep up"),
  );
  const stream = new ReportStream({
    userId: options.userId,
    reports: live.reports,
    feed: live.feed,
    freshness: live.freshness,
    writer,
    clock: live.clock,
    lastEventId: options.lastEventId,
    heartbeatMs: live.config.heartbeatMs,
    retryMs: live.config.retryMs,
    endAt: options.endAt,
    onError: (error) => options.log.error({ err: error }, "live stream read failed; retrying"),
  });
  await stream.start();
  return stream;
}

/** Ends every open stream (app close: SSE responses would otherwise keep the server open). */
export function endAllStreams(live: LiveReports): void {
  for (const [stream, end] of live.open) {
    stream.close();
    end();
  }
  live.open.clear();
}
