import { Gauge, type Registry } from "prom-client";
import type { Freshness } from "../clickhouse/freshness.js";
import { collectorErrors, METRIC_PREFIX, shared, withTimeout } from "./registry.js";

/**
 * bionicpro_freshness_seconds (now - data_as_of of the reports) and
 * bionicpro_source_freshness_seconds{source}, read from ClickHouse on every scrape
 * (clickhouse/freshness.ts). While data_as_of is unknown (nothing applied yet) there is no sample.
 */
export function registerFreshness(
  registry: Registry,
  options: { read: () => Promise<Freshness>; timeoutMs: number },
): void {
  const errors = collectorErrors(registry);
  const read = shared(() =>
    withTimeout(options.read(), options.timeoutMs, "reading data_as_of from ClickHouse").catch(() => {
      errors.inc({ collector: "freshness" });
      return null;
    }),
  );
  new Gauge({
    name: `${METRIC_PREFIX}freshness_seconds`,
    help: "Seconds since data_as_of, the source commit time up to which every mart is complete (what reports carry as lag_seconds)",
    registers: [registry],
    async collect() {
      this.reset();
      const freshness = await read();
      if (freshness?.lagSeconds != null) this.set(freshness.lagSeconds);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}source_freshness_seconds`,
    help: "Seconds since the commit time up to which the marts hold every change of one source database (crm, telemetry)",
    labelNames: ["source"],
    registers: [registry],
    async collect() {
      this.reset();
      for (const s of (await read())?.sources ?? [])
        if (s.lagSeconds !== null) this.set({ source: s.source }, s.lagSeconds);
    },
  });
}
