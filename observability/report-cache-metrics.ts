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
  // The cache keeps the totals (they only grow): each scrape sets them, nothing is counted twice.
  new Counter({
    name: `${METRIC_PREFIX}report_cache_reads_total`,
    help: "Report reads through the cache: hit (answered from it), miss (read from ClickHouse), discarded (a miss not kept: a change of its user began or ended meanwhile)",
    labelNames: ["result"],
    registers: [registry],
    collect() {
      const s = stats();
      this.reset();
      this.inc({ result: "hit" }, s.hits);
      this.inc({ result: "miss" }, s.misses);
      this.inc({ result: "discarded" }, s.discarded);
    },
  });
  new Counter({
    name: `${METRIC_PREFIX}report_cache_freshness_reads_total`,
    help: "Reads of data_as_of from ClickHouse by the report cache (one at a time in the background after chunks, or waited for past its maximum age)",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats().freshnessReads);
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
