/** Normalises what ClickHouse returns (numbers, or strings for 64-bit values over HTTP). */
export function toNumber(value: unknown): number {
  const n = typeof value === "string" ? Number(value) : value;
  if (typeof n !== "number" || Number.isNaN(n))
    throw new TypeError(`expected a number, got ${JSON.stringify(value)}`);
  return n;
}

/** Decimal text ("2999", "-12.5", "0") -> exactly two fraction digits ("2999.00", "-12.50", "0.00"). */
export function toDecimal2(value: unknown): string {
  const text = String(value);
  const match = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(text);
  if (!match)
    throw new TypeError(`expected a decimal with at most 2 fraction digits, got ${JSON.stringify(value)}`);
  const [, sign, whole, fraction = ""] = match;
  const body = `${BigInt(whole ?? "0")}.${fraction.padEnd(2, "0")}`;
  return sign === "-" && body !== "0.00" ? `-${body}` : body;
}

/** DateTime64 text, or null for the epoch default of a missing side of a join. */
export function toTimestamp(value: unknown): string | null {
  const text = String(value);
  return text.startsWith("1970-01-01") ? null : text;
}
