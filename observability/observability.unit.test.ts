import Fastify from "fastify";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { parseExposition, sampleValue } from "../test/harness/prometheus-text.js";
import { registerConnectorRestarts } from "./connector-metrics.js";
import { partitionLags } from "./consumer-lag.js";
import { scrapeAllowed, startMetricsServer } from "./exposition.js";
import { registerFreshness } from "./freshness-metrics.js";
import { instrumentRequests, routeLabel } from "./http-metrics.js";
import { CHUNK_SECONDS_BUCKETS, PipelineMetrics } from "./pipeline-metrics.js";
import { registerReportCache } from "./report-cache-metrics.js";
import { createMetricsRegistry, exposition, scrapeReader, shared, withTimeout } from "./registry.js";
import { SLOT_LAG_SQL } from "./slot-lag.js";

const scrape = async (registry: Registry) => parseExposition(await registry.metrics());

describe("partitionLags", () => {
  it("is end - committed, counts from the oldest kept record without a commit, never negative", () => {
    expect(
      partitionLags(
        [
          { topic: "a", partition: 0, high: "120", low: "0" },
          { topic: "a", partition: 1, high: "50", low: "10" },
          { topic: "b", partition: 0, high: "7", low: "0" },
          { topic: "c", partition: 0, high: "30", low: "20" },
          { topic: "d", partition: 0, high: "5", low: "0" },
        ],
        [
          { topic: "a", partition: 0, offset: "100" },
          { topic: "a", partition: 1, offset: "-1" },
          { topic: "b", partition: 0, offset: "7" },
          { topic: "c", partition: 0, offset: "3" },
          { topic: "d", partition: 0, offset: "9" },
        ],
      ),
    ).toEqual([
      { topic: "a", partition: 0, lag: 20 },
      { topic: "a", partition: 1, lag: 40 },
      { topic: "b", partition: 0, lag: 0 },
      { topic: "c", partition: 0, lag: 10 },
      { topic: "d", partition: 0, lag: 0 },
    ]);
  });
});

describe("request durations", () => {
  it("are labelled with the route pattern, `unmatched` for 404s, and the status code", async () => {
    expect(routeLabel("/reports/user/:userId")).toBe("/reports/user/:userId");
    expect(routeLabel(undefined)).toBe("unmatched");
    const registry = new Registry();
    const app = Fastify();
    instrumentRequests(app, registry);
    app.get("/reports/user/:userId", async (request) => ({
      id: (request.params as { userId: string }).userId,
    }));
    app.get("/boom", async (_request, reply) => reply.code(503).send({}));
    await app.ready();
    for (const id of ["1", "22", "333"]) await app.inject(`/reports/user/${id}`);
    await app.inject("/boom");
    await app.inject("/users/42/secret");
    await app.close();
    const samples = await scrape(registry);
    const count = (labels: Record<string, string>) =>
      sampleValue(samples, "bionicpro_http_request_duration_seconds_count", labels);
    expect(count({ method: "GET", route: "/reports/user/:userId", status_code: "200" })).toBe(3);
    expect(count({ method: "GET", route: "/boom", status_code: "503" })).toBe(1);
    expect(count({ method: "GET", route: "unmatched", status_code: "404" })).toBe(1);
    const routes = samples
      .filter((s) => s.name === "bionicpro_http_request_duration_seconds_count")
      .map((s) => s.labels.route);
    expect(routes.sort()).toEqual(["/boom", "/reports/user/:userId", "unmatched"]);
  });
});

describe("PipelineMetrics", () => {
  const topics = ["p.crm.crm_payments", "p.telemetry.raw_telemetry"];

  it("registers its series with HELP, every topic at 0 from the start", async () => {
    const registry = new Registry();
    new PipelineMetrics(registry, topics, () => true);
    const text = await registry.metrics();
    expect(
      registry
        .getMetricsAsArray()
        .map((m) => m.name)
        .sort(),
    ).toEqual([
      "bionicpro_consumer_changes_applied_total",
      "bionicpro_consumer_chunk_apply_duration_seconds",
      "bionicpro_consumer_chunk_wait_seconds",
      "bionicpro_consumer_crash_repairs_total",
      "bionicpro_consumer_dead_letters_total",
      "bionicpro_consumer_records_applied_total",
      "bionicpro_consumer_reemitted_dropped_total",
      "bionicpro_consumer_resets_total",
      "bionicpro_consumer_retries_total",
      "bionicpro_consumer_running",
      "bionicpro_consumer_step_duration_seconds",
    ]);
    expect(text).toContain("# TYPE bionicpro_consumer_records_applied_total counter");
    expect(text).toContain("# TYPE bionicpro_consumer_chunk_apply_duration_seconds histogram");
    expect(text).toMatch(
      /# HELP bionicpro_consumer_lag|# HELP bionicpro_consumer_records_applied_total Kafka/,
    );
    const samples = parseExposition(text);
    for (const topic of topics) {
      expect(sampleValue(samples, "bionicpro_consumer_records_applied_total", { topic })).toBe(0);
      expect(sampleValue(samples, "bionicpro_consumer_dead_letters_total", { topic })).toBe(0);
    }
    expect(sampleValue(samples, "bionicpro_consumer_running")).toBe(1);
    expect(CHUNK_SECONDS_BUCKETS[0]).toBe(0.005);
    expect(CHUNK_SECONDS_BUCKETS.at(-1)).toBe(30);
  });

  it("counts what each applied chunk reports and observes its duration and wait", async () => {
    const registry = new Registry();
    let running = true;
    const metrics = new PipelineMetrics(registry, topics, () => running);
    const [payments, raw] = topics as [string, string];
    const chunk = {
      partition: 0,
      deadLetters: 0,
      reemitted: 0,
      resets: 0,
      repaired: false,
      waitSeconds: 0.5,
    };
    metrics.chunkApplied({
      ...chunk,
      topic: payments,
      records: 10,
      changes: 14,
      deadLetters: 2,
      seconds: 0.004,
    });
    metrics.chunkApplied({ ...chunk, topic: payments, records: 5, changes: 5, reemitted: 1, seconds: 0.2 });
    metrics.chunkApplied({
      ...chunk,
      topic: raw,
      records: 3,
      changes: 3,
      resets: 1,
      repaired: true,
      seconds: 12,
      waitSeconds: 3,
    });
    metrics.retried("inserting chunk");
    metrics.retried("inserting chunk");
    metrics.retried("decoding");
    metrics.stepDone("recording intent", 0.003);
    metrics.stepDone("recording intent", 0.3);
    metrics.stepDone("inserting chunk", 2);
    running = false;
    const samples = await scrape(registry);
    const v = (name: string, labels: Record<string, string> = {}) =>
      sampleValue(samples, `bionicpro_consumer_${name}`, labels);
    expect(v("records_applied_total", { topic: payments })).toBe(15);
    expect(v("changes_applied_total", { topic: payments })).toBe(19);
    expect(v("dead_letters_total", { topic: payments })).toBe(2);
    expect(v("reemitted_dropped_total", { topic: payments })).toBe(1);
    expect(v("records_applied_total", { topic: raw })).toBe(3);
    expect(v("resets_total", { topic: raw })).toBe(1);
    expect(v("crash_repairs_total", { topic: raw })).toBe(1);
    expect(v("crash_repairs_total", { topic: payments })).toBe(0);
    expect(v("retries_total", { operation: "inserting chunk" })).toBe(2);
    expect(v("retries_total", { operation: "decoding" })).toBe(1);
    expect(v("step_duration_seconds_count", { operation: "recording intent" })).toBe(2);
    expect(v("step_duration_seconds_bucket", { operation: "recording intent", le: "0.005" })).toBe(1);
    expect(v("step_duration_seconds_bucket", { operation: "recording intent", le: "0.25" })).toBe(1);
    expect(v("step_duration_seconds_bucket", { operation: "recording intent", le: "0.5" })).toBe(2);
    expect(v("step_duration_seconds_bucket", { operation: "inserting chunk", le: "1" })).toBe(0);
    expect(v("step_duration_seconds_bucket", { operation: "inserting chunk", le: "2.5" })).toBe(1);
    expect(v("chunk_apply_duration_seconds_count", { topic: payments })).toBe(2);
    expect(v("chunk_apply_duration_seconds_bucket", { topic: payments, le: "0.005" })).toBe(1);
    expect(v("chunk_apply_duration_seconds_bucket", { topic: payments, le: "0.25" })).toBe(2);
    expect(v("chunk_apply_duration_seconds_bucket", { topic: raw, le: "10" })).toBe(0);
    expect(v("chunk_apply_duration_seconds_bucket", { topic: raw, le: "30" })).toBe(1);
    expect(v("chunk_apply_duration_seconds_sum", { topic: payments })).toBeCloseTo(0.204, 10);
    expect(v("chunk_wait_seconds_count", { topic: payments })).toBe(2);
    expect(v("chunk_wait_seconds_bucket", { topic: payments, le: "0.25" })).toBe(0);
    expect(v("chunk_wait_seconds_bucket", { topic: payments, le: "0.5" })).toBe(2);
    expect(v("chunk_wait_seconds_bucket", { topic: raw, le: "2.5" })).toBe(0);
    expect(v("chunk_wait_seconds_bucket", { topic: raw, le: "5" })).toBe(1);
    expect(v("chunk_wait_seconds_sum", { topic: raw })).toBe(3);
    expect(v("running")).toBe(0);
  });
});

describe("connector restarts", () => {
  it("counts the supervisor's restarts per connector, every connector at 0 from the start", async () => {
    const registry = new Registry();
    const restarts = new Map<string, number>();
    registerConnectorRestarts(registry, ["p-crm", "p-telemetry"], restarts);
    let samples = await scrape(registry);
    expect(sampleValue(samples, "bionicpro_connector_restarts_total", { connector: "p-crm" })).toBe(0);
    expect(sampleValue(samples, "bionicpro_connector_restarts_total", { connector: "p-telemetry" })).toBe(0);
    restarts.set("p-crm", 2);
    samples = await scrape(registry);
    expect(sampleValue(samples, "bionicpro_connector_restarts_total", { connector: "p-crm" })).toBe(2);
    restarts.set("p-crm", 3);
    restarts.set("p-telemetry", 1);
    // A scrape reads the count as it is: two scrapes in a row add nothing twice.
    await registry.metrics();
    samples = await scrape(registry);
    expect(sampleValue(samples, "bionicpro_connector_restarts_total", { connector: "p-crm" })).toBe(3);
    expect(sampleValue(samples, "bionicpro_connector_restarts_total", { connector: "p-telemetry" })).toBe(1);
  });
});

describe("createMetricsRegistry", () => {
  it("makes independent registries whose every series (process metrics too) starts with bionicpro_", async () => {
    const a = createMetricsRegistry();
    const b = createMetricsRegistry();
    new PipelineMetrics(a, ["t"], () => true);
    const names = a.getMetricsAsArray().map((m) => m.name);
    expect(names.every((n) => n.startsWith("bionicpro_"))).toBe(true);
    expect(names).toContain("bionicpro_process_resident_memory_bytes");
    expect(names).toContain("bionicpro_process_cpu_seconds_total");
    expect(names).toContain("bionicpro_nodejs_eventloop_lag_seconds");
    expect(b.getSingleMetric("bionicpro_consumer_records_applied_total")).toBeUndefined();
  });
});

describe("exposition", () => {
  it("serves another thread's metrics with the registry's: a series both have is summed, the rest kept as is", async () => {
    const main = createMetricsRegistry();
    registerConnectorRestarts(main, ["p-crm"], new Map([["p-crm", 2]]));
    const worker = new Registry();
    const metrics = new PipelineMetrics(worker, ["t"], () => true);
    metrics.chunkApplied({
      topic: "t",
      partition: 0,
      records: 7,
      changes: 9,
      deadLetters: 1,
      reemitted: 0,
      resets: 0,
      repaired: false,
      seconds: 0.02,
      waitSeconds: 0,
    });
    // Collectors that fail in this scrape: each counts once per registry it is on.
    const failing = () => Promise.reject(new Error("down"));
    scrapeReader(main, "kafka", 1000, failing);
    scrapeReader(worker, "kafka", 1000, failing);
    scrapeReader(worker, "postgres", 1000, failing);

    const text = await exposition(main, [await worker.getMetricsAsJSON()]);
    const samples = parseExposition(text);
    const errors = "bionicpro_metrics_collector_errors_total";
    expect(sampleValue(samples, errors, { collector: "kafka" })).toBe(2);
    expect(sampleValue(samples, errors, { collector: "postgres" })).toBe(1);
    expect(text.match(new RegExp(`^# TYPE ${errors} `, "gm"))?.length).toBe(1);
    expect(sampleValue(samples, "bionicpro_connector_restarts_total", { connector: "p-crm" })).toBe(2);
    expect(sampleValue(samples, "bionicpro_consumer_records_applied_total", { topic: "t" })).toBe(7);
    expect(sampleValue(samples, "bionicpro_consumer_dead_letters_total", { topic: "t" })).toBe(1);
    expect(
      sampleValue(samples, "bionicpro_consumer_chunk_apply_duration_seconds_count", { topic: "t" }),
    ).toBe(1);
    expect(
      sampleValue(samples, "bionicpro_consumer_chunk_apply_duration_seconds_bucket", {
        topic: "t",
        le: "0.025",
      }),
    ).toBe(1);
    // Process metrics whose own aggregator would drop or average them in a cluster are kept.
    expect(sampleValue(samples, "bionicpro_process_start_time_seconds")).toBeGreaterThan(0);
    expect(text).toContain("# TYPE bionicpro_consumer_chunk_apply_duration_seconds histogram");
    const names = (text: string) => parseExposition(text).map((sample) => sample.name);
    expect(names(await exposition(main, []))).toEqual(names(await main.metrics()));
  });
});

describe("freshness", () => {
  it("sets now - data_as_of per source and overall; leaves unknown sources out; a failed read counts once", async () => {
    const registry = new Registry();
    let reads = 0;
    let fail = false;
    registerFreshness(registry, {
      timeoutMs: 1000,
      read: async () => {
        reads += 1;
        if (fail) throw new Error("ClickHouse away");
        return {
          sources: [
            { source: "crm", dataAsOf: "2026-10-01T00:00:00.000Z", lagSeconds: 2.5 },
            { source: "telemetry", dataAsOf: null, lagSeconds: null },
          ],
          dataAsOf: null,
          lagSeconds: null,
        };
      },
    });
    let samples = await scrape(registry);
    expect(reads).toBe(1);
    expect(sampleValue(samples, "bionicpro_source_freshness_seconds", { source: "crm" })).toBe(2.5);
    expect(
      sampleValue(samples, "bionicpro_source_freshness_seconds", { source: "telemetry" }),
    ).toBeUndefined();
    expect(sampleValue(samples, "bionicpro_freshness_seconds")).toBeNaN();
    fail = true;
    samples = await scrape(registry);
    expect(reads).toBe(2);
    expect(sampleValue(samples, "bionicpro_source_freshness_seconds", { source: "crm" })).toBeUndefined();
    expect(sampleValue(samples, "bionicpro_metrics_collector_errors_total", { collector: "freshness" })).toBe(
      1,
    );
  });
});

describe("report cache", () => {
  it("exports the cache's totals as they stand at each scrape", async () => {
    const registry = new Registry();
    const stats = { hits: 0, misses: 0, discarded: 0, freshnessReads: 0, entries: 0 };
    registerReportCache(registry, () => stats);
    const read = (samples: Awaited<ReturnType<typeof scrape>>) => [
      sampleValue(samples, "bionicpro_report_cache_reads_total", { result: "hit" }),
      sampleValue(samples, "bionicpro_report_cache_reads_total", { result: "miss" }),
      sampleValue(samples, "bionicpro_report_cache_reads_total", { result: "discarded" }),
      sampleValue(samples, "bionicpro_report_cache_freshness_reads_total"),
      sampleValue(samples, "bionicpro_report_cache_entries"),
    ];
    Object.assign(stats, { hits: 7, misses: 3, discarded: 1, freshnessReads: 4, entries: 2 });
    expect(read(await scrape(registry))).toEqual([7, 3, 1, 4, 2]);
    expect(read(await scrape(registry))).toEqual([7, 3, 1, 4, 2]);
    Object.assign(stats, { hits: 10, freshnessReads: 9, entries: 1 });
    expect(read(await scrape(registry))).toEqual([10, 3, 1, 9, 1]);
  });
});

describe("helpers", () => {
  it("withTimeout rejects after the time, shared runs one read for concurrent callers", async () => {
    await expect(withTimeout(new Promise(() => undefined), 20, "waiting")).rejects.toThrow(
      "waiting took longer than 20 ms",
    );
    await expect(withTimeout(Promise.resolve(7), 1000, "x")).resolves.toBe(7);
    let calls = 0;
    const read = shared(async () => {
      calls += 1;
      return calls;
    });
    expect(await Promise.all([read(), read(), read()])).toEqual([1, 1, 1]);
    expect(await read()).toBe(2);
  });

  it("scrapeAllowed: open without a token, else exactly Bearer <token>", () => {
    expect(scrapeAllowed(undefined, null)).toBe(true);
    expect(scrapeAllowed("Bearer s3cret", "s3cret")).toBe(true);
    expect(scrapeAllowed("bearer s3cret", "s3cret")).toBe(true);
    expect(scrapeAllowed(undefined, "s3cret")).toBe(false);
    expect(scrapeAllowed("Bearer s3cre", "s3cret")).toBe(false);
    expect(scrapeAllowed("Basic s3cret", "s3cret")).toBe(false);
    expect(scrapeAllowed("Bearer s3cret x", "s3cret")).toBe(false);
  });

  it("the slot query reads the confirmed position of the named slots", () => {
    expect(SLOT_LAG_SQL).toContain("pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)");
    expect(SLOT_LAG_SQL).toContain("WHERE slot_name = ANY($1::text[])");
  });
});

describe("startMetricsServer (loopback)", () => {
  it("serves GET /metrics with the token, 401 without, 404 elsewhere", async () => {
    const registry = new Registry();
    new PipelineMetrics(registry, ["x.crm.crm_users"], () => true);
    const server = await startMetricsServer({ registry, host: "127.0.0.1", port: 0, token: "tok" });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      expect((await fetch(server.url)).status).toBe(401);
      const ok = await fetch(server.url, { headers: { authorization: "Bearer tok" } });
      expect(ok.status).toBe(200);
      expect(ok.headers.get("content-type")).toBe(registry.contentType);
      const samples = parseExposition(await ok.text());
      expect(
        sampleValue(samples, "bionicpro_consumer_records_applied_total", { topic: "x.crm.crm_users" }),
      ).toBe(0);
      expect((await fetch(server.url.replace("/metrics", "/other"))).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
