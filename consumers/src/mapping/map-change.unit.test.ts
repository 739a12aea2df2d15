import { describe, expect, it } from "vitest";
import { collectChunk } from "./collect.js";
import { buildEnvelope } from "./debezium-envelope.js";
import { MappingError } from "./errors.js";
import { mapChange, parseTopicTable } from "./map-change.js";
import { epochDaysToDate, isoToDateTime64, msToDateTime64 } from "./values.js";

const position = { topic: "bionicpro.crm.crm_payments", partition: 2, offset: "15" };
const payment = {
  payment_id: 1,
  user_id: 1,
  subscription_id: 1,
  payment_date: "2024-01-15T10:30:00Z",
  amount: "2999.00",
  payment_method: "card",
  status: "success",
  description: null,
  created_at: "2024-01-15T10:30:00Z",
};
const paymentEvent = (overrides: Partial<Parameters<typeof buildEnvelope>[0]> = {}) =>
  buildEnvelope({
    db: "crm_db",
    table: "crm_payments",
    op: "c",
    after: payment,
    lsn: 100n,
    tsMs: 1705314600000n,
    ...overrides,
  });

function mappingError(fn: () => unknown): MappingError {
  try {
    fn();
  } catch (error) {
    if (error instanceof MappingError) return error;
    throw error;
  }
  throw new Error("expected a MappingError");
}

describe("topic tables", () => {
  it("accepts full topic names (prefix may contain dots) and <source>.<table>", () => {
    expect(parseTopicTable("bionicpro.crm.crm_payments")).toEqual({ source: "crm", table: "crm_payments" });
    expect(parseTopicTable("a.b.telemetry.raw_telemetry")).toEqual({
      source: "telemetry",
      table: "raw_telemetry",
    });
    expect(parseTopicTable("crm.debezium_heartbeat")).toEqual({ source: "crm", table: "debezium_heartbeat" });
    // Asked again (it runs once per change): the same answer.
    expect(parseTopicTable("a.b.telemetry.raw_telemetry")).toEqual({
      source: "telemetry",
      table: "raw_telemetry",
    });
  });

  it.each(["bionicpro.crm.unknown", "bionicpro.telemetry.crm_payments", "crm_payments", ""])(
    "rejects %j",
    (name) => {
      expect(mappingError(() => parseTopicTable(name)).code).toBe("MAPPING_UNKNOWN_TABLE");
      // Still rejected the second time: unknown names are never remembered.
      expect(mappingError(() => parseTopicTable(name)).code).toBe("MAPPING_UNKNOWN_TABLE");
    },
  );
});

describe("events that carry no rows", () => {
  it("heartbeat -> skip with the source watermark", () => {
    const envelope = buildEnvelope({
      db: "telemetry_db",
      table: "debezium_heartbeat",
      op: "u",
      before: { id: 1, beat_at: "2024-01-15T10:29:00Z" },
      after: { id: 1, beat_at: "2024-01-15T10:30:00Z" },
      lsn: 555n,
      tsMs: 1705314600000n,
    });
    expect(mapChange("bionicpro.telemetry.debezium_heartbeat", envelope, position)).toEqual({
      kind: "skip",
      reason: "heartbeat",
      watermark: {
        source: "telemetry",
        commitTs: "2024-01-15 10:30:00.000",
        commitTsMs: 1705314600000n,
        lsn: 555n,
      },
    });
  });

  it("heartbeat tombstone -> skip", () => {
    expect(mapChange("bionicpro.crm.debezium_heartbeat", null, position)).toEqual({
      kind: "skip",
      reason: "tombstone",
      watermark: null,
    });
  });

  it("logical decoding message -> skip", () => {
    const mapped = mapChange("bionicpro.crm.crm_payments", paymentEvent({ op: "m", after: null }), position);
    expect(mapped).toMatchObject({ kind: "skip", reason: "logical_message" });
  });
});

describe("invalid events", () => {
  const cases: [string, () => unknown, string][] = [
    [
      "create without after",
      () => mapChange("crm.crm_payments", paymentEvent({ after: null }), position),
      "MAPPING_MISSING_AFTER",
    ],
    [
      "snapshot read without after",
      () => mapChange("crm.crm_payments", paymentEvent({ op: "r", after: null }), position),
      "MAPPING_MISSING_AFTER",
    ],
    [
      "fact update without before",
      () => mapChange("crm.crm_payments", paymentEvent({ op: "u" }), position),
      "MAPPING_MISSING_BEFORE",
    ],
    [
      "delete without before",
      () => mapChange("crm.crm_payments", paymentEvent({ op: "d", after: null }), position),
      "MAPPING_MISSING_BEFORE",
    ],
    [
      "event of another table",
      () => mapChange("crm.crm_users", paymentEvent(), position),
      "MAPPING_TABLE_MISMATCH",
    ],
    [
      "unknown op",
      () => mapChange("crm.crm_payments", { ...paymentEvent(), op: "x" as never }, position),
      "MAPPING_UNKNOWN_OP",
    ],
    [
      "missing lsn",
      () => {
        const e = paymentEvent();
        return mapChange("crm.crm_payments", { ...e, source: { ...e.source, lsn: null } }, position);
      },
      "MAPPING_MISSING_LSN",
    ],
    [
      "timestamp with an offset",
      () =>
        mapChange(
          "crm.crm_payments",
          paymentEvent({ after: { ...payment, payment_date: "2024-01-15T10:30:00+03:00" } }),
          position,
        ),
      "MAPPING_BAD_TIMESTAMP",
    ],
    [
      "timestamp that does not exist",
      () =>
        mapChange(
          "crm.crm_payments",
          paymentEvent({ after: { ...payment, payment_date: "2024-02-30T10:30:00Z" } }),
          position,
        ),
      "MAPPING_BAD_TIMESTAMP",
    ],
    [
      "timestamp as a number",
      () =>
        mapChange(
          "crm.crm_payments",
          paymentEvent({ after: { ...payment, payment_date: 1705314600000 } }),
          position,
        ),
      "MAPPING_BAD_TIMESTAMP",
    ],
    [
      "decimal with excess precision",
      () =>
        mapChange("crm.crm_payments", paymentEvent({ after: { ...payment, amount: "2999.001" } }), position),
      "MAPPING_BAD_DECIMAL",
    ],
    [
      "decimal as a double",
      () => mapChange("crm.crm_payments", paymentEvent({ after: { ...payment, amount: 2999 } }), position),
      "MAPPING_BAD_DECIMAL",
    ],
    [
      "missing column",
      () => {
        const { status: _status, ...rest } = payment;
        return mapChange("crm.crm_payments", paymentEvent({ after: rest }), position);
      },
      "MAPPING_MISSING_COLUMN",
    ],
    [
      "null in a NOT NULL column",
      () => mapChange("crm.crm_payments", paymentEvent({ after: { ...payment, user_id: null } }), position),
      "MAPPING_BAD_VALUE",
    ],
    [
      "fractional integer",
      () => mapChange("crm.crm_payments", paymentEvent({ after: { ...payment, user_id: 1.5 } }), position),
      "MAPPING_BAD_VALUE",
    ],
    [
      "negative offset",
      () => mapChange("crm.crm_payments", paymentEvent(), { ...position, offset: "-1" }),
      "MAPPING_BAD_OFFSET",
    ],
  ];

  it.each(cases)("%s", (_name, fn, code) => {
    const error = mappingError(fn);
    expect(error.code).toBe(code);
    expect(error.canRetry).toBe(false);
  });

  it("date out of range names table and column", () => {
    const error = mappingError(() =>
      mapChange(
        "crm.crm_subscriptions",
        buildEnvelope({
          db: "crm_db",
          table: "crm_subscriptions",
          op: "c",
          after: {
            subscription_id: 1,
            user_id: 1,
            subscription_type: "basic",
            start_date: -1,
            end_date: null,
            is_active: true,
            monthly_cost: "1.00",
            created_at: "2024-01-01T00:00:00Z",
            updated_at: "2024-01-01T00:00:00Z",
          },
          lsn: 1n,
          tsMs: 0n,
        }),
        position,
      ),
    );
    expect([error.code, error.table, error.column]).toEqual([
      "MAPPING_BAD_DATE",
      "crm_subscriptions",
      "start_date",
    ]);
  });
});

describe("value conversion", () => {
  it.each([
    ["2024-01-15T10:30:00Z", "2024-01-15 10:30:00.000000"],
    ["2024-01-15T10:30:00.1Z", "2024-01-15 10:30:00.100000"],
    ["2024-01-15T10:30:00.123456Z", "2024-01-15 10:30:00.123456"],
    ["2024-01-15T10:30:00.123456000Z", "2024-01-15 10:30:00.123456"],
    ["2024-02-29T23:59:59.999999Z", "2024-02-29 23:59:59.999999"],
    ["2000-02-29T00:00:00Z", "2000-02-29 00:00:00.000000"],
    ["2024-04-30T00:00:00.5Z", "2024-04-30 00:00:00.500000"],
    ["2024-12-31T23:59:59.000001Z", "2024-12-31 23:59:59.000001"],
    ["2024-01-15T10:30:00.12345Z", "2024-01-15 10:30:00.123450"],
    ["2024-01-15T10:30:00.1234560Z", "2024-01-15 10:30:00.123456"],
    ["1900-01-01T00:00:00Z", "1900-01-01 00:00:00.000000"],
    ["2299-12-31T23:59:59.9Z", "2299-12-31 23:59:59.900000"],
  ])("timestamp %s -> %s", (iso, ch) => expect(isoToDateTime64(iso)).toBe(ch));

  it.each([
    "2024-01-15 10:30:00Z",
    "2024-01-15T10:30:00.1234567Z",
    "2023-02-29T00:00:00Z",
    "2024-01-15T24:00:00Z",
    "2100-02-29T00:00:00Z",
    "2024-04-31T00:00:00Z",
    "2024-13-01T00:00:00Z",
    "2024-00-10T00:00:00Z",
    "2024-01-00T00:00:00Z",
    "2024-01-15T10:60:00Z",
    "2024-01-15T10:30:60Z",
    "1899-12-31T23:59:59Z",
    "2300-01-01T00:00:00Z",
    "2024-01-15T10:30:00.Z",
    "2024-01-15T10:30:00.1234567890Z",
    "2024-01-15T10:30:00.12a4Z",
    "2024-01-15T10:30:00",
    "2024-01-15T10:30:00+00:00",
    "2024-1-15T10:30:00Z",
    "x2024-01-15T10:30:00Z",
    "2024-01-15T10:30:00Zx",
    "２０２４-01-15T10:30:00Z",
    "2024-01-15T1 :30:00Z",
  ])("rejects timestamp %s", (iso) => expect(isoToDateTime64(iso)).toBeUndefined());

  it("dates and commit times", () => {
    expect(epochDaysToDate(0)).toBe("1970-01-01");
    expect(epochDaysToDate(19723)).toBe("2024-01-01");
    expect(msToDateTime64(1795457876665n)).toBe("2026-11-23 18:17:56.665");
    // The last answer is kept: repeated and alternating values stay right.
    expect(msToDateTime64(1795457876665n)).toBe("2026-11-23 18:17:56.665");
    expect(msToDateTime64(0n)).toBe("1970-01-01 00:00:00.000");
    expect(msToDateTime64(1795457876666n)).toBe("2026-11-23 18:17:56.666");
    expect(msToDateTime64(0n)).toBe("1970-01-01 00:00:00.000");
  });

  it("keeps decimals exact and normalises their scale", () => {
    const mapped = mapChange(
      "crm.crm_payments",
      paymentEvent({ after: { ...payment, amount: "12345678.5" } }),
      position,
    );
    expect(mapped.kind === "rows" && mapped.rows.payment_changes?.[0]?.amount).toBe("12345678.50");
  });
});

describe("collectChunk", () => {
  it("concatenates blocks in record order, keeps the newest data commit, TRUNCATEs and snapshots", () => {
    const first = mapChange("crm.crm_payments", paymentEvent(), { ...position, offset: 1 });
    const second = mapChange(
      "crm.crm_payments",
      paymentEvent({ op: "d", before: payment, after: null, lsn: 200n, tsMs: 1705314700000n }),
      { ...position, offset: 2 },
    );
    const truncate = mapChange(
      "crm.crm_payments",
      paymentEvent({ op: "t", after: null, lsn: 150n, tsMs: 1705314650000n }),
      position,
    );
    const read = (lsn: bigint, id: number) =>
      mapChange(
        "crm.crm_payments",
        paymentEvent({ op: "r", lsn, after: { ...payment, payment_id: id } }),
        position,
      );
    const heartbeat = mapChange(
      "crm.debezium_heartbeat",
      buildEnvelope({
        db: "crm_db",
        table: "debezium_heartbeat",
        op: "u",
        before: { id: 1, beat_at: "2024-01-15T10:29:00Z" },
        after: { id: 1, beat_at: "2024-01-15T10:35:00Z" },
        lsn: 900n,
        tsMs: 1705315000000n,
      }),
      position,
    );
    const chunk = collectChunk([
      read(90n, 7),
      read(90n, 8),
      first,
      truncate,
      second,
      heartbeat,
      mapChange("crm.crm_payments", null, position),
    ]);
    expect(chunk.rows.payment_changes?.map((r) => [r.sign, r.payment_id, r.lsn])).toEqual([
      [1, 7, "90"],
      [1, 8, "90"],
      [1, 1, "100"],
      [-1, 1, "200"],
    ]);
    const reset = (kind: string, lsn: bigint, commitTs: string) => ({
      kind,
      source: "crm",
      sourceTable: "crm_payments",
      lsn,
      commitTs,
    });
    expect(chunk.truncates).toEqual([reset("truncate", 150n, "2024-01-15 10:30:50.000")]);
    expect(chunk.snapshots).toEqual([reset("snapshot", 90n, "2024-01-15 10:30:00.000")]);
    expect(chunk.dataCommit?.commitTs).toBe("2024-01-15 10:31:40.000");
    expect(chunk.heartbeat?.commitTs).toBe("2024-01-15 10:36:40.000");
  });

  it("an incremental snapshot read is no reset point", () => {
    const read = mapChange("crm.crm_payments", paymentEvent({ op: "r", snapshot: "incremental" }), position);
    expect(read.kind === "rows" && read.snapshot).toBe(null);
  });
});
