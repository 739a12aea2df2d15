import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createClickHouseClient } from "../../clickhouse/client.js";
import { migrate } from "../../clickhouse/migrate.js";
import { bearer, startTestApi, type TestApi } from "../../test/harness/api-app.js";
import { expectProblem } from "../../test/harness/problems.js";
import { loadReportFixture } from "../../test/harness/report-fixture.js";
import { buildApp } from "../app.js";
import { createTokenVerifier } from "../auth/verifier.js";
import { pipelineStatus } from "../consumer-status.js";
import { loadMigrations } from "../../clickhouse/migrate.js";

const migrationCount = (await loadMigrations()).length;

/** Probes before and after the migrations, with and without consumers, and without ClickHouse. */
vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

let t: TestApi;

beforeAll(async () => {
  t = await startTestApi({ migrate: false });
});

afterAll(async () => {
  await t?.close();
});

const get = (url: string, app = t.app) => app.inject({ method: "GET", url });

describe("before the migrations", () => {
  it("is live, not ready, and degraded", async () => {
    expect((await get("/health/live")).json()).toEqual({ status: "ok" });
    const ready = await get("/health/ready");
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({ status: "not_ready", reason: "no migrations applied" });
    const health = await get("/health");
    expect(health.statusCode).toBe(200);
    expect(health.json()).toMatchObject({
      status: "degraded",
      checks: {
        clickhouse: { status: "up", error: null },
        marts: { status: "not_ready", migrations_applied: 0, migrations_expected: migrationCount },
        consumers: null,
      },
      data_as_of: null,
      lag_seconds: null,
    });
  });
});

describe("after the migrations", () => {
  beforeAll(async () => {
    await migrate(t.writer, t.database);
    await loadReportFixture(t.writer, t.database);
  });

  it("is ready, ok, and reports the freshness per source", async () => {
    expect((await get("/health/ready")).json()).toEqual({ status: "ok" });
    const health = (await get("/health")).json();
    expect(health).toMatchObject({
      status: "ok",
      checks: {
        marts: {
          status: "ready",
          migrations_applied: migrationCount,
          migrations_expected: migrationCount,
          reason: null,
        },
      },
      sources: [
        { source: "crm", data_as_of: "2024-03-10T11:58:59.999Z", lag_seconds: 60.001 },
        { source: "telemetry", data_as_of: "2024-03-10T11:58:59.999Z", lag_seconds: 60.001 },
      ],
      data_as_of: "2024-03-10T11:58:59.999Z",
      lag_seconds: 60.001,
    });
  });

  it("shows the consumers' status and lag from a provider; failed consumers degrade it", async () => {
    const pipeline = {
      stats: { chunks: 4, records: 120, deadLetters: 1, lastFlushAt: Date.parse("2024-03-10T11:59:30Z") },
      error: undefined as Error | undefined,
    };
    const app = await t.variant(
      {},
      { consumerStatus: pipelineStatus(pipeline, async () => 7, { lagTtlMs: 0 }) },
    );
    expect((await get("/health", app)).json()).toMatchObject({
      status: "ok",
      checks: {
        consumers: {
          status: "running",
          lag: 7,
          records: 120,
          chunks: 4,
          dead_letters: 1,
          last_flush_at: "2024-03-10T11:59:30.000Z",
          error: null,
        },
      },
    });
    pipeline.error = new Error("ClickHouse unavailable for 600 s");
    const failed = (await get("/health", app)).json();
    expect(failed.status).toBe("degraded");
    expect(failed.checks.consumers).toMatchObject({
      status: "failed",
      error: "ClickHouse unavailable for 600 s",
    });
  });

  it("a lag probe that fails reports lag null, not an unhealthy API", async () => {
    const pipeline = {
      stats: { chunks: 0, records: 0, deadLetters: 0, lastFlushAt: undefined },
      error: undefined,
    };
    const provider = pipelineStatus(pipeline, () => Promise.reject(new Error("broker down")), {
      lagTtlMs: 0,
    });
    expect(await provider()).toMatchObject({ status: "running", lag: null, last_flush_at: null });
  });
});

describe("without ClickHouse", () => {
  it("/health is down (503), /health/ready not ready, reports 503; /health/live still answers", async () => {
    const gone = createClickHouseClient({ path: t.config.clickhouse.path as string, database: t.database });
    await gone.close();
    const app = await buildApp({
      clickhouse: {
        client: gone,
        database: t.database,
        openSqlClient: () => Promise.reject(new Error("closed")),
      },
      auth: createTokenVerifier(t.config.auth),
      clock: () => new Date("2024-03-10T12:00:00Z"),
      config: { ...t.config, logLevel: "silent" },
    });
    try {
      const health = await get("/health", app);
      expect(health.statusCode).toBe(503);
      expect(health.json()).toMatchObject({ status: "down", checks: { clickhouse: { status: "down" } } });
      const ready = await get("/health/ready", app);
      expect(ready.statusCode).toBe(503);
      expect((await get("/health/live", app)).statusCode).toBe(200);
      const report = await app.inject({
        method: "GET",
        url: "/reports/user/1?month=2024-02",
        headers: bearer(t.issuer.owner(1)),
      });
      expectProblem(report, "CLICKHOUSE_UNAVAILABLE");
    } finally {
      await app.close();
    }
  });
});
