import avro from "avsc";
import { describe, expect, it } from "vitest";
import { exactAvroOptions, exactLongType } from "./types.js";

/** avsc's own custom-long path (every long unpacked into an 8-byte Buffer): the reference. */
const referenceLong = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (value: bigint) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(value);
    return buf;
  },
  fromJSON: (json: unknown) => BigInt(json as string),
  toJSON: (value: bigint) => value.toString(),
  isValid: (value: unknown) => typeof value === "bigint",
  compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
});

const schema: avro.Schema = {
  type: "record",
  name: "Row",
  fields: [
    { name: "id", type: "long" },
    { name: "maybe", type: ["null", "long"] },
    { name: "after", type: "string" },
  ],
};
const exact = avro.Type.forSchema(schema, { ...exactAvroOptions });
const reference = avro.Type.forSchema(schema, { registry: { long: referenceLong } });

/** Edges of each varint length, of the double-exact part (2^49) and of int64. */
function edgeValues(): bigint[] {
  const values = [0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n)];
  for (let bits = 1n; bits <= 63n; bits += 1n) {
    const edge = 2n ** bits;
    values.push(edge - 1n, edge, edge + 1n, -edge, -edge - 1n, -edge + 1n);
  }
  return values.filter((v) => v >= -(2n ** 63n) && v < 2n ** 63n);
}

/** Deterministic pseudo-random int64s of every bit length. */
function randomValues(count: number): bigint[] {
  let state = 0x9e3779b97f4a7c15n;
  const values: bigint[] = [];
  for (let i = 0; i < count; i++) {
    state = BigInt.asUintN(64, state * 6364136223846793005n + 1442695040888963407n);
    values.push(BigInt.asIntN(64, state) >> BigInt(i % 64));
  }
  return values;
}

describe("exactLongType", () => {
  it("reads every long as avsc's own custom-long path does, and keeps reading after it", () => {
    const values = [...edgeValues(), ...randomValues(5_000)];
    for (const id of values) {
      const row = { id, maybe: -id - 1n, after: "next field" };
      const encoded = exact.toBuffer(row);
      expect(encoded.equals(reference.toBuffer(row))).toBe(true);
      expect(exact.fromBuffer(encoded)).toEqual(reference.fromBuffer(encoded));
      expect(exact.fromBuffer(encoded)).toEqual(row);
    }
  });

  it("reads Debezium's nanosecond timestamps (above 2^53) exactly", () => {
    const tsNs = 1_733_400_000_123_456_789n;
    const encoded = exact.toBuffer({ id: tsNs, maybe: null, after: "" });
    expect(exact.fromBuffer(encoded)).toEqual({ id: tsNs, maybe: null, after: "" });
  });

  it("reads the low 64 bits of an over-long varint, as avsc does", () => {
    // Ten bytes, the last carrying bits above 64: 0xff x9 then 0x7f.
    const varint = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
    const longOnly = (registry: Record<string, avro.Type>) =>
      avro.Type.forSchema("long", { registry }).fromBuffer(varint) as bigint;
    expect(longOnly({ long: exactLongType })).toBe(longOnly({ long: referenceLong }));
  });

  it("refuses a body that ends inside a long", () => {
    const encoded = exact.toBuffer({ id: 2n ** 60n, maybe: null, after: "" });
    expect(() => exact.fromBuffer(encoded.subarray(0, 3))).toThrow(/truncated buffer/);
  });
});
