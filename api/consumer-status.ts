import type { ConsumerHealth } from "./schemas/health.js";

/** What /health reports about the consumers running next to the API (embedded mode), if any. */
export type ConsumerStatusProvider = () => Promise<ConsumerHealth>;

/** The parts of a MartsPipeline (consumers/src/runtime/pipeline.ts) the status needs. */
export interface PipelineView {
  readonly stats: { chunks: number; records: number; deadLetters: number; lastFlushAt: number | undefined };
  readonly error: Error | undefined;
}

/**
 * A provider over a running pipeline and a lag probe (e.g. consumers/src/lag.ts groupLag: end -
 * committed over the source topics). The probe talks to Kafka, so its answer is reused for
 * `lagTtlMs`; a failing probe reports lag null, not an unhealthy API.
 */
export function pipelineStatus(
  pipeline: PipelineView,
  lag: () => Promise<number>,
  options: { lagTtlMs?: number; now?: () => number } = {},
): ConsumerStatusProvider {
  const ttl = options.lagTtlMs ?? 5000;
  const now = options.now ?? Date.now;
  let cached: { at: number; value: number | null } | null = null;
  return async () => {
    if (!cached || now() - cached.at >= ttl) {
      const value = await lag().then(
        (n) => Math.max(0, n),
        () => null,
      );
      cached = { at: now(), value };
    }
    const { stats, error } = pipeline;
    return {
      status: error ? "failed" : "running",
      lag: cached.value,
      records: stats.records,
      chunks: stats.chunks,
      dead_letters: stats.deadLetters,
      last_flush_at: stats.lastFlushAt === undefined ? null : new Date(stats.lastFlushAt).toISOString(),
      error: error ? error.message : null,
    };
  };
}
