import type { ChangeEnvelope } from "../envelope.js";

/**
 * Debezium is at-least-once: when its task restarts — Kafka Connect killed, or Debezium restarting
 * the task itself after a lost replication connection, under the same Kafka producer — it resumes
 * from the offsets Connect last flushed and emits the changes after them again: the same source
 * change, new Kafka offsets. Offset-keyed exactly-once cannot see that; this guard does
 * (docs/consumers.md "Re-emitted changes").
 *
 * Re-emitted changes repeat changes written shortly before them in the same partition. The guard
 * keeps the source identities of the `window` records before the next one to apply and drops a
 * record whose identity is among them. After a (re)assignment the window is filled by re-reading
 * those records from Kafka, so a chunk redone after a crash sees exactly the window its first
 * attempt saw and drops the same records (the dedup tokens need deterministic chunks).
 */

/**
 * What a change is in its source, unchanged when Debezium emits it again: operation, WAL position,
 * transaction and the record key (the row's primary key; null for a TRUNCATE). Rows loaded by one
 * COPY share an LSN but not a key. Snapshot reads are not identified: a snapshot that runs again is
 * a new snapshot (a reset, sink/resets.ts), never a duplicate.
 */
export function changeIdentity(envelope: ChangeEnvelope | null, key: Buffer | null): string | null {
  if (envelope === null || envelope.op === "r") return null;
  const { lsn, txId } = envelope.source;
  return `${envelope.op}|${lsn ?? ""}|${txId ?? ""}|${key === null ? "" : key.toString("base64")}`;
}

/** A sliding window over a partition's offsets: the identities of the last `window` records. */
export class ReemissionGuard {
  /** identity -> the latest offset it was seen at. */
  private readonly latest = new Map<string, bigint>();
  /** Entries in offset order, for eviction. */
  private readonly order: { offset: bigint; identity: string }[] = [];
  private head = 0;

  constructor(private readonly window: bigint) {}

  /** Where to re-read from so that the window before `nextOffset` is complete. */
  historyStart(nextOffset: bigint | undefined): bigint {
    const next = nextOffset ?? 0n;
    return next > this.window ? next - this.window : 0n;
  }

  /**
   * The record at `offset` (records come in offset order): true when its identity was seen within
   * the window before it, i.e. it repeats a change already taken. Either way it enters the window.
   */
  check(offset: bigint, identity: string | null): boolean {
    const seen = this.enter(offset, identity);
    return seen !== undefined && seen < offset;
  }

  /** A record before the resume position, re-read to fill the window: remembered, never dropped. */
  remember(offset: bigint, identity: string | null): void {
    this.enter(offset, identity);
  }

  get size(): number {
    return this.latest.size;
  }

  /** Moves the window up to `offset` and enters the record; returns where its identity was last seen. */
  private enter(offset: bigint, identity: string | null): bigint | undefined {
    this.evictBefore(offset - this.window);
    if (identity === null) return undefined;
    const seen = this.latest.get(identity);
    this.latest.set(identity, offset);
    this.order.push({ offset, identity });
    return seen;
  }

  private evictBefore(offset: bigint): void {
    while (this.head < this.order.length && (this.order[this.head] as { offset: bigint }).offset < offset) {
      const { offset: at, identity } = this.order[this.head] as { offset: bigint; identity: string };
      if (this.latest.get(identity) === at) this.latest.delete(identity);
      this.head += 1;
    }
    // Compact now and then: the consumed head of the array is garbage.
    if (this.head > 4096 && this.head * 2 > this.order.length) {
      this.order.splice(0, this.head);
      this.head = 0;
    }
  }
}
