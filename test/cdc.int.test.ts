import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { SOURCES, type SourceName } from "../connectors/sources.js";
import type { ChangeEnvelope } from "../consumers/src/envelope.js";
import { generate } from "../scripts/generate/index.js";
import { startPostgres } from "../scripts/stack/components/postgres.js";
import { stackDown, stackUp } from "../scripts/stack/stack.js";
import { stackLayout } from "../scripts/stack/layout.js";
import {
  closeCdcRun,
  collect,
  openCdcRun,
  startConnectors,
  topicRecordCount,
  waitFor,
  type CdcRun,
  type DecodedRecord,
} from "./harness/cdc.js";

/**
 * The CDC stream end to end on real services: PostgreSQL -> Debezium (Kafka Connect) -> Kafka, Avro
 * through the schema registry, decoded with @kafkajs/confluent-schema-registry.
 */
let run: CdcRun;
const snapshotCounts = new Map<string, number>();

async function query<T extends pg.QueryResultRow>(
  database: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ ...run.config.pg, password: run.config.pg.password, database });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

const dbOf = (source: SourceName): string => (source === "crm" ? run.dbs.crmDb : run.dbs.telemetryDb);
const envelopes = (records: DecodedRecord[]): ChangeEnvelope[] =>
  records.map((r) => r.value).filter((v): v is ChangeEnvelope => v !== null);

beforeAll(async () => {
  run = await openCdcRun();
  await generate({
    pg: run.dbs.pg,
    crmDb: run.dbs.crmDb,
    telemetryDb: run.dbs.telemetryDb,
    scale: 1,
    seed: 7,
    progress: false,
  });
  for (const source of ["crm", "telemetry"] as const) {
    for (const table of SOURCES[source].tables) {
      const [row] = await query<{ n: string }>(dbOf(source), `SELECT count(*) AS n FROM ${table}`);
      snapshotCounts.set(run.topic(source, table), Number(row?.n));
    }
  }
  await startConnectors(run);
}, 600_000);

afterAll(async () => {
  if (run) await closeCdcRun(run);
}, 120_000);

describe("initial snapshot", () => {
  it("delivers every generated row of every table exactly once", async () => {
    for (const [topic, expected] of snapshotCounts) {
      expect(expected).toBeGreaterThan(0);
      const count = await waitFor(
        `snapshot of ${topic}`,
        async () => {
          const n = await topicRecordCount(run, topic);
          return n >= expected ? n : undefined;
        },
        300_000,
      );
      expect({ topic, count }).toEqual({ topic, count: expected });
    }
  }, 600_000);

  it("marks snapshot records as reads with exact decimals", async () => {
    const topic = run.topic("crm", "crm_subscriptions");
    const records = await collect(run, [topic], (rs) => rs.length >= (snapshotCounts.get(topic) ?? 0));
    const values = envelopes(records);
    expect(values.every((v) => v.op === "r" && v.before === null)).toBe(true);
    const costs = new Set(values.map((v) => v.after?.monthly_cost));
    expect([...costs].every((c) => typeof c === "string" && /^\d+\.\d{2}$/.test(c))).toBe(true);
    const rows = await query<{ subscription_id: number; monthly_cost: string }>(
      run.dbs.crmDb,
      "SELECT subscription_id, monthly_cost::text AS monthly_cost FROM crm_subscriptions",
    );
    const fromKafka = new Map(values.map((v) => [v.after?.subscription_id, v.after?.monthly_cost]));
    expect(new Map(rows.map((r) => [r.subscription_id, r.monthly_cost]))).toEqual(fromKafka);
  }, 120_000);
});

describe("live changes", () => {
  it("carries an insert, an update and a delete of crm_payments with before/after images", async () => {
    const [user] = await query<{ user_id: number; subscription_id: number }>(
      run.dbs.crmDb,
      "SELECT user_id, subscription_id FROM crm_subscriptions ORDER BY subscription_id LIMIT 1",
    );
    const paymentId = 9_000_001;
    const before = Date.now();
    await query(
      run.dbs.crmDb,
      `INSERT INTO crm_payments (payment_id, user_id, subscription_id, payment_date, amount, payment_method, status, description, created_at)
       VALUES ($1, $2, $3, '2024-01-15 10:30:00.123456+00', 2999.00, 'card', 'pending', 'cdc test', '2024-01-15 10:30:01+00')`,
      [paymentId, user?.user_id, user?.subscription_id],
    );
    await query(run.dbs.crmDb, "UPDATE crm_payments SET status = 'success' WHERE payment_id = $1", [
      paymentId,
    ]);
    await query(run.dbs.crmDb, "DELETE FROM crm_payments WHERE payment_id = $1", [paymentId]);
    const [{ lsn } = { lsn: "" }] = await query<{ lsn: string }>(
      run.dbs.crmDb,
      "SELECT (pg_current_wal_lsn() - '0/0')::text AS lsn",
    );
    const after = Date.now();

    const topic = run.topic("crm", "crm_payments");
    const isOurs = (r: DecodedRecord): boolean => r.key?.payment_id === paymentId;
    const records = await collect(run, [topic], (rs) => rs.filter(isOurs).length >= 4, 60_000);
    const ours = records.filter(isOurs);
    expect(ours.map((r) => r.value?.op ?? "tombstone")).toEqual(["c", "u", "d", "tombstone"]);
    // One key -> one partition: the order of a row's changes is kept.
    expect(new Set(ours.map((r) => r.partition)).size).toBe(1);

    const [created, updated, deleted] = ours.map((r) => r.value as ChangeEnvelope);
    expect(created?.before).toBeNull();
    expect(created?.after).toMatchObject({
      payment_id: paymentId,
      amount: "2999.00",
      status: "pending",
      payment_method: "card",
      payment_date: "2024-01-15T10:30:00.123456Z",
      created_at: "2024-01-15T10:30:01.000000Z",
    });
    expect(updated?.before).toMatchObject({ payment_id: paymentId, status: "pending", amount: "2999.00" });
    expect(updated?.after).toMatchObject({ payment_id: paymentId, status: "success", amount: "2999.00" });
    expect(deleted?.before).toMatchObject({ payment_id: paymentId, status: "success", amount: "2999.00" });
    expect(deleted?.after).toBeNull();

    for (const change of [created, updated, deleted]) {
      expect(change?.source.db).toBe(run.dbs.crmDb);
      expect(change?.source.table).toBe("crm_payments");
      expect(typeof change?.source.lsn).toBe("bigint");
      expect((change?.source.lsn ?? 0n) > 0n).toBe(true);
      expect((change?.source.lsn ?? 0n) <= BigInt(lsn)).toBe(true);
      const commitMs = Number(change?.source.ts_ms);
      expect(commitMs).toBeGreaterThanOrEqual(before - 1000);
      expect(commitMs).toBeLessThanOrEqual(after + 1000);
    }
    expect((created?.source.lsn ?? 0n) < (updated?.source.lsn ?? 0n)).toBe(true);
    expect((updated?.source.lsn ?? 0n) < (deleted?.source.lsn ?? 0n)).toBe(true);
  }, 120_000);

  it("carries an insert, an update and a delete of telemetry_events with UTC timestamps", async () => {
    const eventId = 9_000_000_001n;
    await query(
      run.dbs.telemetryDb,
      `INSERT INTO telemetry_events (event_id, prosthetic_id, event_type, event_timestamp, event_value, severity, created_at)
       VALUES ($1, 1, 'error', '2024-03-31 23:59:59.5+03', 'motor_fault', 'error', '2024-03-31 21:00:00+00')`,
      [eventId.toString()],
    );
    await query(
      run.dbs.telemetryDb,
      "UPDATE telemetry_events SET severity = 'critical', event_type = 'critical_fault' WHERE event_id = $1",
      [eventId.toString()],
    );
    await query(run.dbs.telemetryDb, "DELETE FROM telemetry_events WHERE event_id = $1", [
      eventId.toString(),
    ]);

    const topic = run.topic("telemetry", "telemetry_events");
    const isOurs = (r: DecodedRecord): boolean => r.key?.event_id === eventId;
    const records = await collect(run, [topic], (rs) => rs.filter(isOurs).length >= 4, 120_000);
    const ours = records.filter(isOurs);
    expect(ours.map((r) => r.value?.op ?? "tombstone")).toEqual(["c", "u", "d", "tombstone"]);
    const [created, updated, deleted] = ours.map((r) => r.value as ChangeEnvelope);
    // +03:00 local time is stored and emitted as UTC.
    expect(created?.after).toMatchObject({
      event_id: eventId,
      prosthetic_id: 1,
      event_type: "error",
      severity: "error",
      event_timestamp: "2024-03-31T20:59:59.500000Z",
    });
    expect(updated?.before).toMatchObject({ event_id: eventId, severity: "error", event_type: "error" });
    expect(updated?.after).toMatchObject({
      event_id: eventId,
      severity: "critical",
      event_type: "critical_fault",
    });
    expect(deleted?.before).toMatchObject({ event_id: eventId, severity: "critical" });
    expect(deleted?.after).toBeNull();
    expect(deleted?.source.db).toBe(run.dbs.telemetryDb);
  }, 180_000);
});

describe("restart", () => {
  it("`stack down` then `stack up` resumes from the slot: changes made meanwhile arrive, nothing is snapshotted twice", async () => {
    if (inject("stackMode") !== "native") {
      // Stopping the stack needs the native stack's process control; compose users restart containers.
      return;
    }
    const layout = stackLayout(run.config.stateDir);
    const topic = run.topic("crm", "crm_users");
    const countBefore = await topicRecordCount(run, topic);
    await stackDown(run.config, { log: () => undefined });
    // Only PostgreSQL comes back: the rows below are written while Kafka and Connect are down.
    await startPostgres(layout, run.config.pg, { timeoutS: run.config.healthTimeoutS, log: () => undefined });

    const ids = [9_100_001, 9_100_002, 9_100_003];
    for (const id of ids) {
      await query(
        run.dbs.crmDb,
        `INSERT INTO crm_users (user_id, user_uuid, login, first_name, last_name, email, phone)
         VALUES ($1::int, gen_random_uuid()::text, 'down' || $1::text, 'Пока', 'Выключен', 'down' || $1::text || '@example.org', NULL)`,
        [id],
      );
    }
    await stackUp(run.config, { sourceConnectors: false, log: () => undefined });

    const records = await collect(
      run,
      [topic],
      (rs) => rs.filter((r) => ids.includes(Number(r.key?.user_id))).length >= ids.length,
      180_000,
    );
    // Keys spread over partitions: order across keys is not defined, so compare sorted.
    const resumed = records
      .filter((r) => ids.includes(Number(r.key?.user_id)))
      .map((r) => [Number(r.key?.user_id), r.value?.op])
      .sort((a, b) => Number(a[0]) - Number(b[0]));
    expect(resumed).toEqual(ids.map((id) => [id, "c"]));
    // Exactly the new rows were added: the snapshot was not taken again.
    expect(await topicRecordCount(run, topic)).toBe(countBefore + ids.length);
    expect(records.filter((r) => r.value?.op === "r").length).toBe(snapshotCounts.get(topic));
  }, 600_000);
});
