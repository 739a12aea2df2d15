import { collectDefaultMetrics, Counter, Registry } from "prom-client";

/** Every metric of this project starts with it, the process metrics too. */
export const METRIC_PREFIX = "bionicpro_";

/**
 * The registry of one process (never prom-client's global one): `npm start` shares it between the
 * consumers and the API, `npm run consume` serves it alone. With the Node.js process metrics
 * (resident memory, CPU, event-loop lag, heap, GC) under the project's prefix.
 */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  return registry;
}

/** Scrapes whose collector (Kafka, PostgreSQL, ClickHouse) failed or timed out, per collector. */
export function collectorErrors(registry: Registry): Counter<"collector"> {
  const name = `${METRIC_PREFIX}metrics_collector_errors_total`;
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<"collector">;
  return new Counter({
    name,
    help: "Scrapes in which a collector reading Kafka, PostgreSQL or ClickHouse failed or timed out (its metric is left out of that scrape)",
    labelNames: ["collector"],
    registers: [registry],
  });
}

/** `work`, or a rejection once `ms` have passed (the work itself goes on; its late result is dropped). */
export async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** One call of `read` at a time: concurrent callers (the gauges of one scrape) share it. */
export function shared<T>(read: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () =>
    (pending ??= read().finally(() => {
      pending = undefined;
    }));
}
