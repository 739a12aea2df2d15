import type { CellValue, RowDifference } from "./compare.js";
import type { ReconcileResult } from "./reconcile.js";

const show = (value: CellValue | undefined) =>
  typeof value === "string" ? JSON.stringify(value) : String(value);
const showKey = (key: Record<string, CellValue>) =>
  Object.entries(key)
    .map(([k, v]) => `${k}=${show(v)}`)
    .join(" ");

function describe(d: RowDifference): string {
  switch (d.kind) {
    case "missing_in_mart":
      return `  missing in mart   ${showKey(d.key)}  oracle row: ${JSON.stringify(d.row)}`;
    case "unexpected_in_mart":
      return `  not in oracle     ${showKey(d.key)}  mart row: ${JSON.stringify(d.row)}`;
    case "value_mismatch":
      return `  value differs     ${showKey(d.key)}  ${d.column}: oracle ${show(d.expected)}, mart ${show(d.actual)}`;
  }
}

/** A readable report: one line per mart, then each difference (at most `limit` per mart). */
export function formatReconcileResult(result: ReconcileResult, limit = 50): string {
  const lines = [`reconcile ${result.range.from}..${result.range.to}`];
  for (const mart of result.marts) {
    const status = mart.differences.length === 0 ? "ok" : `${mart.differences.length} difference(s)`;
    lines.push(`${mart.mart}: ${status} (oracle ${mart.oracleRows} rows, mart ${mart.martRows} rows)`);
    lines.push(...mart.differences.slice(0, limit).map(describe));
    if (mart.differences.length > limit) lines.push(`  ... and ${mart.differences.length - limit} more`);
  }
  lines.push(
    result.ok
      ? "no differences: the marts equal the oracle"
      : `${result.differenceCount} difference(s): check that the consumers caught up with the sources, then replay into a shadow database if they persist`,
  );
  return lines.join("\n");
}
