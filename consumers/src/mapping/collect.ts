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

/**
 * Merges the mapped records of one chunk, in offset order, into per-table blocks as they come: the
 * consumer adds each change as soon as it is mapped, so only its rows outlive it (the change, its
 * per-record row lists and watermark die young instead of surviving, with the whole chunk, every
 * young-generation GC until the chunk is mapped).
 */
export class ChunkCollector {
  private readonly rows: RowsByTable = {};
  private readonly truncates: Reset[] = [];
  private readonly snapshots: Reset[] = [];
  private dataCommit: Watermark | null = null;
  private heartbeat: Watermark | null = null;

  add(change: MappedChange): void {
    if (change.kind === "rows") {
      for (const table of targetTables) {
        const block = change.rows[table];
        if (!block?.length) continue;
        const into = (this.rows[table] ??= []);
        for (const row of block) into.push(row);
      }
      const snapshot = change.snapshot;
      if (
        snapshot &&
        !this.snapshots.some((s) => s.sourceTable === snapshot.sourceTable && s.lsn === snapshot.lsn)
      )
        this.snapshots.push(snapshot);
      this.dataCommit = newer(this.dataCommit, change.watermark);
    } else if (change.kind === "reset") {
      this.truncates.push(change.reset);
      this.dataCommit = newer(this.dataCommit, change.watermark);
    } else if (change.reason === "heartbeat" && change.watermark) {
      this.heartbeat = newer(this.heartbeat, change.watermark);
    }
  }

  result(): CollectedChunk {
    const { rows, truncates, snapshots, dataCommit, heartbeat } = this;
    return { rows, truncates, snapshots, dataCommit, heartbeat };
  }
}

/** Merges the mapped records of one chunk (in offset order) into per-table blocks. */
export function collectChunk(changes: readonly MappedChange[]): CollectedChunk {
  const collector = new ChunkCollector();
  for (const change of changes) collector.add(change);
  return collector.result();
}
