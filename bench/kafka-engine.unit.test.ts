import { describe, expect, it } from "vitest";
import { crmPayments } from "../consumers/src/mapping/tables/crm-payments.js";
import { clickHouseType, convert, envelopeColumns, viewSelects } from "./kafka-engine.js";

// Debezium's envelope of crm_payments as the registry serves it (trimmed to the fields that matter).
const zoned = { type: "string", "connect.name": "io.debezium.time.ZonedTimestamp" };
const paymentsEnvelope = {
  type: "record" as const,
  name: "Envelope",
  namespace: "t.crm.public.crm_payments",
  fields: [
    {
      name: "before",
      type: [
        "null",
        {
          type: "record" as const,
          name: "Value",
          fields: [
            { name: "payment_id", type: "int" },
            { name: "payment_date", type: zoned },
            {
              name: "amount",
              type: { type: "bytes", scale: 2, precision: 10, logicalType: "decimal" },
            },
            { name: "description", type: ["null", "string"] },
          ],
        },
      ],
    },
    { name: "after", type: ["null", "Value"] },
    {
      name: "source",
      type: {
        type: "record" as const,
        name: "Source",
        fields: [
          { name: "ts_ms", type: "long" },
          { name: "snapshot", type: [{ type: "string" }, "null"] },
          { name: "lsn", type: ["null", "long"] },
        ],
      },
    },
    { name: "op", type: "string" },
  ],
};

describe("Kafka engine declarations from the registry's schema", () => {
  it("reads a record as a Tuple of every leaf, a nullable record bare, a named reference again", () => {
    const columns = envelopeColumns(paymentsEnvelope);
    const value =
      "Tuple(`payment_id` Int32, `payment_date` String, `amount` Decimal(10, 2), `description` Nullable(String))";
    expect(Object.fromEntries(columns)).toEqual({
      before: value,
      after: value,
      source: "Tuple(`ts_ms` Int64, `snapshot` Nullable(String), `lsn` Nullable(Int64))",
      op: "String",
    });
  });

  it("refuses a union of two types and an unknown name", () => {
    expect(() => clickHouseType(["int", "string"], new Map())).toThrow(
      'Avro union ["int","string"] has more than one non-null branch',
    );
    expect(() => clickHouseType("Nope", new Map())).toThrow(
      'Avro type "Nope" is neither a primitive nor a record seen before',
    );
  });

  it("converts Debezium's timestamps and dates, casts the rest", () => {
    expect(convert("x", "String", "DateTime64(6, 'UTC')")).toBe(
      "CAST(parseDateTime64BestEffort(x, 6, 'UTC') AS DateTime64(6, 'UTC'))",
    );
    expect(convert("x", "Nullable(String)", "Nullable(DateTime64(6, 'UTC'))")).toBe(
      "CAST(parseDateTime64BestEffortOrNull(x, 6, 'UTC') AS Nullable(DateTime64(6, 'UTC')))",
    );
    expect(convert("x", "Int64", "DateTime64(6, 'UTC')")).toBe(
      "CAST(fromUnixTimestamp64Micro(x, 'UTC') AS DateTime64(6, 'UTC'))",
    );
    expect(convert("x", "Int32", "Date")).toBe("CAST(addDays(toDate('1970-01-01'), x) AS Date)");
    expect(convert("x", "String", "LowCardinality(String)")).toBe("CAST(x AS LowCardinality(String))");
  });

  it("maps a fact table's envelope to +after and -before rows", () => {
    const fields = new Map([
      ["payment_id", "Int32"],
      ["amount", "Decimal(10, 2)"],
    ]);
    const columns = [
      { name: "sign", type: "Int8" },
      { name: "payment_id", type: "Int32" },
      { name: "amount", type: "Decimal(10, 2)" },
      { name: "lsn", type: "UInt64" },
      { name: "commit_ts", type: "DateTime64(3, 'UTC')" },
    ];
    const meta =
      "toUInt64(assumeNotNull(source.lsn)) AS lsn, fromUnixTimestamp64Milli(source.ts_ms, 'UTC') AS commit_ts FROM k";
    expect(viewSelects(crmPayments, "k", fields, () => columns)).toEqual([
      {
        target: "payment_changes",
        select: `SELECT toInt8(1) AS sign, CAST(after.\`payment_id\` AS Int32) AS \`payment_id\`, CAST(after.\`amount\` AS Decimal(10, 2)) AS \`amount\`, ${meta} WHERE op IN ('c', 'r', 'u')`,
      },
      {
        target: "payment_changes",
        select: `SELECT toInt8(-1) AS sign, CAST(before.\`payment_id\` AS Int32) AS \`payment_id\`, CAST(before.\`amount\` AS Decimal(10, 2)) AS \`amount\`, ${meta} WHERE op IN ('u', 'd')`,
      },
    ]);
  });

  it("names a target column the image lacks", () => {
    expect(() =>
      viewSelects(crmPayments, "k", new Map(), () => [{ name: "payment_id", type: "Int32" }]),
    ).toThrow("payment_changes: target column payment_id is not a field of the source image");
  });
});
