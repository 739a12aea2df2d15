/** PostgreSQL COPY text format: tab-separated, \N for NULL, backslash escapes inside values. */

export type CopyValue = string | number | boolean | null;

const SPECIAL = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r" };

export function copyValue(value: CopyValue): string {
  if (value === null) return "\\N";
  if (typeof value === "boolean") return value ? "t" : "f";
  if (typeof value === "number") return String(value);
  return value.replace(SPECIAL, (c) => ESCAPES[c] ?? c);
}

export function copyLine(values: readonly CopyValue[]): string {
  return values.map(copyValue).join("\t") + "\n";
}

/** Several rows of COPY text; generators yield these so the loader can count and batch them. */
export interface RowChunk {
  text: string;
  rows: number;
}
