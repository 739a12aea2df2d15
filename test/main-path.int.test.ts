import { rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import type { ClickHouseClient } from "@clickhouse/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClickHouseClient } from "../clickhouse/client.js";
import {
  oracleProstheticMonthly,
  oracleUserDaily,
  oracleUserMonthly,
  type OracleDatabases,
  type OracleProstheticMonthlyRow,
  type OracleUserMonthlyRow,
} from "../clickhouse/oracle/index.js";
import { DEMO_USERS } from "../keycloak/realm.js";
import { readFreshness } from "../clickhouse/freshness.js";
import { formatReconcileResult } from "../consumers/src/reconcile/index.js";
import { readProgress } from "../consumers/src/sink/pipeline-state.js";
import { SOURCE_TABLES } from "../scripts/generate/source-tables.js";
import { simulate } from "../scripts/simulate/index.js";
import { closeCdcRun, openCdcRun, type CdcRun } from "./harness/cdc.js";
import { passwordGrant } from "./harness/keycloak.js";
import { parseExposition, sampleValue } from "./harness/prometheus-text.js";
import {
  killConsumer,
  spawnConsumer,
  START_ENTRY,
  stopConsumer,
  type ConsumerProcess,
} from "./harness/consumer-process.js";
import {
  endOffsets,
  groupAssignments,
  reconcileRun,
  removeDir,
  seconds,
  sourceQuery,
  tempClickHouseDir,
  until,
  waitForDrain,
} from "./harness/pipeline.js";

/**
 * The README's run command as a new user runs it: `npm start` (scripts/start.ts itself, in a child
 * process) on empty source databases brings the stack up, generates the demo data (the seeds' full
 * volumes), creates the connectors, runs the consumers; a live stream of 50k inserts, updates and
 * deletes runs on top while the snapshot is still being consumed. Ctrl-C (SIGINT) stops it cleanly,
 * and reconcile finds zero differences in every mart. Every name the process uses (databases, topic
 * prefix, slots, ClickHouse directory, group) comes from the environment, so it is isolated.
 */
const CHANGES = 50_000;
const DATABASE = "reports";

/** A port nothing listens on now, for the API of the npm start under test. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof address !== "object" || !address) throw new Error("no port");
  return address.port;
}

let run: CdcRun;
let dataDir: string;
let logFile: string;
let group: string;
let start: ConsumerProcess | undefined;
let apiUrl = "";
let clickhouse: ClickHouseClient | undefined;
let passed = false;

beforeAll(async () => {
  run = await openCdcRun();
  dataDir = tempClickHouseDir();
  group = `start-${run.runId}`;
  logFile = path.join(tmpdir(), `bionicpro-start-${run.runId}.log`);
}, 60_000);

afterAll(async () => {
  if (start && !start.exit) await killConsumer(start).catch(() => undefined);
  await clickhouse?.close().catch(() => undefined);
  if (run) await closeCdcRun(run);
  removeDir(dataDir);
  if (passed) rmSync(logFile, { force: true });
  else console.log(`npm start output kept in ${logFile}`);
}, 120_000);

const tail = (proc: ConsumerProcess, lines = 40): string =>
  proc.output().split("\n").slice(-lines).join("\n");

describe("npm start from empty state", () => {
  it("demo data, snapshot and a live stream of 50k changes: the marts equal the oracle, data_as_of is recent", async () => {
    const started = performance.now();
    const apiPort = await freePort();
    apiUrl = `http://127.0.0.1:${apiPort}`;
    start = spawnConsumer({
      entry: START_ENTRY,
      logFile,
      incarnation: 1,
      env: {
        CRM_DB: run.dbs.crmDb,
        TELEMETRY_DB: run.dbs.telemetryDb,
        TOPIC_PREFIX: run.topicPrefix,
        CONSUMER_GROUP: group,
        CLICKHOUSE_PATH: dataDir,
        CLICKHOUSE_DATABASE: DATABASE,
        CLICKHOUSE_URL: "",
        BIONICPRO_API_PORT: String(apiPort),
      },
    });
    const proc = start;
    // Running once the consumer group has a member with every source partition assigned.
    await until(
      "npm start's consumers to join their group",
      async () => {
        if (proc.exit) throw new Error(`npm start exited (${JSON.stringify(proc.exit)}):\n${tail(proc)}`);
        const { state, members } = await groupAssignments(run, group);
        return state === "Stable" && members.length === 1 && members[0]!.partitions.length > 0
          ? true
          : undefined;
      },
      300_000,
    );
    const users = await sourceQuery<{ n: string }>(run, "crm", "SELECT count(*) AS n FROM crm_users");
    expect(Number(users[0]?.n)).toBe(12);
    console.log(`npm start consuming after ${seconds(started)}`);

    // The stream runs while Debezium's snapshot is still being consumed.
    const summary = await simulate({ ...run.dbs, rate: 5_000, maxChanges: CHANGES, seed: 5 });
    expect(summary.total).toBeGreaterThanOrEqual(CHANGES);
    const ops = { insert: 0, update: 0, delete: 0 };
    for (const table of SOURCE_TABLES) {
      for (const op of ["insert", "update", "delete"] as const) ops[op] += summary.changes[table][op];
    }
    expect(ops.update).toBeGreaterThan(0);
    expect(ops.delete).toBeGreaterThan(0);

    await waitForDrain(run, group, { timeoutMs: 420_000 });
    console.log(`drained at ${seconds(started)}`);
    await checkApi(run, apiUrl);
    console.log(`API checked at ${seconds(started)}`);
    // The API check made live changes: everything up to now must be applied before stopping.
    await waitForDrain(run, group, { timeoutMs: 120_000 });
    const ends = await endOffsets(run);
    // GET /metrics of the process: the consumers' series (their worker thread's registry) with the
    // API's and the process's, each once. Every data record was applied once: by topic, its count.
    const samples = parseExposition(await (await fetch(`${apiUrl}/metrics`)).text());
    const recordsIn = new Map<string, number>();
    for (const [id, end] of ends) {
      const topic = id.slice(0, id.lastIndexOf(":"));
      recordsIn.set(topic, (recordsIn.get(topic) ?? 0) + Number(end));
    }
    for (const [topic, records] of recordsIn) {
      if (topic.endsWith(".debezium_heartbeat")) continue;
      expect(sampleValue(samples, "bionicpro_consumer_records_applied_total", { topic }), topic).toBe(
        records,
      );
    }
    expect(samples.filter((s) => s.name === "bionicpro_process_resident_memory_bytes").length).toBe(1);
    expect(sampleValue(samples, "bionicpro_consumer_running")).toBe(1);
    const exit = await stopConsumer(proc, 60_000);
    expect(exit, tail(proc)).toEqual({ code: 0, signal: null });

    clickhouse = createClickHouseClient({ path: dataDir, database: DATABASE });
    // ClickHouse's own progress agrees with Kafka: every data partition applied up to its end.
    for (const row of await readProgress(clickhouse, DATABASE, group)) {
      if (row.topic.endsWith(".debezium_heartbeat")) continue;
      const id = `${row.topic}:${row.partition}`;
      expect({ id, status: row.status, next: row.lastOffset + 1n }).toEqual({
        id,
        status: "applied",
        next: ends.get(id),
      });
    }
    const freshness = await readFreshness(clickhouse, DATABASE);
    for (const s of freshness.sources) expect(s.lagSeconds, s.source).toBeLessThan(10 * 60);
    expect(freshness.dataAsOf).toBe([...freshness.sources.map((s) => s.dataAsOf as string)].sort()[0]);

    const result = await reconcileRun(run, clickhouse, DATABASE);
    console.log(formatReconcileResult(result, 5));
    expect(result.marts.every((m) => m.oracleRows > 0)).toBe(true);
    expect(result.differenceCount, formatReconcileResult(result)).toBe(0);
    passed = true;
  }, 900_000);
});

/** GET/POST against the API of the npm start under test, with a bearer token. */
async function call(url: string, token: () => Promise<string>, init: RequestInit = {}) {
  const response = await fetch(url, {
    ...init,
    headers: {
      authorization: `Bearer ${await token()}`,
      "content-type": "application/json",
      ...init.headers,
    },
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

type Report = {
  financial: Record<string, unknown>;
  devices: Record<string, unknown>[];
  data_as_of: string | null;
};

/**
 * The README's demo logins against the running API, with tokens from the real Keycloak: who may see
 * what, and every month report of every demo user equal to the oracle over PostgreSQL — also right
 * after a live payment status change and a deleted telemetry event.
 */
async function checkApi(run: CdcRun, api: string): Promise<void> {
  // Tokens live 5 minutes and this takes longer: each call asks the harness (it renews them).
  const token = (user: (typeof DEMO_USERS)[keyof typeof DEMO_USERS]) =>
    passwordGrant(user.username, user.password);
  const owner1 = () => token(DEMO_USERS.owner1);
  const owner2 = () => token(DEMO_USERS.owner2);
  const support = () => token(DEMO_USERS.support1);
  const ml = () => token(DEMO_USERS.ml1);
  // Roles: own data only for owners, anyone for support, SQL for ML engineers only.
  expect((await call(`${api}/reports/user/1?month=2025-06`, owner1)).status).toBe(200);
  const foreign = await call(`${api}/reports/user/2?month=2025-06`, owner1);
  const unknown = await call(`${api}/reports/user/999999?month=2025-06`, owner1);
  expect([foreign.status, foreign.body.code]).toEqual([404, unknown.body.code]);
  expect(unknown.status).toBe(404);
  expect((await call(`${api}/reports/user/2?month=2025-06`, owner2)).status).toBe(200);
  expect((await call(`${api}/reports/user/7?month=2025-06`, support)).status).toBe(200);
  const sqlBody = JSON.stringify({ query: "SELECT count() AS n FROM ml_payments" });
  const refused = await call(`${api}/api/sql`, owner1, { method: "POST", body: sqlBody });
  expect(refused.status).toBe(403);
  const counted = await call(`${api}/api/sql`, ml, { method: "POST", body: sqlBody });
  expect(counted.status).toBe(200);
  const [payments] = await sourceQuery<{ n: string }>(
    run,
    "crm",
    "SELECT count(*)::text AS n FROM crm_payments",
  );
  expect(JSON.stringify(counted.body.rows)).toContain(payments!.n);
  for (const path of ["/api/reports", "/api/reports/summary"]) {
    expect((await call(`${api}${path}`, owner1)).status, path).toBe(200);
  }

  const { host, port, user, password } = run.dbs.pg;
  const crm = new pg.Client({ host, port, user, password, database: run.dbs.crmDb });
  const telemetry = new pg.Client({ host, port, user, password, database: run.dbs.telemetryDb });
  await crm.connect();
  await telemetry.connect();
  try {
    const oracle: OracleDatabases = { crm, telemetry };
    // The oracle of a month, computed once per month (every user at a time).
    const oracleMonths = new Map<string, Promise<[OracleUserMonthlyRow[], OracleProstheticMonthlyRow[]]>>();
    // One month's oracle at a time: the two pg clients take one query each at a time.
    let oracleTurn: Promise<unknown> = Promise.resolve();
    const oracleMonth = (month: string, fresh = false) => {
      let rows = fresh ? undefined : oracleMonths.get(month);
      if (!rows) {
        const range = { from: month, to: month };
        rows = oracleTurn.then(() =>
          Promise.all([oracleUserMonthly(oracle, range), oracleProstheticMonthly(oracle, range)]),
        );
        oracleTurn = rows.catch(() => undefined);
        oracleMonths.set(month, rows);
      }
      return rows;
    };
    const compare = async (userId: number, month: string, fresh = false): Promise<Report> => {
      const [users, prostheses] = await oracleMonth(month, fresh);
      const money = users.find((r) => r.user_id === userId);
      const devices = prostheses.filter((r) => r.user_id === userId);
      const { status, body } = await call(`${api}/reports/user/${userId}?month=${month}`, support);
      expect(status, `${userId} ${month}`).toBe(200);
      const report = body as unknown as Report;
      expect({ userId, month, ...report.financial }, `${userId} ${month}`).toMatchObject({
        userId,
        month,
        total_payments: money?.total_payments ?? "0.00",
        successful_payments: money?.successful_payments ?? "0.00",
        failed_payments: money?.failed_payments ?? "0.00",
        pending_payments: money?.pending_payments ?? "0.00",
        failed_payments_count: money?.failed_payments_count ?? 0,
        active_subscriptions: money?.active_subscriptions_count ?? 0,
        monthly_cost: money?.subscription_cost_total ?? "0.00",
      });
      expect(
        report.devices.map((d) => ({
          id: d.prosthetic_id,
          hours: d.usage_hours,
          on: d.power_on_count,
          down: d.downtime_minutes,
          errors: d.errors,
          cycles: d.charge_cycles,
        })),
        `${userId} ${month}`,
      ).toEqual(
        devices
          .sort((a, b) => a.prosthetic_id - b.prosthetic_id)
          .map((d) => ({
            id: d.prosthetic_id,
            hours: d.total_active_hours,
            on: d.power_on_count,
            down: d.downtime_minutes,
            errors: d.error_count + d.critical_error_count,
            cycles: d.charge_cycles,
          })),
      );
      return report;
    };
    // Every user and month with data: the same figures as the oracle.
    const months = await sourceQuery<{ user_id: number; month: string }>(
      run,
      "crm",
      `SELECT DISTINCT user_id, to_char(payment_date AT TIME ZONE 'UTC', 'YYYY-MM') AS month FROM crm_payments
       ORDER BY user_id, month`,
    );
    // Two at a time: the API spreads first reads over its two chDB connections
    // (BIONICPRO_API_CLICKHOUSE_CONNECTIONS), and ~200 reads a minute stay under support1's rate limit.
    const queue = [...months];
    const lane = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) await compare(next.user_id, next.month);
    };
    await Promise.all([lane(), lane()]);
    console.log(`${months.length} month reports equal the oracle`);

    // The owner's daily report of a day with movements: the oracle's user_daily_reports row.
    const days = (await oracleUserDaily(oracle, { from: "2026-10", to: "2026-10" })).filter(
      (d) => d.user_id === 1,
    );
    const day = days.at(-1);
    expect(day, "user 1 moved in October 2026").toBeDefined();
    const daily = await call(`${api}/api/reports/${day!.report_date}`, owner1);
    expect(daily.status).toBe(200);
    const { user_uuid: _uuid, report_date: _date, user_id: _user, ...figures } = day!;
    expect(daily.body.summary).toEqual(figures);

    // Until a report of the user's month says data_as_of passed `at` (a commit time).
    const untilPassed = (at: string, userId: number, month: string) =>
      until(
        `data_as_of to pass ${at}`,
        async () => {
          const { body } = await call(`${api}/reports/user/${userId}?month=${month}`, support);
          return typeof body.data_as_of === "string" && body.data_as_of >= at ? true : undefined;
        },
        60_000,
      );
    // A live change, then the report once data_as_of has passed its commit.
    const committedAt = async (client: pg.Client, sql: string, params: unknown[]): Promise<string> => {
      await client.query("BEGIN");
      await client.query(sql, params);
      const { rows } = await client.query<{ xid: string }>("SELECT txid_current()::text AS xid");
      await client.query("COMMIT");
      const at = await client.query<{ at: string }>(
        `SELECT to_char(pg_xact_commit_timestamp($1::text::xid) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at`,
        [rows[0]!.xid],
      );
      return at.rows[0]!.at;
    };
    const [pending] = (
      await crm.query<{ payment_id: number; user_id: number; month: string }>(
        `SELECT payment_id, user_id, to_char(payment_date AT TIME ZONE 'UTC', 'YYYY-MM') AS month
         FROM crm_payments WHERE status <> 'success' ORDER BY payment_id LIMIT 1`,
      )
    ).rows;
    const paid = await committedAt(crm, "UPDATE crm_payments SET status = 'success' WHERE payment_id = $1", [
      pending!.payment_id,
    ]);
    const [event] = (
      await telemetry.query<{ event_id: string; prosthetic_id: number; month: string }>(
        `SELECT event_id::text, prosthetic_id, to_char(event_timestamp AT TIME ZONE 'UTC', 'YYYY-MM') AS month
         FROM telemetry_events WHERE event_type = 'power_on' ORDER BY event_id DESC LIMIT 1`,
      )
    ).rows;
    const deleted = await committedAt(telemetry, "DELETE FROM telemetry_events WHERE event_id = $1", [
      event!.event_id,
    ]);
    const [{ owner }] = (
      await crm.query<{ owner: number }>(
        "SELECT user_id AS owner FROM crm_prosthetics WHERE prosthetic_id = $1",
        [event!.prosthetic_id],
      )
    ).rows as [{ owner: number }];
    const after = paid > deleted ? paid : deleted;
    const waited = Date.now();
    await untilPassed(after, pending!.user_id, pending!.month);
    console.log(`data_as_of passed the live changes ${Date.now() - waited} ms after their commit`);
    await compare(pending!.user_id, pending!.month, true);
    await compare(owner, event!.month, true);

    // The device moves to another user, then records a fault: the API's report cache (npm start
    // keeps one) must drop both owners' reports at the move and the new owner's at the fault.
    const heir = owner === 1 ? 2 : 1;
    await compare(heir, event!.month); // both reports are read, and kept, before the move
    await untilPassed(
      await committedAt(
        crm,
        "UPDATE crm_prosthetics SET user_id = $2, updated_at = now() WHERE prosthetic_id = $1",
        [event!.prosthetic_id, heir],
      ),
      heir,
      event!.month,
    );
    const movedFrom = await compare(owner, event!.month, true);
    const movedTo = await compare(heir, event!.month, true);
    expect(movedFrom.devices.map((d) => d.prosthetic_id)).not.toContain(event!.prosthetic_id);
    expect(movedTo.devices.map((d) => d.prosthetic_id)).toContain(event!.prosthetic_id);
    const errorsBefore = movedTo.devices.find((d) => d.prosthetic_id === event!.prosthetic_id)!
      .errors as number;
    await untilPassed(
      await committedAt(
        telemetry,
        `INSERT INTO telemetry_events (event_id, prosthetic_id, event_type, event_timestamp, event_value, severity)
         SELECT max(event_id) + 1, $1, 'error', $2::timestamptz, 'E-MOVED', 'error' FROM telemetry_events`,
        [event!.prosthetic_id, `${event!.month}-15T12:00:00Z`],
      ),
      heir,
      event!.month,
    );
    const faulted = await compare(heir, event!.month, true);
    expect(faulted.devices.find((d) => d.prosthetic_id === event!.prosthetic_id)!.errors).toBe(
      errorsBefore + 1,
    );
    await compare(owner, event!.month);
  } finally {
    await crm.end();
    await telemetry.end();
  }
}
