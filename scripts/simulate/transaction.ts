import type pg from "pg";
import { SOURCE_TABLES, type SourceTable } from "../generate/source-tables.js";
import type { ChangeOp, RowChange, RowInsert, Statement } from "./statement.js";

export interface Applied {
  table: SourceTable;
  op: ChangeOp;
  rows: number;
}

/** Keeps a multi-row INSERT well under PostgreSQL's 65535 bind parameters. */
const ROWS_PER_INSERT = 1000;

function multiRowInsert(table: SourceTable, rows: RowInsert[]): { sql: string; params: unknown[] } {
  const columns = rows[0]?.columns ?? [];
  const params: unknown[] = [];
  const tuples = rows.map((row) => {
    const placeholders = row.values.map((value) => {
      params.push(value);
      return `$${params.length}`;
    });
    return `(${placeholders.join(", ")})`;
  });
  return { sql: `INSERT INTO ${table} (${columns.join(", ")}) VALUES ${tuples.join(", ")}`, params };
}

/**
 * Applies one database's share of a batch in a single small transaction: the inserts first,
 * one multi-row INSERT per table in foreign-key order (so an update of a row planned in the
 * same batch finds it), then the updates and deletes in planned order. Returns what changed.
 */
export async function applyInTransaction(client: pg.ClientBase, statements: Statement[]): Promise<Applied[]> {
  if (statements.length === 0) return [];
  const inserts = new Map<SourceTable, RowInsert[]>();
  const changes: RowChange[] = [];
  for (const s of statements) {
    if (s.op !== "insert") {
      changes.push(s);
      continue;
    }
    const rows = inserts.get(s.table) ?? [];
    rows.push(s);
    inserts.set(s.table, rows);
  }
  const applied: Applied[] = [];
  await client.query("BEGIN");
  try {
    // Parents before children: a payment may belong to a subscription planned in the same batch.
    const ordered = [...inserts].sort(([a], [b]) => SOURCE_TABLES.indexOf(a) - SOURCE_TABLES.indexOf(b));
    for (const [table, rows] of ordered) {
      for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
        const { sql, params } = multiRowInsert(table, rows.slice(i, i + ROWS_PER_INSERT));
        applied.push({ table, op: "insert", rows: (await client.query(sql, params)).rowCount ?? 0 });
      }
    }
    for (const change of changes) {
      applied.push({
        table: change.table,
        op: change.op,
        rows: (await client.query(change.sql, change.params)).rowCount ?? 0,
      });
    }
    await client.query("COMMIT");
    return applied;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}
