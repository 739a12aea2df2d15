import { describe, expect, it } from "vitest";
import { formatTailText, keyMatches, tailRecord, toJsonValue, type RawTailRecord } from "./record-format.js";

const position = { topic: "p.crm.crm_payments", partition: 0, offset: "7" };

function raw(over: Partial<RawTailRecord>): RawTailRecord {
  return {
    ...position,
    key: Buffer.from([0, 0, 0, 0, 3, 2]),
    value: Buffer.from([0, 0, 0, 0, 4, 0]),
    decodedKey: { ok: true, value: { payment_id: 9000001 } },
    decodedValue: null,
    ...over,
  };
}

const update = {
  before: { payment_id: 9000001, amount: "2999.00", status: "pending", big: 9007199254740993n },
  after: { payment_id: 9000001, amount: "2999.00", status: "success", big: 9007199254740993n },
  source: { lsn: 9007199254740995n, ts_ms: 1796378400123n, table: "crm_payments" },
  op: "u",
  ts_ms: 1796378400500n,
};

describe("toJsonValue", () => {
  it("keeps longs and decimals exact as strings and bytes as base64", () => {
    expect(
      toJsonValue({ n: 9007199254740993n, d: "0.10", b: Buffer.from([0xde, 0xad]), x: [1, null, true] }),
    ).toEqual({ n: "9007199254740993", d: "0.10", b: "3q0=", x: [1, null, true] });
  });
});

describe("tailRecord", () => {
  it("flattens a change event: op, key, images, source.lsn and the commit time", () => {
    expect(tailRecord(raw({ decodedValue: { ok: true, value: update } }))).toEqual({
      ...position,
      op: "u",
      key: { payment_id: 9000001 },
      before: { payment_id: 9000001, amount: "2999.00", status: "pending", big: "9007199254740993" },
      after: { payment_id: 9000001, amount: "2999.00", status: "success", big: "9007199254740993" },
      lsn: "9007199254740995",
      commitTime: "2026-12-04T10:00:00.123Z",
    });
  });

  it("marks tombstones, passes other values through and reports undecodable bytes", () => {
    expect(tailRecord(raw({ value: null }))).toEqual({
      ...position,
      op: null,
      key: { payment_id: 9000001 },
      before: null,
      after: null,
      lsn: null,
      commitTime: null,
      tombstone: true,
    });
    expect(tailRecord(raw({ decodedValue: { ok: true, value: { ts_ms: 5n } } })).value).toEqual({
      ts_ms: "5",
    });
    expect(
      tailRecord(
        raw({ value: Buffer.from("oops"), decodedValue: { ok: false, error: "not Confluent wire format" } }),
      ),
    ).toEqual({
      ...position,
      op: null,
      key: { payment_id: 9000001 },
      before: null,
      after: null,
      lsn: null,
      commitTime: null,
      error: "not Confluent wire format",
      keyBase64: "AAAAAAMC",
      valueBase64: "b29wcw==",
    });
  });
});

describe("keyMatches", () => {
  it("matches a bare value against any key field, as text", () => {
    expect(keyMatches({ kind: "value", value: "9000001" }, { payment_id: 9000001 })).toBe(true);
    expect(keyMatches({ kind: "value", value: "9000001" }, { payment_id: "9000001" })).toBe(true);
    expect(keyMatches({ kind: "value", value: "900000" }, { payment_id: 9000001 })).toBe(false);
    expect(keyMatches({ kind: "value", value: "x" }, null)).toBe(false);
  });

  it("matches field=value pairs all together", () => {
    const key = { user_id: 7, day: 20000 };
    expect(keyMatches({ kind: "fields", fields: { user_id: "7" } }, key)).toBe(true);
    expect(keyMatches({ kind: "fields", fields: { user_id: "7", day: "20000" } }, key)).toBe(true);
    expect(keyMatches({ kind: "fields", fields: { user_id: "7", day: "1" } }, key)).toBe(false);
    expect(keyMatches({ kind: "fields", fields: { other: "7" } }, key)).toBe(false);
  });
});

describe("formatTailText", () => {
  it("prints a header line and the row images", () => {
    const record = tailRecord(raw({ decodedValue: { ok: true, value: update } }));
    expect(formatTailText(record).split("\n")).toEqual([
      'p.crm.crm_payments[0]@7  u  key={"payment_id":9000001}  committed 2026-12-04T10:00:00.123Z  lsn 9007199254740995',
      '  before {"payment_id":9000001,"amount":"2999.00","status":"pending","big":"9007199254740993"}',
      '  after  {"payment_id":9000001,"amount":"2999.00","status":"success","big":"9007199254740993"}',
    ]);
    expect(formatTailText(tailRecord(raw({ value: null })))).toBe(
      'p.crm.crm_payments[0]@7  tombstone  key={"payment_id":9000001}',
    );
  });
});
