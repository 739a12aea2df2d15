import type { SourceTable } from "../generate/source-tables.js";

export type Database = "crm" | "telemetry";
export type ChangeOp = "insert" | "update" | "delete";

/** A new row; the executor folds the inserts of one table into a multi-row INSERT. */
export interface RowInsert {
  db: Database;
  table: SourceTable;
  op: "insert";
  columns: readonly string[];
  values: unknown[];
}

/** An update or delete of one row; its affected-row count is what the summary counts. */
export interface RowChange {
  db: Database;
  table: SourceTable;
  op: "update" | "delete";
  sql: string;
  params: unknown[];
}

export type Statement = RowInsert | RowChange;
