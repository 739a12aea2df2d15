import {
  AggregatorRegistry,
  collectDefaultMetrics,
  Counter,
  Registry,
  type MetricObjectWithValues,
  type MetricValue,
} from "prom-client";

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

/** Per registry: the reads its collectors make on a scrape (see scrapeReader). */
const readers = new WeakMap<Registry, Set<() => Promise<unknown>>>();

/** Scrapes whose collector (Kafka, PostgreSQL, ClickHouse) failed or timed out, per collector. */
function collectorErrors(registry: Registry): Counter<"collector"> {
  const name = `${METRIC_PREFIX}metrics_collector_errors_total`;
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<"collector">;
  readers.set(registry, new Set());
  return new Counter({
    name,
    help: "Scrapes in which a collector reading Kafka, PostgreSQL or ClickHouse failed or timed out (its series are left out of that scrape)",
    labelNames: ["collector"],
    registers: [registry],
    // The scrape's reads run concurrently with this; wait for them (shared, so not run twice), so a
    // failure is counted in the very scrape it left a gap in.
    async collect() {
      await Promise.all([...(readers.get(registry) ?? [])].map((read) => read()));
    },
  });
}

/**
 * What a scrape-time collector reads: `read` with a timeout, shared by the gauges of one scrape;
 * null (and bionicpro_metrics_collector_errors_total{collector} + 1) when it failed or timed out.
 */
export function scrapeReader<T>(
  registry: Registry,
  collector: string,
  timeoutMs: number,
  read: () => Promise<T>,
): () => Promise<T | null> {
  const errors = collectorErrors(registry);
  const reader = shared(() =>
    withTimeout(read(), timeoutMs, `collector ${collector}`).catch(() => {
      errors.inc({ collector });
      return null;
    }),
  );
  readers.get(registry)?.add(reader);
  return reader;
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

/** A registry's metrics as data (prom-client's getMetricsAsJSON): how they cross a worker thread. */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/**
 * The text exposition of `registry` together with metrics read elsewhere in the process (the
 * consumers' worker thread, consumers/src/runtime/thread.ts). A series both name (the collector
 * errors counter) is summed; every other one is as its registry has it.
 */
export async function exposition(registry: Registry, others: readonly MetricsJson[]): Promise<string> {
  if (others.length === 0) return registry.metrics();
  const all = [await registry.getMetricsAsJSON(), ...others].map((metrics) =>
    // prom-client's own aggregators (average, omit, ...) are for a cluster's copies of one metric;
    // here each metric has one source, or counts disjoint events: a sum is the value.
    metrics.map((metric) => ({ ...metric, aggregator: "sum" as const })),
  );
  return AggregatorRegistry.aggregate(all).metrics();
}
