import { Counter, Gauge, type Registry } from "prom-client";
import type { ReportCacheStats } from "../api/reports/cache.js";
import { METRIC_PREFIX } from "./registry.js";

/**
 * The report cache's counters as they stand at each scrape (api/reports/cache.ts):
 * bionicpro_report_cache_reads_total{result} (`hit`, `miss`, and `discarded`: a miss whose result was
 * not kept because a change of its user began or ended meanwhile), bionicpro_report_cache_entries, and
 * bionicpro_report_cache_freshness_reads_total (reads of data_as_of from ClickHouse, in the background
 * after chunks or waited for past its maximum age).
 */
export function registerReportCache(registry: Registry, stats: () => ReportCacheStats): void {
  const counted = { hit: 0, miss: 0, discarded: 0, freshness: 0 };
  /** Adds to `counter` what the cache counted since the last scrape (the cache's totals only grow). */
  const catchUp = (counter: Counter<string>, key: keyof typeof counted, total: number, labels = {}) => {
    if (total > counted[key]) counter.inc(labels, total - counted[key]);
    counted[key] = total;
  };
  new Counter({
    name: `${METRIC_PREFIX}report_cache_reads_total`,
    help: "Report reads through the cache: hit (answered from it), miss (read from ClickHouse), discarded (a miss not kept: a change of its user began or ended meanwhile)",
    labelNames: ["result"],
    registers: [registry],
    collect() {
      const s = stats();
      catchUp(this, "hit", s.hits, { result: "hit" });
      catchUp(this, "miss", s.misses, { result: "miss" });
      catchUp(this, "discarded", s.discarded, { result: "discarded" });
    },
  });
  new Counter({
    name: `${METRIC_PREFIX}report_cache_freshness_reads_total`,
    help: "Reads of data_as_of from ClickHouse by the report cache (one at a time in the background after chunks, or waited for past its maximum age)",
    registers: [registry],
    collect() {
      catchUp(this, "freshness", stats().freshnessReads);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}report_cache_entries`,
    help: "Report reads kept by the cache",
    registers: [registry],
    collect() {
      this.set(stats().entries);
    },
  });
}
