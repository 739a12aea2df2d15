import type { ChRow } from "../../../clickhouse/insert.js";
import type { MappedChange, RowsByTable, SourceName, Watermark } from "./types.js";
import { targetTables } from "./types.js";

export interface CollectedChunk {
  /** Rows per table in record order: the blocks of one chunk insert. */
  rows: RowsByTable;
  /** Latest commit seen per source in the chunk. */
  watermarks: Watermark[];
  /** Source tables that were truncated: their marts need a rebuild. */
  rebuild: string[];
}

/** Merges the mapped records of one chunk (in offset order) into per-table blocks. */
export function collectChunk(changes: readonly MappedChange[]): CollectedChunk {
  const rows: RowsByTable = {};
  const latest = new Map<SourceName, Watermark>();
  const rebuild: string[] = [];
  for (const change of changes) {
    if (change.kind === "rows") {
      for (const table of targetTables) {
        const block = change.rows[table];
        if (block?.length) (rows[table] ??= []).push(...block);
      }
    }
    if (change.kind === "rebuild" && !rebuild.includes(change.sourceTable)) rebuild.push(change.sourceTable);
    const w = change.watermark;
    const seen = w ? latest.get(w.source) : undefined;
    if (w && (!seen || w.commitTsMs >= seen.commitTsMs)) latest.set(w.source, w);
  }
  return { rows, watermarks: [...latest.values()], rebuild };
}

/** A row of the source_watermarks table. */
export function watermarkRow(w: Watermark): ChRow {
  return { source: w.source, commit_ts: w.commitTs, lsn: (w.lsn ?? 0n).toString() };
}
