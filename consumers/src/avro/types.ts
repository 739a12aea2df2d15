import avro from "avsc";

/**
 * avsc types that keep Debezium's numbers exact:
 * - Avro `long` decodes to `bigint` (Debezium's ts_ns and bigint keys exceed 2^53; avsc's default
 *   throws "potential precision loss" on them).
 * - Avro `bytes` with logicalType `decimal` (Debezium `decimal.handling.mode=precise`) decodes to a
 *   decimal string with exactly `scale` fraction digits: NUMERIC(10,2) 2999.00 arrives as "2999.00".
 */
const longMethods = {
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
};

/** Where avsc reads: the buffer and the position in it (avsc's Tap). */
interface Tap {
  buf: Buffer;
  pos: number;
}

/** 2^49: up to seven varint bytes (7 bits each) add up exactly in a double. */
const EXACT_IN_DOUBLE = 2 ** 49;

/**
 * Reads an Avro long (a zigzag varint of up to ten bytes) straight into a bigint: the first seven
 * bytes as a double (exact below 2^49, which every Debezium long but ts_ns is), the rest as bigint.
 * avsc's hook for custom longs unpacks every long into a new 8-byte Buffer first
 * (Tap.unpackLongBytes): 2.3 GB of the 8.3 GB a drain of the demo topics allocated (heap sampling);
 * read directly, a raw_telemetry record decodes in 0.6-0.8x the time. Past the buffer's end a byte
 * reads as 0 and the position moves past the end: avsc's fromBuffer then throws "truncated buffer".
 */
export function readZigZagLong(tap: Tap): bigint {
  const buf = tap.buf;
  let pos = tap.pos;
  let byte = buf[pos++] ?? 0;
  let n = byte & 0x7f;
  let scale = 128;
  while (byte & 0x80 && scale < EXACT_IN_DOUBLE) {
    byte = buf[pos++] ?? 0;
    n += (byte & 0x7f) * scale;
    scale *= 128;
  }
  if (!(byte & 0x80)) {
    tap.pos = pos;
    return BigInt(n % 2 === 1 ? -(n + 1) / 2 : n / 2);
  }
  let unsigned = BigInt(n);
  let shift = 49n;
  while (byte & 0x80) {
    byte = buf[pos++] ?? 0;
    unsigned += BigInt(byte & 0x7f) << shift;
    shift += 7n;
  }
  tap.pos = pos;
  // As avsc's unpacking does: the varint's low 64 bits, as a signed 64-bit integer.
  return BigInt.asIntN(64, (unsigned >> 1n) ^ -(unsigned & 1n));
}

/**
 * The class avsc makes custom longs of (`LongType.__with`), which it does not export: reached
 * through the prototype of one such long. __with freezes what it returns, so the reader is set on
 * a type made the way __with makes it, before freezing.
 */
const AbstractLongType = Object.getPrototypeOf(avro.types.LongType.__with(longMethods)).constructor as new (
  noUnpack: boolean,
) => object;

/** Avro `long` as an exact `bigint`, read by readZigZagLong and written by avsc. */
export const exactLongType = Object.freeze(
  Object.assign(new AbstractLongType(false), {
    _fromBuffer: longMethods.fromBuffer,
    _toBuffer: longMethods.toBuffer,
    _fromJSON: longMethods.fromJSON,
    _toJSON: longMethods.toJSON,
    _isValid: longMethods.isValid,
    compare: longMethods.compare,
    _read: readZigZagLong,
  }),
) as unknown as avro.Type;

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
