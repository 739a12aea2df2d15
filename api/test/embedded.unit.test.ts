import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createClickHouseClient } from "../../clickhouse/client.js";
import { bearer, startTestApi, type TestApi } from "../../test/harness/api-app.js";
import { fixtureClock } from "../../test/harness/report-fixture.js";
import { startApi } from "../start.js";

/**
 * The embedded default: the consumers and the API in one process on one chDB data directory, each
 * with its own connection. A report must not wait behind the consumers' insert; startApi listens
 * for real next to them.
 */
vi.setConfig({ testTimeout: 180_000, hookTimeout: 120_000 });

let t: TestApi;

beforeAll(async () => {
  t = await startTestApi();
});

afterAll(async () => {
  await t?.close();
});

/** A large block through the raw_telemetry chain (three materialized views), as a busy consumer inserts. */
const bigInsert = (rows: number) =>
  `INSERT INTO ${t.database}.raw_telemetry_changes
   SELECT 1, number, concat('LOAD-', toString(number % 500)), toDateTime64('2024-02-01 00:00:00', 6, 'UTC') + number,
          toInt32(number % 300), toInt16(number % 100), toInt16(0), 1, now64(3, 'UTC')
   FROM numbers(${rows})`;

async function timed<T>(
  work: Promise<T>,
  started = performance.now(),
): Promise<{ value: T; ms: number; at: number }> {
  const value = await work;
  const at = performance.now();
  return { value, ms: at - started, at };
}

describe("a second connection to the consumers' data directory", () => {
  it("answers a report while the consumers' connection is inside a long insert", async () => {
    const rows = 2_000_000;
    const report = () =>
      t.app.inject({
        method: "GET",
        url: "/reports/user/1?month=2024-02",
        headers: bearer(t.issuer.owner(1)),
      });
    await report();
    const alone = await timed(report());
    expect(alone.value.statusCode).toBe(200);

    const insertStarted = performance.now();
    const insert = timed(t.writer.command({ query: bigInsert(rows) }), insertStarted);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const during = await timed(report());
    const inserted = await insert;
    expect(during.value.statusCode).toBe(200);
    expect(during.value.json()).toEqual(alone.value.json());
    // The report finished while the insert was still running.
    expect(during.at).toBeLessThan(inserted.at);

    // The same connection, for contrast: a report query queues behind the insert.
    const sameStarted = performance.now();
    const sameInsert = timed(t.writer.command({ query: bigInsert(rows) }), sameStarted);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const queued = await timed(
      t.writer.query({ query: `SELECT count() FROM ${t.database}.dim_users FINAL`, format: "JSONEachRow" }),
    );
    const sameInserted = await sameInsert;
    console.log(
      `[embedded] report alone ${alone.ms.toFixed(0)} ms; during a ${rows}-row insert of ${inserted.ms.toFixed(0)} ms: ` +
        `${during.ms.toFixed(0)} ms on the API's connection; a trivial query on the inserting connection waited ` +
        `${queued.ms.toFixed(0)} ms (insert ${sameInserted.ms.toFixed(0)} ms)`,
    );
    expect(queued.at).toBeGreaterThanOrEqual(sameInserted.at - 5);
  });
});

describe("startApi", () => {
  it("listens next to the consumers with its own connection and serves reports, docs and probes", async () => {
    const api = await startApi({
      config: { ...t.config, port: 0, logLevel: "silent" },
      clickhouse: () =>
        createClickHouseClient({ path: t.config.clickhouse.path as string, database: t.database }),
      clock: () => fixtureClock,
    });
    try {
      expect(api.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const report = await fetch(`${api.url}/reports/user/1?month=2024-02`, {
        headers: bearer(t.issuer.owner(1)),
      });
      expect(report.status).toBe(200);
      expect((await report.json()).financial.arr).toBe("71988.00");
      expect((await fetch(api.docsUrl)).status).toBe(200);
      expect((await fetch(api.openApiUrl)).status).toBe(200);
      expect(await (await fetch(`${api.url}/health/ready`)).json()).toEqual({ status: "ok" });
      const unauthenticated = await fetch(`${api.url}/api/reports`);
      expect(unauthenticated.status).toBe(401);
      expect(unauthenticated.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    } finally {
      await api.close();
    }
  });
});
