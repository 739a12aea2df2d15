import { describe, expect, it } from "vitest";
import { describeType, diffSchemas, formatFieldChanges, schemaFields } from "./schema-diff.js";

/** A cut-down Debezium envelope as Apicurio stores it: `after` refers to `Value` by name. */
function envelope(valueFields: object[]) {
  return {
    type: "record",
    name: "Envelope",
    namespace: "p.crm.public.crm_payments",
    fields: [
      {
        name: "before",
        type: ["null", { type: "record", name: "Value", fields: valueFields }],
        default: null,
      },
      { name: "after", type: ["null", "Value"], default: null },
      {
        name: "source",
        type: {
          type: "record",
          name: "Source",
          namespace: "io.debezium.connector.postgresql",
          fields: [
            { name: "ts_ms", type: "long" },
            { name: "lsn", type: ["null", "long"], default: null },
          ],
        },
      },
      { name: "op", type: "string" },
    ],
  };
}

const amount = (precision: number) => ({
  name: "amount",
  type: {
    type: "bytes",
    scale: 2,
    precision,
    "connect.name": "org.apache.kafka.connect.data.Decimal",
    logicalType: "decimal",
  },
});
const paymentDate = {
  name: "payment_date",
  type: { type: "string", "connect.version": 1, "connect.name": "io.debezium.time.ZonedTimestamp" },
};
const v1 = envelope([
  { name: "payment_id", type: "int" },
  paymentDate,
  amount(10),
  { name: "legacy", type: "string" },
]);
const v2 = envelope([
  { name: "payment_id", type: "int" },
  paymentDate,
  amount(12),
  { name: "note", type: ["null", "string"], default: null },
]);

describe("schemaFields", () => {
  it("lists every record's fields once, with readable types and defaults", () => {
    expect(schemaFields(v1)).toEqual([
      { field: "Envelope.before", type: "null | Value", default: "null" },
      { field: "Envelope.after", type: "null | Value", default: "null" },
      { field: "Envelope.source", type: "Source" },
      { field: "Envelope.op", type: "string" },
      { field: "Value.payment_id", type: "int" },
      { field: "Value.payment_date", type: "string (io.debezium.time.ZonedTimestamp)" },
      { field: "Value.amount", type: "decimal(10,2)" },
      { field: "Value.legacy", type: "string" },
      { field: "Source.ts_ms", type: "long" },
      { field: "Source.lsn", type: "null | long", default: "null" },
    ]);
  });

  it("qualifies records that share a short name", () => {
    const schema = {
      type: "record",
      name: "A",
      fields: [
        {
          name: "x",
          type: { type: "record", name: "Value", namespace: "one", fields: [{ name: "a", type: "int" }] },
        },
        {
          name: "y",
          type: { type: "record", name: "Value", namespace: "two", fields: [{ name: "b", type: "int" }] },
        },
      ],
    };
    expect(schemaFields(schema).map((f) => f.field)).toEqual(["A.x", "A.y", "one.Value.a", "two.Value.b"]);
  });
});

describe("describeType", () => {
  it("names arrays, maps, enums and logical types", () => {
    expect(describeType({ type: "array", items: "string" })).toBe("array<string>");
    expect(describeType({ type: "map", values: ["null", "long"] })).toBe("map<null | long>");
    expect(describeType({ type: "enum", name: "x.Status", symbols: ["a", "b"] })).toBe("enum Status {a, b}");
    expect(describeType({ type: "int", logicalType: "date" })).toBe("int (date)");
  });
});

describe("diffSchemas", () => {
  it("reports removed, changed and added fields", () => {
    const changes = diffSchemas(v1, v2);
    expect(formatFieldChanges(changes)).toEqual([
      "~ Value.amount: decimal(10,2) -> decimal(12,2)",
      "- Value.legacy: string",
      "+ Value.note: null | string = null",
    ]);
    expect(changes[0]).toEqual({
      change: "changed",
      field: "Value.amount",
      from: { field: "Value.amount", type: "decimal(10,2)" },
      to: { field: "Value.amount", type: "decimal(12,2)" },
    });
  });

  it("says so when nothing differs", () => {
    expect(diffSchemas(v1, v1)).toEqual([]);
    expect(formatFieldChanges([])).toEqual(["no field differences"]);
  });
});
