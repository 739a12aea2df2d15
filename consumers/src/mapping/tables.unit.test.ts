import { describe, expect, it } from "vitest";
import type { SourceRow } from "../envelope.js";
import { buildEnvelope } from "./debezium-envelope.js";
import { mapChange } from "./map-change.js";
import type { ChRow, TargetTable } from "./types.js";

const lsn = 36237800n;
const tsMs = 1705314600123n;
const position = { topic: "bionicpro.crm.x", partition: 0, offset: "7" };
const meta = { lsn: "36237800", commit_ts: "2024-01-15 10:30:00.123" };
/** (36237800 << 64) | 7 */
const version = "668469422394271989550284807";

interface Case {
  db: "crm_db" | "telemetry_db";
  table: string;
  before: SourceRow;
  after: SourceRow;
  dimension?: { target: TargetTable; before: ChRow; after: ChRow };
  fact?: { target: TargetTable; before: ChRow; after: ChRow };
}

const cases: Case[] = [
  {
    db: "crm_db",
    table: "crm_users",
    before: {
      user_id: 1,
      user_uuid: "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
      login: "alex",
      first_name: "Александр",
      last_name: "Иванов",
      email: "alex.ivanov@bionicpro.ru",
      phone: null,
      created_at: "2024-01-15T10:30:00Z",
      updated_at: "2024-01-15T10:30:00Z",
    },
    after: {
      user_id: 1,
      user_uuid: "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
      login: "alex",
      first_name: "Александр",
      last_name: "Иванов",
      email: "alex@bionicpro.ru",
      phone: "+79999999999",
      created_at: "2024-01-15T10:30:00Z",
      updated_at: "2024-02-01T08:00:00.5Z",
    },
    dimension: {
      target: "dim_users",
      before: {
        user_id: 1,
        user_uuid: "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
        login: "alex",
        first_name: "Александр",
        last_name: "Иванов",
        email: "alex.ivanov@bionicpro.ru",
        phone: null,
        created_at: "2024-01-15 10:30:00.000000",
        updated_at: "2024-01-15 10:30:00.000000",
      },
      after: {
        user_id: 1,
        user_uuid: "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
        login: "alex",
        first_name: "Александр",
        last_name: "Иванов",
        email: "alex@bionicpro.ru",
        phone: "+79999999999",
        created_at: "2024-01-15 10:30:00.000000",
        updated_at: "2024-02-01 08:00:00.500000",
      },
    },
  },
  {
    db: "crm_db",
    table: "crm_prosthetics",
    before: {
      prosthetic_id: 3,
      user_id: 1,
      prosthetic_uuid: "p1234567-89ab-cdef-0123-456789abcdef",
      chip_id: "CHIP-0003",
      device_type: "left_arm",
      serial_number: "SN-123456",
      model: "BionicPRO X2",
      purchase_date: 19372,
      warranty_end_date: 19737,
      is_active: true,
      created_at: "2023-01-15T00:00:00.000001Z",
      updated_at: "2023-01-15T00:00:00.000001Z",
    },
    after: {
      prosthetic_id: 3,
      user_id: 2,
      prosthetic_uuid: "p1234567-89ab-cdef-0123-456789abcdef",
      chip_id: "CHIP-0003",
      device_type: "left_arm",
      serial_number: "SN-123456",
      model: "BionicPRO X2",
      purchase_date: 19372,
      warranty_end_date: 19737,
      is_active: false,
      created_at: "2023-01-15T00:00:00.000001Z",
      updated_at: "2024-03-01T12:00:00.25Z",
    },
    dimension: {
      target: "dim_prosthetics",
      before: {
        prosthetic_id: 3,
        user_id: 1,
        prosthetic_uuid: "p1234567-89ab-cdef-0123-456789abcdef",
        chip_id: "CHIP-0003",
        device_type: "left_arm",
        serial_number: "SN-123456",
        model: "BionicPRO X2",
        purchase_date: "2023-01-15",
        warranty_end_date: "2024-01-15",
        is_active: 1,
        created_at: "2023-01-15 00:00:00.000001",
        updated_at: "2023-01-15 00:00:00.000001",
      },
      after: {
        prosthetic_id: 3,
        user_id: 2,
        prosthetic_uuid: "p1234567-89ab-cdef-0123-456789abcdef",
        chip_id: "CHIP-0003",
        device_type: "left_arm",
        serial_number: "SN-123456",
        model: "BionicPRO X2",
        purchase_date: "2023-01-15",
        warranty_end_date: "2024-01-15",
        is_active: 0,
        created_at: "2023-01-15 00:00:00.000001",
        updated_at: "2024-03-01 12:00:00.250000",
      },
    },
  },
  {
    db: "crm_db",
    table: "crm_subscriptions",
    before: {
      subscription_id: 1,
      user_id: 1,
      subscription_type: "basic",
      start_date: 19723,
      end_date: null,
      is_active: true,
      monthly_cost: "2999.00",
      created_at: "2026-11-23T18:17:55.845189Z",
      updated_at: "2026-11-23T18:17:55.845189Z",
    },
    after: {
      subscription_id: 1,
      user_id: 1,
      subscription_type: "basic",
      start_date: 19723,
      end_date: 19782,
      is_active: false,
      monthly_cost: "2999.00",
      created_at: "2026-11-23T18:17:55.845189Z",
      updated_at: "2026-11-24T09:00:00Z",
    },
    dimension: {
      target: "dim_subscriptions",
      before: {
        subscription_id: 1,
        user_id: 1,
        subscription_type: "basic",
        start_date: "2024-01-01",
        end_date: null,
        is_active: 1,
        monthly_cost: "2999.00",
        created_at: "2026-11-23 18:17:55.845189",
        updated_at: "2026-11-23 18:17:55.845189",
      },
      after: {
        subscription_id: 1,
        user_id: 1,
        subscription_type: "basic",
        start_date: "2024-01-01",
        end_date: "2024-02-29",
        is_active: 0,
        monthly_cost: "2999.00",
        created_at: "2026-11-23 18:17:55.845189",
        updated_at: "2026-11-24 09:00:00.000000",
      },
    },
    fact: {
      target: "subscription_changes",
      before: {
        subscription_id: 1,
        user_id: 1,
        subscription_type: "basic",
        start_date: "2024-01-01",
        end_date: null,
        monthly_cost: "2999.00",
      },
      after: {
        subscription_id: 1,
        user_id: 1,
        subscription_type: "basic",
        start_date: "2024-01-01",
        end_date: "2024-02-29",
        monthly_cost: "2999.00",
      },
    },
  },
  {
    db: "crm_db",
    table: "crm_payments",
    before: {
      payment_id: 101,
      user_id: 1,
      subscription_id: 5,
      payment_date: "2024-01-31T23:59:59.999999Z",
      amount: "2999.00",
      payment_method: "card",
      status: "pending",
      description: "January",
      created_at: "2024-01-31T23:59:59.999999Z",
    },
    after: {
      payment_id: 101,
      user_id: 1,
      subscription_id: 5,
      payment_date: "2024-01-31T23:59:59.999999Z",
      amount: "2999.00",
      payment_method: "card",
      status: "success",
      description: "January",
      created_at: "2024-01-31T23:59:59.999999Z",
    },
    fact: {
      target: "payment_changes",
      before: {
        payment_id: 101,
        user_id: 1,
        subscription_id: 5,
        payment_date: "2024-01-31 23:59:59.999999",
        amount: "2999.00",
        payment_method: "card",
        status: "pending",
      },
      after: {
        payment_id: 101,
        user_id: 1,
        subscription_id: 5,
        payment_date: "2024-01-31 23:59:59.999999",
        amount: "2999.00",
        payment_method: "card",
        status: "success",
      },
    },
  },
  {
    db: "crm_db",
    table: "crm_support_tickets",
    before: {
      ticket_id: 9,
      user_id: 1,
      prosthetic_id: null,
      title: "Протез не включается",
      description: null,
      status: "open",
      created_at: "2024-01-02T03:04:05Z",
      updated_at: "2024-01-02T03:04:05Z",
      resolved_at: null,
    },
    after: {
      ticket_id: 9,
      user_id: 1,
      prosthetic_id: 3,
      title: "Протез не включается",
      description: "после зарядки",
      status: "resolved",
      created_at: "2024-01-02T03:04:05Z",
      updated_at: "2024-01-03T00:00:00Z",
      resolved_at: "2024-01-03T00:00:00Z",
    },
    dimension: {
      target: "dim_support_tickets",
      before: {
        ticket_id: 9,
        user_id: 1,
        prosthetic_id: null,
        title: "Протез не включается",
        description: null,
        status: "open",
        created_at: "2024-01-02 03:04:05.000000",
        updated_at: "2024-01-02 03:04:05.000000",
        resolved_at: null,
      },
      after: {
        ticket_id: 9,
        user_id: 1,
        prosthetic_id: 3,
        title: "Протез не включается",
        description: "после зарядки",
        status: "resolved",
        created_at: "2024-01-02 03:04:05.000000",
        updated_at: "2024-01-03 00:00:00.000000",
        resolved_at: "2024-01-03 00:00:00.000000",
      },
    },
  },
  {
    db: "telemetry_db",
    table: "telemetry_events",
    before: {
      event_id: 9007199254740993n,
      prosthetic_id: 3,
      event_type: "power_on",
      event_timestamp: "2024-01-31T23:30:00Z",
      event_value: "battery_85%",
      severity: "info",
      created_at: "2024-01-31T23:30:01Z",
    },
    after: {
      event_id: 9007199254740993n,
      prosthetic_id: 3,
      event_type: "power_off",
      event_timestamp: "2024-02-01T00:30:00.1Z",
      event_value: null,
      severity: "info",
      created_at: "2024-01-31T23:30:01Z",
    },
    fact: {
      target: "telemetry_event_changes",
      before: {
        event_id: "9007199254740993",
        prosthetic_id: 3,
        event_type: "power_on",
        event_timestamp: "2024-01-31 23:30:00.000000",
        event_value: "battery_85%",
        severity: "info",
      },
      after: {
        event_id: "9007199254740993",
        prosthetic_id: 3,
        event_type: "power_off",
        event_timestamp: "2024-02-01 00:30:00.100000",
        event_value: null,
        severity: "info",
      },
    },
  },
  {
    db: "telemetry_db",
    table: "battery_metrics",
    before: {
      metric_id: 44n,
      prosthetic_id: 3,
      metric_timestamp: "2024-01-10T06:00:00Z",
      charge_level: 95.5,
      current_ma: 150.2,
      is_charging: true,
      created_at: "2024-01-10T06:00:00Z",
    },
    after: {
      metric_id: 44n,
      prosthetic_id: 3,
      metric_timestamp: "2024-01-10T06:00:00Z",
      charge_level: 45.2,
      current_ma: -80.5,
      is_charging: false,
      created_at: "2024-01-10T06:00:00Z",
    },
    fact: {
      target: "battery_metric_changes",
      before: {
        metric_id: "44",
        prosthetic_id: 3,
        metric_timestamp: "2024-01-10 06:00:00.000000",
        charge_level: 95.5,
        current_ma: 150.2,
        is_charging: 1,
      },
      after: {
        metric_id: "44",
        prosthetic_id: 3,
        metric_timestamp: "2024-01-10 06:00:00.000000",
        charge_level: 45.2,
        current_ma: -80.5,
        is_charging: 0,
      },
    },
  },
  {
    db: "telemetry_db",
    table: "raw_telemetry",
    before: {
      sample_id: 123456789012n,
      chip_id: "CHIP-0003",
      event_time: "2024-01-10T06:59:59.999Z",
      response_time_ms: 42,
      battery_level: 80,
      error_code: 0,
    },
    after: {
      sample_id: 123456789012n,
      chip_id: "CHIP-0003",
      event_time: "2024-01-10T06:59:59.999Z",
      response_time_ms: 45,
      battery_level: 80,
      error_code: 3,
    },
    fact: {
      target: "raw_telemetry_changes",
      before: {
        sample_id: "123456789012",
        chip_id: "CHIP-0003",
        event_time: "2024-01-10 06:59:59.999000",
        response_time_ms: 42,
        battery_level: 80,
        error_code: 0,
      },
      after: {
        sample_id: "123456789012",
        chip_id: "CHIP-0003",
        event_time: "2024-01-10 06:59:59.999000",
        response_time_ms: 45,
        battery_level: 80,
        error_code: 3,
      },
    },
  },
];

const dimRow = (row: ChRow, deleted: 0 | 1) => ({
  ...row,
  version,
  is_deleted: deleted,
  commit_ts: meta.commit_ts,
});
const factRow = (sign: 1 | -1, row: ChRow) => ({ sign, ...row, ...meta });

function expectedRows(c: Case, op: "c" | "r" | "u" | "d") {
  const rows: Partial<Record<TargetTable, ChRow[]>> = {};
  if (c.dimension) {
    rows[c.dimension.target] = [op === "d" ? dimRow(c.dimension.before, 1) : dimRow(c.dimension.after, 0)];
  }
  if (c.fact) {
    const { target, before, after } = c.fact;
    if (op === "c" || op === "r") rows[target] = [factRow(1, after)];
    if (op === "u") rows[target] = [factRow(-1, before), factRow(1, after)];
    if (op === "d") rows[target] = [factRow(-1, before)];
  }
  return rows;
}

const source = (db: Case["db"]) => (db === "crm_db" ? "crm" : "telemetry");

describe.each(cases)("$table", (c) => {
  const topic = `bionicpro.${source(c.db)}.${c.table}`;
  const watermark = { source: source(c.db), commitTs: meta.commit_ts, commitTsMs: tsMs, lsn };
  const event = (op: "c" | "r" | "u" | "d" | "t") => {
    const before = op === "u" || op === "d" ? c.before : null;
    const after = op === "d" || op === "t" ? null : c.after;
    return buildEnvelope({ db: c.db, table: c.table, op, before, after, lsn, tsMs });
  };

  const reset = (kind: "truncate" | "snapshot") => ({
    kind,
    source: source(c.db),
    sourceTable: c.table,
    lsn,
    commitTs: meta.commit_ts,
  });

  it.each(["c", "r", "u", "d"] as const)("op %s -> exact signed / versioned rows", (op) => {
    expect(mapChange(topic, event(op), position)).toEqual({
      kind: "rows",
      sourceTable: c.table,
      rows: expectedRows(c, op),
      watermark,
      // A snapshot read belongs to the snapshot at its LSN (a reset when it is new).
      snapshot: op === "r" ? reset("snapshot") : null,
    });
  });

  it("op t -> a reset of the table at the TRUNCATE's LSN", () => {
    expect(mapChange(topic, event("t"), position)).toEqual({
      kind: "reset",
      reset: reset("truncate"),
      watermark,
    });
  });

  it("tombstone -> skipped", () => {
    expect(mapChange(topic, null, position)).toEqual({ kind: "skip", reason: "tombstone", watermark: null });
  });

  it("update of columns no mart reads (created_at, updated_at) adds no fact rows", () => {
    const stamps = Object.fromEntries(
      ["created_at", "updated_at"].filter((k) => k in c.before).map((k) => [k, "2030-01-01T00:00:00Z"]),
    );
    const after = { ...c.before, ...stamps };
    const envelope = buildEnvelope({ db: c.db, table: c.table, op: "u", before: c.before, after, lsn, tsMs });
    const mapped = mapChange(topic, envelope, position);
    expect(mapped.kind).toBe("rows");
    if (mapped.kind === "rows" && c.fact) expect(mapped.rows[c.fact.target]).toBeUndefined();
  });
});
