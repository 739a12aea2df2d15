import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { openClickHouseSession } from "../../clickhouse/client.js";
import { bearer, startTestApi, type TestApi } from "../../test/harness/api-app.js";
import { expectProblem, serverErrors } from "../../test/harness/problems.js";
import type { ErrorCode } from "../errors.js";
import { engineErrorCode } from "../sql/engine-errors.js";
import { mlSettings } from "../sql/runner.js";

/**
 * POST /api/sql against the real embedded engine: what ML engineers may read, how it comes back
 * (JSON, CSV), and every way around the read-only, PII-free boundary we could think of.
 */
vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

let t: TestApi;
let ml: string;

beforeAll(async () => {
  t = await startTestApi({ env: { BIONICPRO_API_SQL_RATE_LIMIT_MAX: "10000" } });
  ml = t.issuer.mlEngineer();
});

afterAll(async () => {
  await t?.close();
});

const sql = (query: unknown, headers: Record<string, string> = {}, app = t.app) =>
  app.inject({
    method: "POST",
    url: "/api/sql",
    headers: { ...bearer(ml), ...headers },
    payload: query as object,
  });

describe("queries ML engineers may run", () => {
  it("JSON: columns, rows (64-bit integers as strings), freshness", async () => {
    const response = await sql({
      query: "SELECT device_type, count() AS n FROM ml_prosthetics GROUP BY device_type ORDER BY device_type",
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers["content-type"]).toMatch(/^application\/json/);
    expect(response.json()).toMatchObject({
      columns: [
        { name: "device_type", type: "LowCardinality(String)" },
        { name: "n", type: "UInt64" },
      ],
      rows: [
        { device_type: "left_arm", n: "1" },
        { device_type: "left_leg", n: "1" },
        { device_type: "right_leg", n: "1" },
      ],
      row_count: 3,
      data_as_of: "2024-03-10T11:58:59.999Z",
      lag_seconds: 60.001,
    });
  });

  it("money stays exact decimal text; mart tables answer with their aggregate states", async () => {
    const views = await sql({
      query:
        "SELECT user_id, sum(amount) AS paid FROM ml_payments WHERE status = 'success' GROUP BY user_id ORDER BY user_id",
    });
    expect(views.json().rows).toEqual([
      { user_id: 1, paid: "6011.34" },
      { user_id: 2, paid: "12998.99" },
    ]);
    const marts = await sql({
      query:
        "SELECT user_id, toString(month) AS month, sumMerge(total_amount) AS total FROM user_payment_monthly " +
        "GROUP BY user_id, month ORDER BY user_id, month",
    });
    expect(marts.json().rows).toEqual([
      { user_id: 1, month: "2024-01-01", total: "11998.00" },
      { user_id: 1, month: "2024-02-01", total: "5999.00" },
      { user_id: 1, month: "2024-03-01", total: "12.34" },
      { user_id: 2, month: "2024-02-01", total: "12999.00" },
    ]);
  });

  it("CSV by Accept header or by the format field (which wins)", async () => {
    const query = "SELECT user_id, user_uuid FROM ml_users ORDER BY user_id";
    const expected =
      '"user_id","user_uuid"\n1,"00000000-0000-4000-8000-000000000001"\n' +
      '2,"00000000-0000-4000-8000-000000000002"\n3,"00000000-0000-4000-8000-000000000003"\n';
    const byAccept = await sql({ query }, { accept: "text/csv" });
    expect(byAccept.headers["content-type"]).toMatch(/^text\/csv/);
    expect(byAccept.body).toBe(expected);
    const byField = await sql({ query, format: "csv" }, { accept: "application/json" });
    expect(byField.body).toBe(expected);
    const preferred = await sql({ query }, { accept: "application/json;q=0.5, text/csv" });
    expect(preferred.body).toBe(expected);
  });

  it("CTEs, joins, subqueries, qualified names and SELECT without FROM", async () => {
    for (const query of [
      "WITH p AS (SELECT * FROM ml_payments) SELECT count() AS n FROM p",
      "SELECT count() AS n FROM ml_payments AS p INNER JOIN ml_users AS u ON u.user_id = p.user_id",
      "SELECT count() AS n FROM ml_users WHERE user_id IN (SELECT user_id FROM ml_payments)",
      `SELECT count() AS n FROM ${"api_test"}.ml_users`,
      "SELECT 1 AS n",
      "SELECT 1 AS n -- a comment; DROP TABLE dim_users",
      "SELECT 1 AS n /* ; DROP TABLE dim_users */",
      "SELECT 1 AS n;",
      "SELECT count() AS n FROM user_payment_monthly FINAL",
      "SELECT user_id FROM ml_users AS dim_users ORDER BY user_id LIMIT 1",
    ]) {
      const response = await sql({ query });
      expect(response.statusCode, `${query}: ${response.body}`).toBe(200);
    }
  });

  it("logs the statement's shape without literals", async () => {
    await sql({ query: "SELECT count() AS n FROM ml_payments WHERE status = 'failed' AND amount > 1234.56" });
    const line = t
      .logs()
      .find(
        (l) =>
          l.msg === "ml sql" && String(l.sql).includes("1234") === false && String(l.sql).includes("amount"),
      );
    expect(line?.sql).toMatch(/ml_payments/);
    expect(line?.sql).toContain("?");
    expect(t.logText()).not.toContain("1234.56");
    expect(t.logText()).not.toContain("'failed'");
  });
});

describe("queries ML engineers may not run", () => {
  const tableCount = async () => {
    const result = await t.reader.query({
      query: `SELECT count() AS n FROM system.tables WHERE database = 'api_test'`,
      format: "JSONEachRow",
    });
    return Number((await result.json<{ n: number | string }>())[0]?.n);
  };
  let tablesBefore = 0;
  beforeAll(async () => {
    tablesBefore = await tableCount();
  });
  const cases: [string, ErrorCode][] = [
    // personal data and internal tables
    ["SELECT * FROM dim_users", "SQL_FORBIDDEN_RELATION"],
    ["SELECT email FROM api_test.dim_users", "SQL_FORBIDDEN_RELATION"],
    ["SELECT * FROM `dim_users`", "SQL_FORBIDDEN_RELATION"],
    ['SELECT * FROM "api_test"."dim_users"', "SQL_FORBIDDEN_RELATION"],
    ["SELECT * FROM dim_support_tickets", "SQL_FORBIDDEN_RELATION"],
    ["SELECT * FROM payment_changes", "SQL_FORBIDDEN_RELATION"],
    ["SELECT * FROM pipeline_progress", "SQL_FORBIDDEN_RELATION"],
    ["SELECT * FROM schema_migrations", "SQL_FORBIDDEN_RELATION"],
    ["SELECT * FROM user_payment_monthly_mv", "SQL_FORBIDDEN_RELATION"],
    ["SELECT * FROM system.tables", "SQL_FORBIDDEN_RELATION"],
    ["SELECT * FROM system.one", "SQL_FORBIDDEN_RELATION"],
    ["SELECT * FROM information_schema.tables", "SQL_FORBIDDEN_RELATION"],
    ["SELECT * FROM INFORMATION_SCHEMA.COLUMNS", "SQL_FORBIDDEN_RELATION"],
    [
      "SELECT user_id FROM ml_users WHERE user_id IN (SELECT user_id FROM dim_users)",
      "SQL_FORBIDDEN_RELATION",
    ],
    ["SELECT (SELECT any(email) FROM dim_users) AS e", "SQL_FORBIDDEN_RELATION"],
    ["SELECT (SELECT count() FROM system.tables) AS n", "SQL_FORBIDDEN_RELATION"],
    ["SELECT user_id FROM ml_users WHERE (user_id, user_uuid) IN dim_users", "SQL_FORBIDDEN_RELATION"],
    [
      "SELECT u.user_id FROM ml_users AS u JOIN dim_users AS d ON d.user_id = u.user_id",
      "SQL_FORBIDDEN_RELATION",
    ],
    ["WITH dim_users AS (SELECT 1 AS x) SELECT * FROM dim_users", "SQL_FORBIDDEN_RELATION"],
    [
      "SELECT * FROM ml_users UNION ALL SELECT user_id, user_uuid, created_at, updated_at FROM dim_users",
      "SQL_FORBIDDEN_RELATION",
    ],
    ["SELECT * FROM `api_test.dim_users`", "SQL_FORBIDDEN_RELATION"],
    ["WITH (SELECT any(email) FROM dim_users) AS e SELECT e", "SQL_FORBIDDEN_RELATION"],
    ["SELECT arrayMap(x -> (SELECT count() FROM dim_users), [1]) AS a", "SQL_FORBIDDEN_RELATION"],
    // table functions
    ["SELECT * FROM file('/etc/passwd', 'LineAsString')", "SQL_TABLE_FUNCTION"],
    ["SELECT * FROM url('http://127.0.0.1:9/x', 'CSV', 'a String')", "SQL_TABLE_FUNCTION"],
    ["SELECT * FROM remote('127.0.0.1', 'api_test', 'dim_users')", "SQL_TABLE_FUNCTION"],
    ["SELECT * FROM s3('http://127.0.0.1:9/bucket/x.csv')", "SQL_TABLE_FUNCTION"],
    ["SELECT * FROM executable('cat /etc/passwd', 'TSV', 'line String')", "SQL_TABLE_FUNCTION"],
    ["SELECT * FROM merge('api_test', '^dim_')", "SQL_TABLE_FUNCTION"],
    ["SELECT * FROM view(SELECT * FROM dim_users)", "SQL_TABLE_FUNCTION"],
    ["SELECT * FROM numbers(10)", "SQL_TABLE_FUNCTION"],
    ["SELECT * FROM loop(ml_users) LIMIT 1", "SQL_TABLE_FUNCTION"],
    ["SELECT * FROM dictionary('x')", "SQL_TABLE_FUNCTION"],
    [
      "SELECT * FROM ml_users WHERE user_id IN (SELECT number FROM system.numbers LIMIT 3)",
      "SQL_FORBIDDEN_RELATION",
    ],
    // functions that reach outside the query's tables
    ["SELECT file('/etc/passwd') AS f", "SQL_FORBIDDEN_FUNCTION"],
    ["SELECT dictGet('api_test.d', 'email', toUInt64(1)) AS e", "SQL_FORBIDDEN_FUNCTION"],
    ["SELECT joinGet('api_test.dim_users', 'email', 1) AS e", "SQL_FORBIDDEN_FUNCTION"],
    ["SELECT hasColumnInTable('api_test', 'dim_users', 'email') AS h", "SQL_FORBIDDEN_FUNCTION"],
    // more than one statement, or not a SELECT
    ["SELECT 1; SELECT 2", "SQL_MULTIPLE_STATEMENTS"],
    ["SELECT 1; DROP TABLE ml_users", "SQL_MULTIPLE_STATEMENTS"],
    ["SELECT 1 AS x; INSERT INTO dim_users (user_id) VALUES (9)", "SQL_MULTIPLE_STATEMENTS"],
    ["INSERT INTO dim_users (user_id) VALUES (9)", "SQL_NOT_SELECT"],
    ["INSERT INTO ml_users SELECT * FROM ml_users", "SQL_NOT_SELECT"],
    ["DROP TABLE dim_users", "SQL_NOT_SELECT"],
    ["TRUNCATE TABLE payment_changes", "SQL_NOT_SELECT"],
    ["ALTER TABLE dim_users DELETE WHERE 1", "SQL_NOT_SELECT"],
    ["CREATE TABLE x (a Int32) ENGINE = Memory", "SQL_NOT_SELECT"],
    ["SHOW TABLES", "SQL_NOT_SELECT"],
    ["DESCRIBE TABLE dim_users", "SQL_NOT_SELECT"],
    ["EXPLAIN SELECT * FROM dim_users", "SQL_NOT_SELECT"],
    ["SET readonly = 0", "SQL_NOT_SELECT"],
    ["USE system", "SQL_NOT_SELECT"],
    ["SYSTEM FLUSH LOGS", "SQL_NOT_SELECT"],
    ["OPTIMIZE TABLE dim_users FINAL", "SQL_NOT_SELECT"],
    // output options and settings
    ["SELECT 1 FORMAT CSV", "SQL_CLAUSE_NOT_ALLOWED"],
    ["SELECT * FROM ml_users INTO OUTFILE '/tmp/bionicpro-ml-users.csv'", "SQL_CLAUSE_NOT_ALLOWED"],
    ["SELECT 1 SETTINGS readonly = 0", "SQL_CLAUSE_NOT_ALLOWED"],
    ["SELECT * FROM ml_users SETTINGS max_execution_time = 0, max_result_rows = 0", "SQL_CLAUSE_NOT_ALLOWED"],
    // text the engine does not accept
    ["SELEC 1", "SQL_SYNTAX_ERROR"],
    ["SELECT 1 /* unterminated", "SQL_SYNTAX_ERROR"],
    ["SELECT nope FROM ml_users", "SQL_QUERY_FAILED"],
    ["SELECT * FROM DIM_USERS", "SQL_QUERY_FAILED"],
  ];

  it.each(cases)("%s -> %s", async (query, code) => {
    expectProblem(await sql({ query }), code);
  });

  it("left every table as it was and wrote no file", async () => {
    const check = await t.reader.query({
      query: `SELECT (SELECT count() FROM api_test.dim_users FINAL) AS users,
                     (SELECT count() FROM system.tables WHERE database = 'api_test') AS tables`,
      format: "JSONEachRow",
    });
    expect(await check.json()).toEqual([{ users: 3, tables: tablesBefore }]);
    expect(tablesBefore).toBeGreaterThan(40);
    const { existsSync } = await import("node:fs");
    expect(existsSync("/tmp/bionicpro-ml-users.csv")).toBe(false);
  });

  it("refuses bad requests before any SQL runs", async () => {
    expectProblem(await sql({ query: "SELECT 1" }, { accept: "application/xml" }), "NOT_ACCEPTABLE");
    expectProblem(
      await t.app.inject({
        method: "POST",
        url: "/api/sql",
        headers: { ...bearer(ml), "content-type": "text/plain" },
        payload: "SELECT 1",
      }),
      "UNSUPPORTED_MEDIA_TYPE",
    );
    expectProblem(await sql({}), "INVALID_REQUEST");
    expectProblem(await sql({ query: "" }), "INVALID_REQUEST");
    expectProblem(await sql({ query: "SELECT 1", limit: 5 }), "UNKNOWN_PARAMETER");
    expectProblem(await sql({ query: "SELECT 1", format: "xml" }), "INVALID_REQUEST");
  });

  it("logs no refusal as a server error", () => {
    expect(serverErrors(t.logs())).toEqual([]);
  });
});

describe("limits", () => {
  it("time, result rows, memory and query length are enforced by the engine (422) or up front (400)", async () => {
    const app = await t.variant({
      BIONICPRO_API_SQL_MAX_EXECUTION_S: "1",
      BIONICPRO_API_SQL_MAX_RESULT_ROWS: "10",
      BIONICPRO_API_SQL_MAX_MEMORY_BYTES: "20000000",
      BIONICPRO_API_SQL_MAX_QUERY_CHARS: "200",
    });
    const run = (query: string) => sql({ query }, {}, app);
    expect((await run("SELECT arrayJoin(range(10)) AS x")).statusCode).toBe(200);
    expectProblem(await run("SELECT arrayJoin(range(11)) AS x"), "SQL_LIMIT_EXCEEDED");
    expectProblem(await run("SELECT * FROM ml_telemetry_events"), "SQL_LIMIT_EXCEEDED");
    expectProblem(
      await sql({ query: "SELECT arrayJoin(range(11)) AS x", format: "csv" }, {}, app),
      "SQL_LIMIT_EXCEEDED",
    );
    // A failed query's partial output (the CSV header) must not reach the next response.
    expect((await sql({ query: "SELECT 42 AS answer", format: "csv" }, {}, app)).body).toBe('"answer"\n42\n');
    expectProblem(
      await run("SELECT groupArray(x) AS a FROM (SELECT arrayJoin(range(10000000)) AS x)"),
      "SQL_LIMIT_EXCEEDED",
    );
    const started = Date.now();
    expectProblem(
      await run(
        "SELECT count() AS n FROM (SELECT arrayJoin(range(100000)) AS a) AS l, (SELECT arrayJoin(range(100000)) AS b) AS r WHERE sipHash64(a, b) = 0",
      ),
      "SQL_LIMIT_EXCEEDED",
    );
    expect(Date.now() - started).toBeLessThan(15_000);
    expectProblem(await run(`SELECT 1 AS x ${"-- padding ".repeat(30)}`), "SQL_QUERY_TOO_LONG");
  });

  it("the ML session itself is read-only: the engine refuses writes, setting changes, files and URLs", async () => {
    const session = await openClickHouseSession({
      path: t.config.clickhouse.path as string,
      database: t.database,
    });
    const settings = mlSettings(t.config.sql);
    const codeOf = (query: string) =>
      session.query({ query, clickhouse_settings: settings }).then(
        () => null,
        (error: unknown) => engineErrorCode(error),
      );
    try {
      expect(await codeOf("SELECT 1")).toBeNull();
      expect(await codeOf("INSERT INTO dim_users (user_id) VALUES (9)")).toBe(164);
      expect(await codeOf("SELECT * FROM file('/etc/passwd', 'LineAsString')")).toBe(164);
      expect(await codeOf("SELECT * FROM url('http://127.0.0.1:9/x', 'CSV', 'a String')")).toBe(164);
      expect(await codeOf("SELECT 1 SETTINGS max_result_rows = 5")).toBe(164);
    } finally {
      await session.close();
    }
  });
});
