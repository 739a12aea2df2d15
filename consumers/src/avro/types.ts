import avro from "avsc";

/**
 * avsc types that keep Debezium's numbers exact:
 * - Avro `long` decodes to `bigint` (Debezium's ts_ns and bigint keys exceed 2^53; avsc's default
 *   throws "potential precision loss" on them).
 * - Avro `bytes` with logicalType `decimal` (Debezium `decimal.handling.mode=precise`) decodes to a
 *   decimal string with exactly `scale` fraction digits: NUMERIC(10,2) 2999.00 arrives as "2999.00".
 */
export const exactLongType = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (value: bigint | number) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(value));
    return buf;
  },
  fromJSON: (json: unknown) => BigInt(json as string | number),
  toJSON: (value: bigint) => value.toString(),
  isValid: (value: unknown) => typeof value === "bigint",
  compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
});

/** Formats an unscaled integer with `scale` fraction digits: (299900n, 2) -> "2999.00". */
export function formatDecimal(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, "0");
  const body = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${body}` : body;
}

/** Parses a decimal string into its unscaled integer at `scale`; rejects excess precision. */
export function parseDecimal(text: string, scale: number): bigint {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!match) throw new TypeError(`not a decimal number: "${text}"`);
  const [, sign, whole = "", fraction = ""] = match;
  if (fraction.length > scale) throw new RangeError(`"${text}" has more than ${scale} fraction digits`);
  const unscaled = BigInt(whole + fraction.padEnd(scale, "0"));
  return sign === "-" ? -unscaled : unscaled;
}

function bigEndianToBigInt(buf: Buffer): bigint {
  if (buf.length === 0) return 0n;
  let value = BigInt(`0x${buf.toString("hex")}`);
  if ((buf[0] ?? 0) & 0x80) value -= 1n << BigInt(buf.length * 8);
  return value;
}

function bigIntToBigEndian(value: bigint): Buffer {
  let bytes = 1;
  while (value >= 1n << BigInt(bytes * 8 - 1) || value < -(1n << BigInt(bytes * 8 - 1))) bytes += 1;
  const twos = value < 0n ? value + (1n << BigInt(bytes * 8)) : value;
  return Buffer.from(twos.toString(16).padStart(bytes * 2, "0"), "hex");
}

export class DecimalType extends avro.types.LogicalType {
  private readonly scale: number;

  constructor(schema: avro.Schema & { scale?: number }, opts?: avro.ForSchemaOptions) {
    super(schema, opts);
    this.scale = schema.scale ?? 0;
  }

  override _fromValue(value: Buffer): string {
    return formatDecimal(bigEndianToBigInt(value), this.scale);
  }

  override _toValue(value: string): Buffer {
    return bigIntToBigEndian(parseDecimal(value, this.scale));
  }

  override _resolve(type: avro.Type): ((value: unknown) => unknown) | undefined {
    if (avro.Type.isType(type, "logical:decimal")) return (value) => value;
    return undefined;
  }
}

/**
 * Options for avsc's `Type.forSchema` (and the schema registry's AVRO options). `registry` is a
 * getter: avsc adds every named type it parses to the registry object, so a shared object would make
 * the second schema of a topic fail with "duplicate type name".
 */
export const exactAvroOptions = {
  get registry(): Record<string, avro.Type> {
    return { long: exactLongType };
  },
  logicalTypes: { decimal: DecimalType },
};
