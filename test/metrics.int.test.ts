import { readFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadApiConfig } from "../api/config.js";
import { startApi, type RunningApi } from "../api/start.js";
import { createClickHouseClient } from "../clickhouse/client.js";
import { connectorStatus } from "../connectors/apply.js";
import { connectorName, slotNameFor } from "../connectors/render.js";
import { dataTopics, isHeartbeatTopic, sourceTopics } from "../consumers/src/runtime/pipeline.js";
import { DEMO_USERS } from "../keycloak/realm.js";
import { createMetricsRegistry } from "../observability/registry.js";
import { repoRoot } from "../scripts/config.js";
import {
  endOffsets,
  insertTestPayment,
  openPipelineRun,
  sourceQuery,
  waitForDrain,
  type PipelineRun,
  type TestPipeline,
} from "./harness/pipeline.js";
import { passwordGrant } from "./harness/keycloak.js";
import { startPrometheus } from "./harness/prometheus.js";
import { parseExposition, sampleSum, sampleValue, type Sample } from "./harness/prometheus-text.js";

/**
 * GET /metrics of the all-in-one process (`npm start`'s wiring: one registry carries the consumers'
 * and the API's series) against the real stack: applied records equal what the sources wrote, lag
 * is 0 after a drain, a poison record counts as a dead letter, request durations are labelled by
 * route pattern, and the replication slot's lag rises while the run's own connector is paused and
 * falls once it is resumed.
 */
const TOKEN = "metrics-int-test-token";
const month = "2026-10";

let ctx: PipelineRun;
let marts: TestPipeline;
let registry: Registry;
let api: RunningApi;

beforeAll(async () => {
  ctx = await openPipelineRun({ telemetryDensity: 0.01, seed: 11 });
  ctx.config.metrics.collectTimeoutMs = 15_000;
  registry = createMetricsRegistry();
  marts = await ctx.startPipeline("marts", { metrics: registry });
  api = await startApi({
    config: loadApiConfig({
      CLICKHOUSE_PATH: ctx.dataDir,
      CLICKHOUSE_DATABASE: ctx.database,
      BIONICPRO_API_PORT: "0",
      BIONICPRO_API_LOG_LEVEL: "warn",
      BIONICPRO_METRICS_TOKEN: TOKEN,
      METRICS_COLLECT_TIMEOUT_MS: "15000",
    }),
    clickhouse: () => createClickHouseClient(ctx.config.clickhouse),
    appliedChunks: marts.pipeline.applied,
    metrics: registry,
  });
}, 600_000);

afterAll(async () => {
  await api?.close().catch(() => undefined);
  // The connector may still be paused if a test failed half-way: closeCdcRun deletes it either way.
  await ctx?.close();
}, 180_000);

async function scrape(): Promise<Sample[]> {
  const response = await fetch(`${api.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  return parseExposition(await response.text());
}

/** Sum of the end offsets of a topic's partitions. */
async function recordsIn(topic: string): Promise<number> {
  const ends = await endOffsets(ctx.run, [topic]);
  return [...ends.values()].reduce((n, e) => n + Number(e), 0);
}

const count = async (source: "crm" | "telemetry", table: string): Promise<number> => {
  const [row] = await sourceQuery<{ n: string }>(ctx.run, source, `SELECT count(*) AS n FROM ${table}`);
  return Number(row?.n);
};

describe("GET /metrics", () => {
  it("answers 401 METRICS_TOKEN_INVALID without the token, and is not in the OpenAPI document", async () => {
    const missing = await fetch(`${api.url}/metrics`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toBe("Bearer");
    expect(((await missing.json()) as { code: string }).code).toBe("METRICS_TOKEN_INVALID");
    const wrong = await fetch(`${api.url}/metrics`, { headers: { authorization: "Bearer nope" } });
    expect(wrong.status).toBe(401);
    const openapi = (await (await fetch(`${api.url}/openapi.json`)).json()) as { paths: object };
    expect(Object.keys(openapi.paths)).not.toContain("/metrics");
  });

  it("after a drain: records applied equal the records in each topic, changes equal the source rows, lag 0, no dead letters", async () => {
    const { run, config } = ctx;
    await waitForDrain(run, config.group, { pipelines: [marts] });
    const samples = await scrape();
    for (const topic of dataTopics(run.topicPrefix)) {
      expect(sampleValue(samples, "bionicpro_consumer_records_applied_total", { topic }), topic).toBe(
        await recordsIn(topic),
      );
      expect(sampleValue(samples, "bionicpro_consumer_lag_records", { topic, partition: "0" }), topic).toBe(
        0,
      );
      expect(sampleValue(samples, "bionicpro_consumer_dead_letters_total", { topic }), topic).toBe(0);
    }
    // The initial snapshot: one change row per payment row (a read is +after).
    const payments = run.topic("crm", "crm_payments");
    expect(sampleValue(samples, "bionicpro_consumer_changes_applied_total", { topic: payments })).toBe(
      await count("crm", "crm_payments"),
    );
    // Every source topic, heartbeats included, has its series from the start.
    expect(
      samples
        .filter((s) => s.name === "bionicpro_consumer_records_applied_total")
        .map((s) => s.labels.topic)
        .sort(),
    ).toEqual([...sourceTopics(run.topicPrefix)].sort());
    expect(sampleValue(samples, "bionicpro_consumer_running")).toBe(1);
    expect(sampleValue(samples, "bionicpro_metrics_collector_errors_total", {})).toBeUndefined();
    // Histogram: a chunk of payments took between 0 and the +Inf bucket.
    const applied = sampleValue(samples, "bionicpro_consumer_chunk_apply_duration_seconds_count", {
      topic: payments,
    });
    expect(applied).toBeGreaterThanOrEqual(1);
    expect(
      sampleValue(samples, "bionicpro_consumer_chunk_apply_duration_seconds_bucket", {
        topic: payments,
        le: "+Inf",
      }),
    ).toBe(applied);
    // Every applied chunk also tells how long its records waited before it started.
    expect(sampleValue(samples, "bionicpro_consumer_chunk_wait_seconds_count", { topic: payments })).toBe(
      applied,
    );
    // Freshness is known for both sources once everything is applied.
    for (const source of ["crm", "telemetry"])
      expect(sampleValue(samples, "bionicpro_source_freshness_seconds", { source })).toBeGreaterThanOrEqual(
        0,
      );
    expect(sampleValue(samples, "bionicpro_freshness_seconds")).toBeGreaterThanOrEqual(0);
    // The slots of the run's connectors are streaming.
    for (const source of ["crm", "telemetry"] as const)
      expect(
        sampleValue(samples, "bionicpro_replication_slot_active", {
          slot: slotNameFor(run.topicPrefix, source),
        }),
      ).toBe(1);
    // Process metrics under the project's prefix.
    expect(sampleValue(samples, "bionicpro_process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(samples.some((s) => s.name === "bionicpro_nodejs_eventloop_lag_p99_seconds")).toBe(true);
  });

  it("a poison record is one dead letter; an insert, update and delete are 1 + 2 + 1 changes", async () => {
    const { run, config } = ctx;
    const topic = run.topic("crm", "crm_payments");
    const before = await scrape();
    const changesBefore = sampleValue(before, "bionicpro_consumer_changes_applied_total", {
      topic,
    }) as number;
    const producer = run.kafka.producer();
    await producer.connect();
    try {
      await producer.send({
        topic,
        acks: -1,
        messages: [{ key: Buffer.from("poison"), value: Buffer.from("not avro at all") }],
      });
    } finally {
      await producer.disconnect();
    }
    await insertTestPayment(run, {
      id: 9_700_001,
      status: "pending",
      amount: "10.00",
      description: "metrics test",
      paidAt: "2026-10-20 10:00:00+00",
      createdAt: "2026-10-20 10:00:01+00",
    });
    await sourceQuery(run, "crm", "UPDATE crm_payments SET status = 'success' WHERE payment_id = 9700001");
    await sourceQuery(run, "crm", "DELETE FROM crm_payments WHERE payment_id = 9700001");
    await waitForDrain(run, config.group, { pipelines: [marts] });
    const after = await scrape();
    expect(sampleValue(after, "bionicpro_consumer_dead_letters_total", { topic })).toBe(1);
    expect(sampleValue(after, "bionicpro_consumer_records_applied_total", { topic })).toBe(
      await recordsIn(topic),
    );
    expect(sampleValue(after, "bionicpro_consumer_changes_applied_total", { topic })).toBe(changesBefore + 4);
    expect(sampleValue(after, "bionicpro_consumer_lag_records", { topic, partition: "0" })).toBe(0);
    expect(sampleSum(after, "bionicpro_consumer_dead_letters_total")).toBe(1);
  });

  it("a heartbeat chunk records no intent, only applied: one one-row insert, not two", async () => {
    const { run, config } = ctx;
    await waitForDrain(run, config.group, { pipelines: [marts] });
    const heartbeats = sourceTopics(run.topicPrefix).filter(isHeartbeatTopic);
    expect(heartbeats).toHaveLength(2);
    const chunks = (samples: Sample[], topics: readonly string[]) =>
      topics.reduce(
        (n, topic) =>
          n + (sampleValue(samples, "bionicpro_consumer_chunk_apply_duration_seconds_count", { topic }) ?? 0),
        0,
      );
    const steps = (samples: Sample[], operation: string) =>
      sampleValue(samples, "bionicpro_consumer_step_duration_seconds_count", { operation }) ?? 0;
    const before = await scrape();
    // Nothing writes to the sources now: only Debezium's heartbeats (one a second per source) arrive.
    let after = before;
    await expect
      .poll(
        async () => {
          after = await scrape();
          return chunks(after, heartbeats) - chunks(before, heartbeats);
        },
        { timeout: 60_000, interval: 500 },
      )
      .toBeGreaterThanOrEqual(4);
    expect(chunks(after, dataTopics(run.topicPrefix)) - chunks(before, dataTopics(run.topicPrefix))).toBe(0);
    expect(steps(after, "recording intent") - steps(before, "recording intent")).toBe(0);
    expect(steps(after, "recording applied") - steps(before, "recording applied")).toBe(
      chunks(after, heartbeats) - chunks(before, heartbeats),
    );
  });

  it("counts the report cache's reads: a month report's four reads miss once, then hit", async () => {
    await waitForDrain(ctx.run, ctx.config.group, { pipelines: [marts] });
    const { username, password } = DEMO_USERS.support1;
    const token = await passwordGrant(username, password);
    // A user and month no other test reads: whether the user exists, their devices, their billing
    // and their devices' figures are four reads of the cache.
    const report = async () =>
      (
        await fetch(`${api.url}/reports/user/2?month=2026-09`, {
          headers: { authorization: `Bearer ${token}` },
        })
      ).status;
    const reads = (samples: Sample[], result: string) =>
      sampleValue(samples, "bionicpro_report_cache_reads_total", { result }) ?? 0;
    const before = await scrape();
    expect(await report()).toBe(200);
    const first = await scrape();
    expect(await report()).toBe(200);
    const second = await scrape();
    expect([
      reads(first, "miss") - reads(before, "miss"),
      reads(first, "hit") - reads(before, "hit"),
    ]).toEqual([4, 0]);
    expect([
      reads(second, "miss") - reads(first, "miss"),
      reads(second, "hit") - reads(first, "hit"),
    ]).toEqual([0, 4]);
    expect(sampleValue(second, "bionicpro_report_cache_entries")).toBeGreaterThanOrEqual(4);
    expect(sampleValue(second, "bionicpro_report_cache_freshness_reads_total")).toBeGreaterThanOrEqual(1);
  });

  it("labels request durations with the route pattern, never the URL's ids", async () => {
    const samples0 = await scrape();
    const seen = (samples: Sample[], labels: Record<string, string>) =>
      sampleValue(samples, "bionicpro_http_request_duration_seconds_count", labels) ?? 0;
    const reportLabels = { method: "GET", route: "/reports/user/:user_id", status_code: "401" };
    const unmatchedLabels = { method: "GET", route: "unmatched", status_code: "404" };
    const reports0 = seen(samples0, reportLabels);
    const unmatched0 = seen(samples0, unmatchedLabels);
    for (const id of [1, 2, 3])
      expect((await fetch(`${api.url}/reports/user/${id}?month=${month}`)).status).toBe(401);
    expect((await fetch(`${api.url}/no/such/route/42`)).status).toBe(404);
    const samples = await scrape();
    expect(seen(samples, reportLabels)).toBe(reports0 + 3);
    expect(seen(samples, unmatchedLabels)).toBe(unmatched0 + 1);
    const routes = new Set(
      samples
        .filter((s) => s.name === "bionicpro_http_request_duration_seconds_count")
        .map((s) => s.labels.route),
    );
    expect([...routes].filter((r) => /\d/.test(r ?? ""))).toEqual([]);
    expect(routes.has("/metrics")).toBe(true);
  });

  it("replication slot lag rises while the run's telemetry connector is paused and falls after it resumes", async () => {
    const { run, config } = ctx;
    const connect = run.config.connectUrl;
    const name = connectorName(run.topicPrefix, "telemetry");
    const slot = slotNameFor(run.topicPrefix, "telemetry");
    const slotLag = async () =>
      sampleValue(await scrape(), "bionicpro_replication_slot_lag_bytes", {
        slot,
        database: run.dbs.telemetryDb,
      });
    const setState = async (action: "pause" | "resume", state: string) => {
      const response = await fetch(`${connect}/connectors/${name}/${action}`, { method: "PUT" });
      expect(response.status).toBe(202);
      await expect
        .poll(
          async () => {
            const status = await connectorStatus(connect, name);
            return [status?.connector.state, ...(status?.tasks ?? []).map((t) => t.state)];
          },
          { timeout: 60_000, interval: 250 },
        )
        .toEqual([state, state]);
    };

    await setState("pause", "PAUSED");
    // Debezium confirms no LSN while paused: WAL written now stays behind the slot.
    const lsn = async () =>
      (await sourceQuery<{ lsn: string }>(run, "telemetry", "SELECT pg_current_wal_lsn()::text AS lsn"))[0]
        ?.lsn;
    const from = await lsn();
    await sourceQuery(
      run,
      "telemetry",
      `INSERT INTO raw_telemetry (sample_id, chip_id, event_time, response_time_ms, battery_level, error_code)
       SELECT (SELECT coalesce(max(sample_id), 0) FROM raw_telemetry) + i, 'METRICS-TEST-CHIP',
              timestamptz '2026-10-21 12:00:00+00' + i * interval '1 second', 100, 90, 0
       FROM generate_series(1, 20000) AS i`,
    );
    const [{ bytes } = { bytes: "0" }] = await sourceQuery<{ bytes: string }>(
      run,
      "telemetry",
      "SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::text AS bytes",
      [await lsn(), from],
    );
    const walBytes = Number(bytes);
    expect(walBytes).toBeGreaterThan(1_000_000);
    await expect.poll(slotLag, { timeout: 30_000, interval: 500 }).toBeGreaterThanOrEqual(walBytes);
    // Still behind a few seconds later: nothing confirms while paused.
    await sleep(3000);
    expect(await slotLag()).toBeGreaterThanOrEqual(walBytes);

    await setState("resume", "RUNNING");
    await expect.poll(slotLag, { timeout: 90_000, interval: 500 }).toBeLessThan(walBytes);
    await waitForDrain(run, config.group, { pipelines: [marts] });
    const samples = await scrape();
    const topic = run.topic("telemetry", "raw_telemetry");
    expect(sampleValue(samples, "bionicpro_consumer_records_applied_total", { topic })).toBe(
      await recordsIn(topic),
    );
    expect(sampleValue(samples, "bionicpro_consumer_lag_records", { topic, partition: "0" })).toBe(0);
  }, 300_000);

  it("Debian's Prometheus scrapes it with the repo's job, and every Grafana panel query evaluates", async () => {
    const { run, config } = ctx;
    await waitForDrain(run, config.group, { pipelines: [marts] });
    const prometheus = await startPrometheus({
      job: "bionicpro-api",
      target: new URL(api.url).host,
      bearerToken: TOKEN,
    });
    try {
      const value = async (expr: string) => (await prometheus.query(expr)).map((r) => r.value[1]);
      await expect
        .poll(() => value('up{job="bionicpro-api"}'), { timeout: 30_000, interval: 250 })
        .toEqual(["1"]);
      // What Prometheus stored equals what the process exposes (quiet after the drain).
      const payments = run.topic("crm", "crm_payments");
      const applied = `bionicpro_consumer_records_applied_total{topic="${payments}"}`;
      await expect
        .poll(async () => value(applied), { timeout: 30_000, interval: 250 })
        .toEqual([
          String(
            sampleValue(await scrape(), "bionicpro_consumer_records_applied_total", { topic: payments }),
          ),
        ]);

      // Every panel's expression parses and evaluates; it selects data wherever its metrics have
      // series in the process's exposition (rates need two scrapes: polled; the retries counter has
      // series only once something was retried).
      const dashboard = JSON.parse(
        readFileSync(path.join(repoRoot, "ops/grafana/dashboards/bionicpro.json"), "utf8"),
      ) as { panels: { title: string; targets: { expr: string }[] }[] };
      const exposed = new Set((await scrape()).map((s) => s.name.replace(/_(bucket|count|sum)$/, "")));
      const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
      const withSeries = exprs.filter((expr) =>
        [...expr.matchAll(/bionicpro_[a-z0-9_]+/g)].every((m) =>
          exposed.has(m[0].replace(/_(bucket|count|sum)$/, "")),
        ),
      );
      await expect
        .poll(
          async () => {
            const empty: string[] = [];
            for (const expr of withSeries) if ((await prometheus.query(expr)).length === 0) empty.push(expr);
            return empty;
          },
          { timeout: 30_000, interval: 1000 },
        )
        .toEqual([]);
      for (const expr of exprs) await expect(prometheus.query(expr), expr).resolves.toBeInstanceOf(Array);
    } finally {
      await prometheus.stop();
    }
  }, 180_000);
});
