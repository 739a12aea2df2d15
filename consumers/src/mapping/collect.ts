import type { MappedChange, Reset, RowsByTable, Watermark } from "./types.js";
import { targetTables } from "./types.js";

export interface CollectedChunk {
  /** Rows per table in record order: the blocks of one chunk insert. */
  rows: RowsByTable;
  /** TRUNCATEs in record order. */
  truncates: Reset[];
  /** The snapshots the chunk's reads belong to, one per table and snapshot LSN. */
  snapshots: Reset[];
  /** Newest source commit among the chunk's table changes (heartbeats and tombstones excluded). */
  dataCommit: Watermark | null;
  /** Newest heartbeat commit of the chunk. */
  heartbeat: Watermark | null;
}

const newer = (seen: Watermark | null, w: Watermark): Watermark =>
  seen === null || w.commitTsMs >= seen.commitTsMs ? w : seen;

/** Merges the mapped records of one chunk (in offset order) into per-table blocks. */
export function collectChunk(changes: readonly MappedChange[]): CollectedChunk {
  const rows: RowsByTable = {};
  const truncates: Reset[] = [];
  const snapshots: Reset[] = [];
  let dataCommit: Watermark | null = null;
  let heartbeat: Watermark | null = null;
  for (const change of changes) {
    if (change.kind === "rows") {
      for (const table of targetTables) {
        const block = change.rows[table];
        if (block?.length) (rows[table] ??= []).push(...block);
      }
      const snapshot = change.snapshot;
      if (
        snapshot &&
        !snapshots.some((s) => s.sourceTable === snapshot.sourceTable && s.lsn === snapshot.lsn)
      )
        snapshots.push(snapshot);
      dataCommit = newer(dataCommit, change.watermark);
    } else if (change.kind === "reset") {
      truncates.push(change.reset);
      dataCommit = newer(dataCommit, change.watermark);
    } else if (change.reason === "heartbeat" && change.watermark) {
      heartbeat = newer(heartbeat, change.watermark);
    }
  }
  return { rows, truncates, snapshots, dataCommit, heartbeat };
}
