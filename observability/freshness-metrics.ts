import { Gauge, type Registry } from "prom-client";
import type { Freshness } from "../clickhouse/freshness.js";
import { METRIC_PREFIX, scrapeReader } from "./registry.js";

/**
 * bionicpro_freshness_seconds (now - data_as_of of the reports) and
 * bionicpro_source_freshness_seconds{source}, read from ClickHouse on every scrape
 * (clickhouse/freshness.ts). While data_as_of is unknown (nothing applied yet, or the read failed)
 * the overall gauge is NaN and a source has no sample.
 */
export function registerFreshness(
  registry: Registry,
  options: { read: () => Promise<Freshness>; timeoutMs: number },
): void {
  const read = scrapeReader(registry, "freshness", options.timeoutMs, options.read);
  new Gauge({
    name: `${METRIC_PREFIX}freshness_seconds`,
    help: "Seconds since data_as_of, the source commit time up to which every mart is complete (what reports carry as lag_seconds); NaN while unknown",
    registers: [registry],
    async collect() {
      // A gauge without labels always has a sample: NaN, not a reassuring 0, while unknown.
      this.set((await read())?.lagSeconds ?? Number.NaN);
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
