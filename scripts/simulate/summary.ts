import { SOURCE_TABLES, type SourceTable } from "../generate/source-tables.js";
import type { ChangeOp } from "./statement.js";

export type ChangeCounts = Record<SourceTable, Record<ChangeOp, number>>;

export interface SimulateSummary {
  /** Rows actually changed (affected-row counts of committed statements), per table and operation. */
  changes: ChangeCounts;
  total: number;
  elapsedMs: number;
  /** total / elapsed seconds. */
  achievedRate: number;
}

export function emptyCounts(): ChangeCounts {
  return Object.fromEntries(
    SOURCE_TABLES.map((t) => [t, { insert: 0, update: 0, delete: 0 }]),
  ) as ChangeCounts;
}

/** A small fixed-width table for the terminal. */
export function formatSummary(summary: SimulateSummary): string[] {
  const row = (name: string, a: string | number, b: string | number, c: string | number) =>
    `${name.padEnd(20)} ${String(a).padStart(8)} ${String(b).padStart(8)} ${String(c).padStart(8)}`;
  return [
    row("table", "insert", "update", "delete"),
    ...SOURCE_TABLES.map((t) =>
      row(t, summary.changes[t].insert, summary.changes[t].update, summary.changes[t].delete),
    ),
    `total ${summary.total} changes in ${(summary.elapsedMs / 1000).toFixed(1)} s = ${summary.achievedRate.toFixed(1)}/s`,
  ];
}
