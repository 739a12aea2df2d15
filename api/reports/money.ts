/**
 * Money stays decimal text with two fraction digits end to end ("2999.00"): arithmetic on integer
 * cents (bigint), never on JS floats.
 */
const money = /^(-?)(\d+)\.(\d{2})$/;

export function toCents(text: string): bigint {
  const m = money.exec(text);
  if (!m)
    throw new TypeError(
      `expected money as decimal text with two fraction digits, got ${JSON.stringify(text)}`,
    );
  const cents = BigInt(m[2] as string) * 100n + BigInt(m[3] as string);
  return m[1] === "-" ? -cents : cents;
}

export function fromCents(cents: bigint): string {
  const sign = cents < 0n ? "-" : "";
  const abs = cents < 0n ? -cents : cents;
  return `${sign}${abs / 100n}.${String(abs % 100n).padStart(2, "0")}`;
}

export const sumMoney = (values: readonly string[]): string =>
  fromCents(values.reduce((sum, v) => sum + toCents(v), 0n));

/** a / b as a number (a ratio, not money), or null when b is zero. */
export function moneyRatio(a: string, b: string): number | null {
  const denominator = toCents(b);
  return denominator === 0n ? null : Number(toCents(a)) / Number(denominator);
}
