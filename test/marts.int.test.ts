import { randomBytes } from "node:crypto";
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ClickHouseClient } from "@clickhouse/client";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClickHouseClient } from "../clickhouse/client.js";
import {
  onlyProsthetics,
  onlyUsers,
  queryProstheticMonthlyMetrics,
  queryUserDailyReports,
  queryUserMonthlyMetrics,
} from "../clickhouse/marts/index.js";
import {
  batterySpan,
  detectEngineFeatures,
  eventSpan,
  PLAIN_SQL,
} from "../clickhouse/marts/device-history.js";
import { selectedDevicesQuery, selectionParams } from "../clickhouse/marts/filters.js";
import { addDays, addMonths, dayRangeParams } from "../clickhouse/marts/range.js";
import { loadMigrations, migrate, migrationsDir } from "../clickhouse/migrate.js";
import type { ChangeEnvelope, SourceRow } from "../consumers/src/envelope.js";
import { buildEnvelope } from "../consumers/src/mapping/debezium-envelope.js";
import { collectChunk, mapChange } from "../consumers/src/mapping/index.js";
import { formatReconcileResult, reconcile, type ReconcileResult } from "../consumers/src/reconcile/index.js";
import { chunkToken, insertMapped } from "../consumers/src/sink/clickhouse-sink.js";
import { repairChunk } from "../consumers/src/sink/crash-repair.js";
import { readFreshness } from "../clickhouse/freshness.js";
import {
  claimPartitions,
  holdsClaim,
  readHeartbeatHorizons,
  readProgress,
  recordApplied,
  recordCompleteness,
  recordIntent,
} from "../consumers/src/sink/pipeline-state.js";
import { createSourceDatabases, dropSourceDatabases, type SourceDatabases } from "./harness/pg.js";

/**
 * Source changes made with SQL in PostgreSQL, the same changes as Debezium change events (c/u/d
 * with full before/after images, tombstones after deletes), mapped and inserted into embedded
 * ClickHouse in deduplicated chunks, then reconciled against the PostgreSQL oracle.
 */

type Db = "crm_db" | "telemetry_db";
type Values = Record<string, string | number | boolean | null>;

interface Recorded {
  topic: string;
  offset: number;
  envelope: ChangeEnvelope | null;
}

/** Debezium's value shapes (consumers/src/envelope.ts) from PostgreSQL's text output in UTC. */
const debeziumTypes = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    switch (oid) {
      case 20: // int8
        return (text: string) => BigInt(text);
      case 1082: // date -> days since epoch
        return (text: string) => Date.parse(`${text}T00:00:00Z`) / 86_400_000;
      case 1184: // timestamptz -> ISO UTC with 6 fraction digits
        return (text: string) => {
          const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d+))?\+00$/.exec(text);
          if (!m) throw new Error(`unexpected timestamptz text ${text}`);
          return `${m[1]}T${m[2]}.${(m[3] ?? "").padEnd(6, "0")}Z`;
        };
      default:
        return pg.types.getTypeParser(oid, format);
    }
  },
} as pg.CustomTypesConfig;

/** Applies changes to the sources and records the change events Debezium would emit for them. */
class ChangeRecorder {
  readonly records: Recorded[] = [];
  private lsn = 1_000_000n;
  private readonly offsets = new Map<string, number>();

  constructor(private readonly clients: Record<Db, pg.Client>) {}

  private emit(
    db: Db,
    table: string,
    op: "c" | "u" | "d",
    before: SourceRow | null,
    after: SourceRow | null,
  ) {
    this.lsn += 8n;
    const envelope = buildEnvelope({
      db,
      table,
      op,
      before,
      after,
      lsn: this.lsn,
      tsMs: 1_705_000_000_000n + this.lsn,
    });
    this.push(`bionicpro.${db === "crm_db" ? "crm" : "telemetry"}.${table}`, envelope);
    if (op === "d") this.push(`bionicpro.${db === "crm_db" ? "crm" : "telemetry"}.${table}`, null);
  }

  private push(topic: string, envelope: ChangeEnvelope | null) {
    const offset = this.offsets.get(topic) ?? 0;
    this.offsets.set(topic, offset + 1);
    this.records.push({ topic, offset, envelope });
  }

  async insert(db: Db, table: string, values: Values) {
    const columns = Object.keys(values);
    const result = await this.clients[db].query<SourceRow>(
      `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(", ")}) RETURNING *`,
      Object.values(values),
    );
    this.emit(db, table, "c", null, result.rows[0] ?? null);
  }

  async update(db: Db, table: string, key: Values, values: Values) {
    const client = this.clients[db];
    const [keyColumn, keyValue] = Object.entries(key)[0] as [string, unknown];
    await client.query("BEGIN");
    const before = await client.query<SourceRow>(
      `SELECT * FROM ${table} WHERE ${keyColumn} = $1 FOR UPDATE`,
      [keyValue],
    );
    const sets = Object.keys(values).map((c, i) => `${c} = $${i + 2}`);
    const after = await client.query<SourceRow>(
      `UPDATE ${table} SET ${sets.join(", ")} WHERE ${keyColumn} = $1 RETURNING *`,
      [keyValue, ...Object.values(values)],
    );
    await client.query("COMMIT");
    this.emit(db, table, "u", before.rows[0] ?? null, after.rows[0] ?? null);
  }

  async delete(db: Db, table: string, key: Values) {
    const [keyColumn, keyValue] = Object.entries(key)[0] as [string, unknown];
    const result = await this.clients[db].query<SourceRow>(
      `DELETE FROM ${table} WHERE ${keyColumn} = $1 RETURNING *`,
      [keyValue],
    );
    this.emit(db, table, "d", result.rows[0] ?? null, null);
  }

  /** Records since `mark`, grouped per topic into chunks of at most `size` consecutive offsets. */
  chunksSince(mark: number, size: number): Recorded[][] {
    const byTopic = new Map<string, Recorded[]>();
    for (const record of this.records.slice(mark)) {
      const list = byTopic.get(record.topic) ?? [];
      list.push(record);
      byTopic.set(record.topic, list);
    }
    const chunks: Recorded[][] = [];
    for (const list of byTopic.values()) {
      for (let i = 0; i < list.length; i += size) chunks.push(list.slice(i, i + size));
    }
    return chunks;
  }
}

const group = "marts-test";

function tokenOf(chunk: Recorded[]): string {
  const first = chunk[0] as Recorded;
  const last = chunk.at(-1) as Recorded;
  return chunkToken(group, first.topic, 0, String(first.offset), String(last.offset));
}

async function applyChunk(
  client: ClickHouseClient,
  database: string,
  chunk: Recorded[],
  token = tokenOf(chunk),
) {
  const mapped = chunk.map((r) =>
    mapChange(r.topic, r.envelope, { topic: r.topic, partition: 0, offset: r.offset }),
  );
  await insertMapped(client, database, collectChunk(mapped).rows, token);
}

async function seedSources(rec: ChangeRecorder) {
  // CRM: users, prostheses, subscriptions
  for (const [id, login, first, last] of [
    [1, "alex", "Александр", "Иванов"],
    [2, "maria", "Мария", "Петрова"],
    [3, "ivan", "Иван", "Сидоров"],
  ] as const) {
    await rec.insert("crm_db", "crm_users", {
      user_id: id,
      user_uuid: `00000000-0000-4000-8000-00000000000${id}`,
      login,
      first_name: first,
      last_name: last,
      email: `${login}@bionicpro.ru`,
      phone: id === 3 ? null : `+7999000000${id}`,
    });
  }
  for (const [id, user, chip, type] of [
    [1, 1, "CHIP-1", "left_arm"],
    [2, 2, "CHIP-2", "right_leg"],
    [3, 2, "CHIP-3", "right_arm"],
  ] as const) {
    await rec.insert("crm_db", "crm_prosthetics", {
      prosthetic_id: id,
      user_id: user,
      prosthetic_uuid: `10000000-0000-4000-8000-00000000000${id}`,
      chip_id: chip,
      device_type: type,
      serial_number: `SN-${id}`,
      model: "BionicPRO X2",
      purchase_date: "2023-01-15",
      warranty_end_date: "2025-01-15",
    });
  }
  const subscription = (
    id: number,
    user: number,
    type: string,
    start: string,
    end: string | null,
    cost: string,
  ) =>
    rec.insert("crm_db", "crm_subscriptions", {
      subscription_id: id,
      user_id: user,
      subscription_type: type,
      start_date: start,
      end_date: end,
      is_active: end === null,
      monthly_cost: cost,
    });
  await subscription(1, 1, "basic", "2023-12-15", null, "2999.00");
  await subscription(3, 2, "enterprise", "2024-01-01", "2024-01-31", "9999.00");
  await subscription(4, 3, "basic", "2024-03-01", null, "2999.00");
  await subscription(5, 3, "premium", "2024-01-05", null, "5999.00");

  const payment = (id: number, user: number, sub: number, date: string, amount: string, status: string) =>
    rec.insert("crm_db", "crm_payments", {
      payment_id: id,
      user_id: user,
      subscription_id: sub,
      payment_date: date,
      amount,
      payment_method: "card",
      status,
      description: `payment ${id}`,
    });
  await payment(1, 1, 1, "2024-01-15T10:30:00Z", "2999.00", "success");
  await payment(2, 1, 1, "2024-01-16T10:30:00Z", "2999.00", "failed");
  await payment(3, 1, 1, "2024-01-31T23:59:59.999999Z", "2999.00", "pending");
  await payment(4, 1, 1, "2024-02-01T00:00:00Z", "2999.00", "success");
  await payment(5, 2, 3, "2024-01-20T08:00:00Z", "9999.00", "pending");
  await payment(6, 2, 3, "2024-02-29T12:00:00Z", "9999.00", "success");

  await rec.insert("crm_db", "crm_support_tickets", {
    ticket_id: 1,
    user_id: 1,
    prosthetic_id: 1,
    title: "Не включается",
    status: "open",
  });
  await rec.insert("crm_db", "crm_support_tickets", {
    ticket_id: 2,
    user_id: 2,
    title: "Батарея",
    status: "open",
  });

  // Telemetry: power sessions across midnight and month ends, outages, an open session.
  const event = (id: number, prosthetic: number, type: string, at: string, severity = "info") =>
    rec.insert("telemetry_db", "telemetry_events", {
      event_id: id,
      prosthetic_id: prosthetic,
      event_type: type,
      event_timestamp: at,
      event_value: type === "power_on" ? "battery_85%" : null,
      severity,
    });
  await event(1, 1, "power_on", "2024-01-31T22:00:00Z");
  await event(2, 1, "power_on", "2024-01-31T23:00:00Z");
  await event(3, 1, "power_off", "2024-02-01T02:30:00Z");
  await event(4, 1, "warning", "2024-02-01T03:00:00Z", "warning");
  await event(5, 1, "error", "2024-02-02T10:00:00Z", "error");
  await event(6, 1, "critical_fault", "2024-02-03T10:00:00Z", "critical");
  await event(7, 1, "power_on", "2024-02-03T10:45:30Z");
  await event(8, 1, "power_off", "2024-02-03T18:00:00Z");
  await event(9, 1, "power_on", "2024-02-29T23:00:00Z");
  await event(10, 1, "power_off", "2024-03-01T01:00:00.5Z");
  await event(11, 1, "power_on", "2024-03-10T08:00:00Z");
  await event(12, 1, "power_off", "2024-02-10T00:00:00Z");
  await event(13, 1, "error", "2024-02-29T22:00:00Z", "error");
  await event(21, 2, "power_on", "2024-01-10T08:00:00Z");
  await event(22, 2, "power_off", "2024-01-10T09:15:00Z");
  await event(23, 2, "power_off", "2024-01-11T00:00:00Z");
  await event(24, 2, "power_on", "2024-01-20T04:00:00Z");
  await event(25, 2, "power_off", "2024-02-20T05:00:00Z");
  // Prosthesis 3 across the start of April, with power events in the week before it (a single
  // April read starts its history there): a session into March 26, an outage and a session into April.
  await event(40, 3, "power_on", "2024-03-24T08:00:00Z");
  await event(41, 3, "power_on", "2024-03-26T08:00:00Z");
  await event(42, 3, "power_off", "2024-03-26T09:00:00Z");
  await event(43, 3, "critical_fault", "2024-03-31T20:00:00Z", "critical");
  await event(44, 3, "power_on", "2024-04-01T02:00:00Z");
  await event(45, 3, "power_off", "2024-04-02T11:00:00Z");

  // Battery: discharge inside and outside sessions, charging up from below 50 % (cycles).
  const metric = (
    id: number,
    prosthetic: number,
    at: string,
    level: number,
    current: number,
    charging: boolean,
  ) =>
    rec.insert("telemetry_db", "battery_metrics", {
      metric_id: id,
      prosthetic_id: prosthetic,
      metric_timestamp: at,
      charge_level: level,
      current_ma: current,
      is_charging: charging,
    });
  await metric(1, 1, "2024-01-31T21:00:00Z", 40, -20.1, false);
  await metric(2, 1, "2024-01-31T22:30:00Z", 35, -120.5, false);
  await metric(3, 1, "2024-02-01T01:00:00Z", 30, -110.25, false);
  await metric(4, 1, "2024-02-01T04:00:00Z", 45, 200.3, true);
  await metric(5, 1, "2024-02-01T06:00:00Z", 96.5, 150.7, true);
  await metric(6, 1, "2024-02-05T12:00:00Z", 97, 0, false);
  await metric(7, 1, "2024-02-10T12:00:00Z", 48, -30.3, false);
  await metric(8, 1, "2024-02-11T12:00:00Z", 99, 180.5, true);
  await metric(9, 1, "2024-03-01T00:30:00Z", 60, -90.9, false);
  await metric(10, 1, "2024-03-02T00:30:00Z", 10, -5, false);
  await metric(11, 2, "2024-01-10T08:30:00Z", 70, -60.6, false);
  await metric(12, 2, "2024-01-12T08:30:00Z", 20, -10.1, false);
  // Prosthesis 3: low in March, charged full on 2 April (a cycle); the full sample of 28 March
  // in between is deleted below, so the cycle looks back past the week before April.
  await metric(20, 3, "2024-03-20T10:00:00Z", 30, -50, false);
  await metric(21, 3, "2024-03-28T10:00:00Z", 97, 0, false);
  await metric(22, 3, "2024-04-02T10:00:00Z", 98, 150, true);
  await metric(23, 3, "2024-04-02T09:00:00Z", 60, -80, false);

  // Raw movement samples across an hour, a day and a month boundary; one chip unknown to CRM.
  const sample = (id: number, chip: string, at: string, rt: number, battery: number, error: number) =>
    rec.insert("telemetry_db", "raw_telemetry", {
      sample_id: id,
      chip_id: chip,
      event_time: at,
      response_time_ms: rt,
      battery_level: battery,
      error_code: error,
    });
  await sample(1, "CHIP-1", "2024-01-31T23:59:59.5Z", 40, 80, 0);
  await sample(2, "CHIP-1", "2024-02-01T00:00:00Z", 50, 79, 0);
  await sample(3, "CHIP-1", "2024-02-01T00:10:00Z", 61, 79, 2);
  await sample(4, "CHIP-1", "2024-02-01T00:20:00Z", 45, 78, 0);
  await sample(5, "CHIP-1", "2024-02-01T01:20:00Z", 47, 77, 0);
  await sample(6, "CHIP-1", "2024-02-01T01:30:00Z", 99, 77, 0);
  await sample(7, "CHIP-2", "2024-01-10T08:05:00Z", 30, 90, 0);
  await sample(8, "CHIP-2", "2024-01-10T08:06:00Z", 33, 90, 1);
  await sample(9, "CHIP-2", "2024-03-02T12:00:00Z", 35, 60, 0);
  await sample(10, "CHIP-X", "2024-01-10T08:06:00Z", 33, 90, 0);
}

async function changeSources(rec: ChangeRecorder) {
  await rec.update(
    "crm_db",
    "crm_users",
    { user_id: 1 },
    { email: "alex.ivanov@bionicpro.ru", updated_at: "2024-02-01T00:00:00Z" },
  );
  // Prosthesis 2 changes hands: its whole history now reports under user 3.
  await rec.update("crm_db", "crm_prosthetics", { prosthetic_id: 2 }, { user_id: 3 });
  // Subscription 1 ends, 2 starts the next day; 4 changes price; 5 was a mistake.
  await rec.update(
    "crm_db",
    "crm_subscriptions",
    { subscription_id: 1 },
    { end_date: "2024-02-10", is_active: false },
  );
  await rec.insert("crm_db", "crm_subscriptions", {
    subscription_id: 2,
    user_id: 1,
    subscription_type: "premium",
    start_date: "2024-02-11",
    end_date: null,
    is_active: true,
    monthly_cost: "5999.00",
  });
  await rec.update("crm_db", "crm_subscriptions", { subscription_id: 4 }, { monthly_cost: "3499.00" });
  await rec.delete("crm_db", "crm_subscriptions", { subscription_id: 5 });
  // Payments change status, move across a month boundary, or disappear.
  await rec.update("crm_db", "crm_payments", { payment_id: 3 }, { status: "success" });
  await rec.update("crm_db", "crm_payments", { payment_id: 5 }, { status: "failed" });
  await rec.update("crm_db", "crm_payments", { payment_id: 6 }, { payment_date: "2024-03-01T00:00:00Z" });
  await rec.update("crm_db", "crm_payments", { payment_id: 1 }, { description: "January, paid" });
  await rec.delete("crm_db", "crm_payments", { payment_id: 4 });
  await rec.update(
    "crm_db",
    "crm_support_tickets",
    { ticket_id: 1 },
    { status: "resolved", resolved_at: "2030-01-01T00:00:00Z" },
  );
  await rec.delete("crm_db", "crm_support_tickets", { ticket_id: 2 });
  // Telemetry corrections: a spurious power_off removed, an error re-classified as critical,
  // a session start moved into the next month, a sample re-coded and one removed.
  await rec.delete("telemetry_db", "telemetry_events", { event_id: 12 });
  await rec.update(
    "telemetry_db",
    "telemetry_events",
    { event_id: 13 },
    { event_type: "critical_fault", severity: "critical" },
  );
  await rec.update(
    "telemetry_db",
    "telemetry_events",
    { event_id: 24 },
    { event_timestamp: "2024-02-20T04:00:00Z" },
  );
  await rec.update("telemetry_db", "battery_metrics", { metric_id: 9 }, { current_ma: -95.5 });
  await rec.delete("telemetry_db", "battery_metrics", { metric_id: 10 });
  await rec.delete("telemetry_db", "battery_metrics", { metric_id: 21 });
  await rec.update("telemetry_db", "raw_telemetry", { sample_id: 4 }, { error_code: 5 });
  await rec.delete("telemetry_db", "raw_telemetry", { sample_id: 6 });
}

describe("marts vs oracle (embedded ClickHouse, real PostgreSQL)", () => {
  const runId = randomBytes(4).toString("hex");
  const database = `marts_${runId}`;
  const dataDir = mkdtempSync(path.join(tmpdir(), "bionicpro-marts-"));
  let sources: SourceDatabases;
  let clients: Record<Db, pg.Client>;
  let ch: ClickHouseClient;
  let rec: ChangeRecorder;
  let applied: Recorded[][] = [];
  /** A chunk inserted under two tokens: what a part committed without its dedup entry leaves. */
  let doubled: Recorded[] = [];
  const range = { from: "2023-12", to: "2024-04" };

  const check = (options: { from?: string; to?: string } = range): Promise<ReconcileResult> =>
    reconcile({
      ch: { client: ch, database },
      pg: sources.pg,
      crmDb: sources.crmDb,
      telemetryDb: sources.telemetryDb,
      ...options,
    });

  beforeAll(async () => {
    sources = await createSourceDatabases(`marts_${runId}`);
    const connect = async (db: string) => {
      const { host, port, user, password } = sources.pg;
      const client = new pg.Client({
        host,
        port,
        user,
        password,
        database: db,
        types: debeziumTypes,
        options: "-c TimeZone=UTC",
      });
      await client.connect();
      return client;
    };
    clients = { crm_db: await connect(sources.crmDb), telemetry_db: await connect(sources.telemetryDb) };
    rec = new ChangeRecorder(clients);
    ch = createClickHouseClient({ path: dataDir, database });
    await migrate(ch, database);
    expect(await migrate(ch, database)).toEqual([]);
  });

  afterAll(async () => {
    await ch?.close();
    await clients?.crm_db.end();
    await clients?.telemetry_db.end();
    if (sources) await dropSourceDatabases(sources);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("an initial load and a stream of updates and deletes reconcile with zero differences", async () => {
    await seedSources(rec);
    await changeSources(rec);
    // Chunks of consecutive offsets per topic, as the consumer reads them.
    applied = rec.chunksSince(0, 3);
    for (const chunk of applied) await applyChunk(ch, database, chunk);

    const result = await check();
    expect(result.differenceCount, formatReconcileResult(result)).toBe(0);
    expect(result.marts.every((m) => m.oracleRows > 0)).toBe(true);
  });

  it("matches hand-computed figures (seed example month, sessions across month ends, outages)", async () => {
    const users = await queryUserMonthlyMetrics(ch, database, range, onlyUsers([1, 2]));
    expect(
      users.map((r) => [
        r.user_id,
        r.report_date,
        r.total_payments,
        r.successful_payments,
        r.failed_payments_count,
        r.active_subscriptions_count,
        r.subscription_cost_total,
      ]),
    ).toEqual([
      [1, "2023-12-01", "0.00", "0.00", 0, 1, "2999.00"],
      [1, "2024-01-01", "8997.00", "5998.00", 1, 1, "2999.00"],
      [1, "2024-02-01", "0.00", "0.00", 0, 2, "8998.00"],
      [1, "2024-03-01", "0.00", "0.00", 0, 1, "5999.00"],
      [1, "2024-04-01", "0.00", "0.00", 0, 1, "5999.00"],
      [2, "2024-01-01", "9999.00", "0.00", 1, 1, "9999.00"],
      [2, "2024-03-01", "9999.00", "9999.00", 0, 0, "0.00"],
    ]);
    const devices = await queryProstheticMonthlyMetrics(ch, database, range, onlyProsthetics([1]));
    expect(
      devices.map((r) => [
        r.report_date,
        r.total_active_hours,
        r.downtime_minutes,
        r.charge_cycles,
        r.power_on_count,
      ]),
    ).toEqual([
      ["2024-01-01", 2, 0, 0, 2],
      ["2024-02-01", 38670 / 3600, 105, 2, 2],
      ["2024-03-01", 3600.5 / 3600, 0, 0, 1],
    ]);
    const moved = await queryProstheticMonthlyMetrics(ch, database, range, onlyProsthetics([2]));
    expect(moved.map((r) => [r.report_date, r.user_id, r.total_active_hours])).toEqual([
      ["2024-01-01", 3, 1.25],
      ["2024-02-01", 3, 1],
    ]);
  });

  it("a single month or day reads its devices' history from the events that bound it: the whole range's figures", async () => {
    // The whole range reads every event (nothing lies before it): reconciled with the oracle above.
    // A single month or day reads each device's history only from the last power_off and power_on
    // before it (eventSpan), and its battery samples from the last low or full one (batterySpan);
    // every such read must give the whole range's rows for its period, with plain SQL and with
    // materialized CTEs (whose scalar subqueries the engine evaluates before any CTE is filled).
    const spans = async (user: number, period: { firstDay: string; lastDay: string }) => {
      const selection = onlyUsers([user]);
      const result = await ch.query({
        query: `WITH devices AS (${selectedDevicesQuery(database, selection)})
          SELECT toString(e.lower) AS events_from, toString(e.upper) AS events_to, toString(b.lower) AS battery_from
          FROM (${eventSpan(database, "devices")}) AS e CROSS JOIN (${batterySpan(database, "devices")}) AS b`,
        query_params: { ...dayRangeParams(period), ...selectionParams(selection) },
        format: "JSONEachRow",
      });
      return result.json();
    };
    const always = { from: "1970-01-01 00:00:00.000000", to: "2299-12-31 23:59:59.000000" };
    // Prosthesis 1 was switched on and off on 3 February, and charged full on 1 February; after 31
    // January it was off on 1 February and on again on the 3rd. Prosthesis 3's April starts from 26 March; its battery history is read
    // whole: the deleted full sample of 28 March bounds nothing.
    expect(await spans(1, { firstDay: "2024-02-04", lastDay: "2024-02-04" })).toEqual([
      {
        events_from: "2024-02-03 10:45:30.000000",
        events_to: always.to,
        battery_from: "2024-02-01 06:00:00.000000",
      },
    ]);
    expect(await spans(1, { firstDay: "2024-01-31", lastDay: "2024-01-31" })).toEqual([
      { events_from: always.from, events_to: "2024-02-03 10:45:30.000000", battery_from: always.from },
    ]);
    expect(await spans(2, { firstDay: "2024-04-01", lastDay: "2024-04-30" })).toEqual([
      { events_from: "2024-03-26 08:00:00.000000", events_to: always.to, battery_from: always.from },
    ]);
    const users = onlyUsers([1, 2, 3]);
    for (const features of [PLAIN_SQL, await detectEngineFeatures(ch)]) {
      const months = await queryProstheticMonthlyMetrics(ch, database, range, users, features);
      const days = await queryUserDailyReports(ch, database, range, users, features);
      expect(months.map((r) => `${r.user_id} ${r.prosthetic_id} ${r.report_date}`)).toEqual([
        "1 1 2024-01-01",
        "1 1 2024-02-01",
        "1 1 2024-03-01",
        "2 3 2024-03-01",
        "2 3 2024-04-01",
        "3 2 2024-01-01",
        "3 2 2024-02-01",
      ]);
      // April of prosthesis 3: the session from 1 April 02:00 to 2 April 11:00 (33 h) with a
      // discharge sample in it, the outage from 31 March 20:00 to 1 April 02:00 (120 min in April),
      // and a charge cycle whose low sample is of 20 March.
      expect(months.find((r) => r.prosthetic_id === 3 && r.report_date === "2024-04-01")).toMatchObject({
        total_active_hours: 33,
        downtime_minutes: 120,
        charge_cycles: 1,
        avg_discharge_rate_active: 80,
      });
      expect(days.filter((d) => d.usage_hours > 0).map((d) => `${d.user_id} ${d.report_date}`)).toEqual([
        "1 2024-01-31",
        "1 2024-02-01",
        "1 2024-02-03",
        "1 2024-02-29",
        "1 2024-03-01",
        "2 2024-03-24",
        "2 2024-03-25",
        "2 2024-03-26",
        "2 2024-04-01",
        "2 2024-04-02",
        "3 2024-01-10",
        "3 2024-02-20",
      ]);
      for (let month = range.from; month <= range.to; month = addMonths(month, 1)) {
        expect(
          await queryProstheticMonthlyMetrics(ch, database, { from: month, to: month }, users, features),
          `${month}, materialized CTEs ${features.materializedCte}`,
        ).toEqual(months.filter((r) => r.report_date === `${month}-01`));
      }
      // The days around every event, and a few with none.
      const around = [
        "2024-01-09",
        "2024-01-30",
        "2024-02-09",
        "2024-02-19",
        "2024-02-28",
        "2024-03-09",
        "2024-03-23",
        "2024-03-31",
      ];
      for (const first of around) {
        for (let day = first, n = 0; n < 5; day = addDays(day, 1), n += 1) {
          expect(
            await queryUserDailyReports(ch, database, { firstDay: day, lastDay: day }, users, features),
            `${day}, materialized CTEs ${features.materializedCte}`,
          ).toEqual(days.filter((r) => r.report_date === day));
        }
      }
    }
  });

  it("ML views read the current data and expose no personal columns", async () => {
    const columns = await ch.query({
      query: `SELECT table, name FROM system.columns WHERE database = {db:String} AND table LIKE 'ml\\_%'`,
      query_params: { db: database },
      format: "JSONEachRow",
    });
    const found = await columns.json<{ table: string; name: string }>();
    expect(new Set(found.map((c) => c.table)).size).toBe(8);
    const personal = [
      "login",
      "first_name",
      "last_name",
      "email",
      "phone",
      "customer_name",
      "title",
      "description",
    ];
    expect(found.filter((c) => personal.includes(c.name))).toEqual([]);
    const count = async (view: string) => {
      const result = await ch.query({
        query: `SELECT count() AS n FROM ${database}.${view}`,
        format: "JSONEachRow",
      });
      return Number((await result.json<{ n: number | string }>())[0]?.n);
    };
    // 6 payments, one deleted; 5 subscriptions, one deleted; 24 events, one deleted.
    expect([
      await count("ml_payments"),
      await count("ml_subscriptions"),
      await count("ml_telemetry_events"),
    ]).toEqual([5, 4, 23]);
  });

  it("reconciles over the default range (first data month to the current month)", async () => {
    const result = await check({});
    expect(result.range.from).toBe("2023-12");
    expect(result.differenceCount, formatReconcileResult(result)).toBe(0);
  });

  it("re-inserting every chunk with its token changes nothing (exactly-once by deduplication)", async () => {
    for (const chunk of applied) await applyChunk(ch, database, chunk);
    const result = await check();
    expect(result.differenceCount, formatReconcileResult(result)).toBe(0);
  });

  it("a duplicate under a different token is reported cell by cell", async () => {
    const mark = rec.records.length;
    await rec.insert("crm_db", "crm_payments", {
      payment_id: 7,
      user_id: 3,
      subscription_id: 4,
      payment_date: "2024-03-05T09:00:00Z",
      amount: "3499.00",
      payment_method: "paypal",
      status: "success",
    });
    const [chunk] = rec.chunksSince(mark, 3) as [Recorded[]];
    doubled = chunk;
    await applyChunk(ch, database, chunk);
    expect((await check()).differenceCount).toBe(0);

    await applyChunk(ch, database, chunk, `${tokenOf(chunk)}:replayed-elsewhere`);
    const result = await check();
    expect(result.ok).toBe(false);
    expect(result.marts.flatMap((m) => m.differences)).toEqual([
      {
        mart: "report_user_monthly_metrics",
        kind: "value_mismatch",
        key: { user_id: 3, report_date: "2024-03-01" },
        column: "total_payments",
        expected: "3499.00",
        actual: "6998.00",
      },
      {
        mart: "report_user_monthly_metrics",
        kind: "value_mismatch",
        key: { user_id: 3, report_date: "2024-03-01" },
        column: "successful_payments",
        expected: "3499.00",
        actual: "6998.00",
      },
    ]);
    expect(formatReconcileResult(result)).toContain('total_payments: oracle "3499.00", mart "6998.00"');
  });
  it("crash repair: chunks applied twice, lost, or corrupted down their chain end equal to the oracle; a second repair changes nothing", async () => {
    const rowsOf = (chunk: Recorded[]) =>
      collectChunk(
        chunk.map((r) => mapChange(r.topic, r.envelope, { topic: r.topic, partition: 0, offset: r.offset })),
      ).rows;
    const single = async (apply: () => Promise<void>) => {
      const mark = rec.records.length;
      await apply();
      const chunks = rec.chunksSince(mark, 100);
      expect(chunks).toHaveLength(1);
      return chunks[0] as Recorded[];
    };
    // Lost: a dedup entry written without its part (older releases' order) drops the redo.
    const events = await single(async () => {
      await rec.insert("telemetry_db", "telemetry_events", {
        event_id: 30,
        prosthetic_id: 2,
        event_type: "power_on",
        event_timestamp: "2024-03-15T08:00:00Z",
        severity: "info",
      });
      await rec.insert("telemetry_db", "telemetry_events", {
        event_id: 31,
        prosthetic_id: 2,
        event_type: "power_off",
        event_timestamp: "2024-03-15T10:00:00Z",
        severity: "info",
      });
      await rec.update(
        "telemetry_db",
        "telemetry_events",
        { event_id: 21 },
        { event_timestamp: "2024-01-10T07:00:00Z" },
      );
    });
    // Applied once, but a table down the chain holds a block twice (daily, and so monthly, of Feb).
    const samples = await single(async () => {
      await rec.insert("telemetry_db", "raw_telemetry", {
        sample_id: 11,
        chip_id: "CHIP-1",
        event_time: "2024-02-01T02:00:00Z",
        response_time_ms: 52,
        battery_level: 76,
        error_code: 0,
      });
      await rec.update("telemetry_db", "raw_telemetry", { sample_id: 5 }, { battery_level: 70 });
      await rec.delete("telemetry_db", "raw_telemetry", { sample_id: 9 });
    });
    await applyChunk(ch, database, samples);
    await ch.command({
      query: `INSERT INTO ${database}.chip_daily_stats SELECT * FROM ${database}.chip_daily_stats WHERE toYYYYMM(day) = 202402`,
      clickhouse_settings: {
        insert_deduplicate: 0,
        insert_deduplication_token: "",
        deduplicate_blocks_in_dependent_materialized_views: 0,
      },
    });
    // Twice, on the chain without month partitions (subscriptions fan out over months).
    const subscriptions = await single(() =>
      rec.update("crm_db", "crm_subscriptions", { subscription_id: 4 }, { monthly_cost: "3999.00" }),
    );
    await applyChunk(ch, database, subscriptions);
    await applyChunk(ch, database, subscriptions, `${tokenOf(subscriptions)}:twice`);
    // Applied exactly once: the repair finds nothing to compensate.
    const battery = await single(() =>
      rec.insert("telemetry_db", "battery_metrics", {
        metric_id: 13,
        prosthetic_id: 2,
        metric_timestamp: "2024-03-15T09:00:00Z",
        charge_level: 55.5,
        current_ma: -42.25,
        is_charging: false,
      }),
    );
    await applyChunk(ch, database, battery);

    const broken = await check();
    expect(
      [...new Set(broken.marts.filter((m) => m.differences.length > 0).map((m) => m.mart))].sort(),
    ).toEqual([
      "report_prosthetic_monthly_metrics",
      "report_user_monthly_metrics",
      "user_daily_reports",
      "user_prosthesis_stats_daily",
      "user_prosthesis_stats_monthly",
    ]);

    const repaired = [];
    for (const chunk of [doubled, events, samples, subscriptions, battery]) {
      const summary = await repairChunk(ch, database, rowsOf(chunk), "p0");
      repaired.push({ dimensionRows: summary.dimensionRows, changeTables: summary.changeTables });
    }
    expect(repaired).toEqual([
      {
        dimensionRows: 0,
        changeTables: [
          {
            table: "payment_changes",
            compensatingRows: 1,
            rebuilt: ["202403"],
            downstream: ["user_payment_daily", "user_payment_monthly"],
          },
        ],
      },
      {
        dimensionRows: 0,
        changeTables: [
          {
            table: "telemetry_event_changes",
            compensatingRows: 4,
            rebuilt: ["202401", "202403"],
            downstream: ["prosthetic_event_daily", "prosthetic_event_monthly"],
          },
        ],
      },
      {
        dimensionRows: 0,
        changeTables: [
          {
            table: "raw_telemetry_changes",
            compensatingRows: 0,
            rebuilt: ["202402", "202403"],
            downstream: ["chip_hourly_stats", "chip_daily_stats", "chip_monthly_stats"],
          },
        ],
      },
      {
        dimensionRows: 1,
        changeTables: [
          {
            table: "subscription_changes",
            compensatingRows: 2,
            rebuilt: ["all"],
            downstream: ["user_subscription_monthly_deltas"],
          },
        ],
      },
      {
        dimensionRows: 0,
        changeTables: [
          {
            table: "battery_metric_changes",
            compensatingRows: 0,
            rebuilt: ["202403"],
            downstream: ["prosthetic_battery_daily", "prosthetic_battery_monthly"],
          },
        ],
      },
    ]);
    const result = await check();
    expect(result.differenceCount, formatReconcileResult(result)).toBe(0);

    // A repair interrupted by another crash is run again from the start: it must change nothing.
    for (const chunk of [doubled, events, samples, subscriptions, battery]) {
      const again = await repairChunk(ch, database, rowsOf(chunk), "p0");
      expect(again.changeTables.map((t) => t.compensatingRows)).toEqual([0]);
    }
    const rerun = await check();
    expect(rerun.differenceCount, formatReconcileResult(rerun)).toBe(0);
    // The scratch tables are gone.
    const scratch = await ch.query({
      query: `SELECT name FROM system.tables WHERE database = {db:String} AND name LIKE 'repair\\_%'`,
      query_params: { db: database },
      format: "JSONEachRow",
    });
    expect(await scratch.json()).toEqual([]);
  });

  it("keeps consumer progress (applied beats its intent, a later chunk beats both) with the chunk's commit", async () => {
    const chunk = (first: bigint, last: bigint) => ({
      group,
      topic: "bionicpro.crm.crm_payments",
      partition: 0,
      claimEpoch: 1n,
      firstOffset: first,
      lastOffset: last,
    });
    const before = { commitTs: null };
    const after = { commitTs: "2024-03-01 10:00:00.250" };
    await recordIntent(ch, database, chunk(0n, 9n));
    expect(await readProgress(ch, database, group)).toEqual([
      { ...chunk(0n, 9n), ...before, status: "intent" },
    ]);
    await recordApplied(ch, database, chunk(0n, 9n), after);
    expect(await readProgress(ch, database, group)).toEqual([
      { ...chunk(0n, 9n), ...after, status: "applied" },
    ]);
    await recordIntent(ch, database, chunk(10n, 19n));
    expect(await readProgress(ch, database, group)).toEqual([
      { ...chunk(10n, 19n), ...before, status: "intent" },
    ]);
  });

  it("data_as_of: per source the minimum over its claimed data partitions, unknown while one has nothing", async () => {
    const fresh = `${database}_fresh`;
    await migrate(ch, fresh);
    const g = `${group}-fresh`;
    const tp = (source: string, table: string) => ({ topic: `bionicpro.${source}.${table}`, partition: 0 });
    const payments = tp("crm", "crm_payments");
    const users = tp("crm", "crm_users");
    const crmBeat = tp("crm", "debezium_heartbeat");
    const samples = tp("telemetry", "raw_telemetry");
    const battery = tp("telemetry", "battery_metrics");
    await claimPartitions(ch, fresh, g, "member-a", [payments, users, crmBeat, samples, battery]);
    type Tp = { topic: string; partition: number };
    /** A chunk of claim 1: offsets 0-9 is the first, 10-19 the next. */
    const chunk = (p: Tp, first: bigint) => ({
      group: g,
      ...p,
      claimEpoch: 1n,
      firstOffset: first,
      lastOffset: first + 9n,
    });
    const applied = (p: Tp, commitTs: string) => recordApplied(ch, fresh, chunk(p, 0n), { commitTs });
    const idle = (p: Tp, completeTo: string) =>
      recordCompleteness(ch, fresh, [{ group: g, ...p, completeTo }]);
    await applied(payments, "2024-03-01 10:00:00.250");
    await idle(users, "2024-03-01 11:00:00.000");
    await applied(crmBeat, "2024-03-01 12:00:00.000"); // heartbeats are not data
    await applied(samples, "2024-03-01 09:00:00.000");
    await idle(samples, "2024-03-01 09:30:00.000");
    await idle(samples, "2024-03-01 09:20:00.000"); // an older value never wins
    const now = new Date("2024-03-01T10:00:00.000Z");
    // battery_metrics has neither an applied chunk nor an idle mark: telemetry is unknown.
    expect(await readFreshness(ch, fresh, now)).toEqual({
      sources: [
        { source: "crm", dataAsOf: "2024-03-01T10:00:00.249Z", lagSeconds: 0 },
        { source: "telemetry", dataAsOf: null, lagSeconds: null },
      ],
      dataAsOf: null,
      lagSeconds: null,
    });
    await idle(battery, "2024-03-01 09:45:00.000");
    expect(await readFreshness(ch, fresh, now)).toEqual({
      sources: [
        { source: "crm", dataAsOf: "2024-03-01T10:00:00.249Z", lagSeconds: 0 },
        { source: "telemetry", dataAsOf: "2024-03-01T09:29:59.999Z", lagSeconds: 1800.001 },
      ],
      dataAsOf: "2024-03-01T09:29:59.999Z",
      lagSeconds: 1800.001,
    });
    // The next chunks' intents carry the newest commit applied. A merge keeps only each partition's
    // latest progress row, the intent: neither data_as_of nor the heartbeat horizon goes back.
    const next = (p: Tp, commitTs: string) => recordIntent(ch, fresh, chunk(p, 10n), { commitTs });
    await next(payments, "2024-03-01 10:00:00.250");
    await next(crmBeat, "2024-03-01 12:00:00.000");
    await ch.command({ query: `OPTIMIZE TABLE ${fresh}.partition_progress FINAL` });
    const rows = await ch.query({
      query: `SELECT count() AS n FROM ${fresh}.partition_progress WHERE topic IN ('${payments.topic}', '${crmBeat.topic}')`,
      format: "JSONEachRow",
    });
    expect(await rows.json()).toEqual([{ n: 2 }]);
    expect((await readFreshness(ch, fresh, now)).sources[0]).toEqual({
      source: "crm",
      dataAsOf: "2024-03-01T10:00:00.249Z",
      lagSeconds: 0,
    });
    expect(await readHeartbeatHorizons(ch, fresh, g)).toEqual(new Map([["crm", "2024-03-01 12:00:00.000"]]));
    await ch.command({ query: `DROP DATABASE ${fresh}` });
  });
  it("migration 009 carries progress recorded before claims over as claim 0", async () => {
    const legacyDir = mkdtempSync(path.join(tmpdir(), "bionicpro-migrations-"));
    try {
      for (const file of readdirSync(migrationsDir).filter((f) => f < "009")) {
        copyFileSync(path.join(migrationsDir, file), path.join(legacyDir, file));
      }
      const legacy = `${database}_legacy`;
      await migrate(ch, legacy, { dir: legacyDir });
      await ch.insert({
        table: `${legacy}.pipeline_progress`,
        values: [
          {
            consumer_group: group,
            topic: "bionicpro.crm.crm_users",
            partition: 0,
            first_offset: 5,
            last_offset: 9,
            status: "applied",
            version: 19,
          },
        ],
        format: "JSONEachRow",
      });
      const later = (await loadMigrations()).map((m) => m.version).filter((v) => v >= 9);
      expect((await migrate(ch, legacy)).map((m) => m.version)).toEqual(later);
      // Migration 010's commit_ts reads as unknown for rows written before it.
      expect(await readProgress(ch, legacy, group)).toEqual([
        {
          group,
          topic: "bionicpro.crm.crm_users",
          partition: 0,
          claimEpoch: 0n,
          firstOffset: 5n,
          lastOffset: 9n,
          status: "applied",
          commitTs: null,
        },
      ]);
      await ch.command({ query: `DROP DATABASE ${legacy}` });
    } finally {
      rmSync(legacyDir, { recursive: true, force: true });
    }
  });
  it("fences a superseded claim: the newer claim holds the partition and outranks whatever the older one still writes", async () => {
    // A quote and a backslash in the group: the fence check carries it as an escaped literal.
    const fenceGroup = `${group}-fence-o'neil\\`;
    const tp = { topic: "bionicpro.telemetry.telemetry_events", partition: 0 };
    const range = (claimEpoch: bigint, first: bigint, last: bigint) => ({
      group: fenceGroup,
      ...tp,
      claimEpoch,
      firstOffset: first,
      lastOffset: last,
    });
    const [a] = await claimPartitions(ch, database, fenceGroup, "member-a", [tp]);
    expect(a).toEqual({ ...tp, epoch: 1n, member: "member-a" });
    expect(await holdsClaim(ch, database, fenceGroup, a!)).toBe(true);
    const noRun = { commitTs: null };
    await recordApplied(ch, database, range(1n, 0n, 99n), noRun);

    // member-b is assigned the partition: its claim fences member-a off.
    const [b] = await claimPartitions(ch, database, fenceGroup, "member-b", [tp]);
    expect(b).toEqual({ ...tp, epoch: 2n, member: "member-b" });
    expect(await holdsClaim(ch, database, fenceGroup, a!)).toBe(false);
    expect(await holdsClaim(ch, database, fenceGroup, b!)).toBe(true);
    await recordIntent(ch, database, range(2n, 100n, 179n));
    await recordApplied(ch, database, range(2n, 100n, 179n), noRun);

    // member-a, not yet aware, records an intent for a longer range; it then fails the claim check
    // and inserts nothing. The next owner must resume after member-b's chunk, not redo member-a's.
    await recordIntent(ch, database, range(1n, 100n, 199n));
    expect(await readProgress(ch, database, fenceGroup)).toEqual([
      { ...range(2n, 100n, 179n), ...noRun, status: "applied" },
    ]);

    // Claims are per partition: another partition's first claim has epoch 1.
    const [c] = await claimPartitions(ch, database, fenceGroup, "member-c", [
      { topic: "bionicpro.telemetry.battery_metrics", partition: 0 },
    ]);
    expect(c?.epoch).toBe(1n);
  });
});
