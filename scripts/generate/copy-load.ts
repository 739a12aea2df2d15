import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import type { RowChunk } from "./copy-text.js";

/** Rows are sent in ~256 KiB writes: big enough for throughput, small enough to keep memory flat. */
const WRITE_CHARS = 1 << 18;

/**
 * Streams generated rows into `table` with COPY. Never `FREEZE`: frozen rows are visible to every
 * snapshot, also to a Debezium snapshot that began before this load committed, which would export
 * them while the replication slot streams them again (docs/consumers.md "Resets"). Returns the
 * number of rows written.
 */
export async function copyInto(
  client: pg.ClientBase,
  table: string,
  columns: readonly string[],
  chunks: Iterable<RowChunk>,
  onRows: (rowsSoFar: number) => void,
): Promise<number> {
  let rows = 0;
  function* writes(): Generator<string> {
    let parts: string[] = [];
    let size = 0;
    for (const chunk of chunks) {
      if (chunk.rows === 0) continue;
      parts.push(chunk.text);
      size += chunk.text.length;
      rows += chunk.rows;
      if (size >= WRITE_CHARS) {
        yield parts.join("");
        onRows(rows);
        parts = [];
        size = 0;
      }
    }
    if (parts.length > 0) yield parts.join("");
    onRows(rows);
  }
  const copy = client.query(copyFrom(`COPY ${table} (${columns.join(", ")}) FROM STDIN`));
  await pipeline(Readable.from(writes()), copy);
  if (copy.rowCount !== rows)
    throw new Error(`${table}: COPY stored ${copy.rowCount} rows, generated ${rows}`);
  return rows;
}
