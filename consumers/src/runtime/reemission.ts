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
 *
 * Kept compact, since a guard holds up to CONSUMER_REEMIT_WINDOW of them per partition: one flat
 * one-byte string of the operation, which of the three parts are present, LSN and transaction as
 * 8 bytes each and the key's bytes (latin1 maps each byte to one character: nothing is lost, and
 * two identities are equal exactly when every part is).
 */
export function changeIdentity(envelope: ChangeEnvelope | null, key: Buffer | null): string | null {
  if (envelope === null || envelope.op === "r") return null;
  const { lsn, txId } = envelope.source;
  const bytes = Buffer.allocUnsafe(IDENTITY_HEAD + (key?.length ?? 0));
  bytes[0] = envelope.op.charCodeAt(0);
  bytes[1] = (lsn === null ? 0 : 1) | (txId === null ? 0 : 2) | (key === null ? 0 : 4);
  bytes.writeBigUInt64BE(BigInt.asUintN(64, lsn ?? 0n), 2);
  bytes.writeBigUInt64BE(BigInt.asUintN(64, txId ?? 0n), 10);
  key?.copy(bytes, IDENTITY_HEAD);
  return bytes.toString("latin1");
}

/** Operation, presence flags, LSN, transaction: the bytes before the key. */
const IDENTITY_HEAD = 18;

/**
 * A sliding window over a partition's offsets: the identities of the last `window` records.
 * Offsets are kept as numbers (exact below 2^53, far beyond any partition's offsets) in two parallel
 * arrays, not an object and two bigints per entry: a full window of 100,000 took ~580 bytes an entry.
 */
export class ReemissionGuard {
  /** identity -> the latest offset it was seen at. */
  private readonly latest = new Map<string, number>();
  /** Entries in offset order, for eviction: their offsets and identities. */
  private orderOffsets: number[] = [];
  private orderIdentities: string[] = [];
  private head = 0;
  /** The window's length in offsets. */
  private readonly span: number;

  constructor(window: bigint) {
    this.span = exactOffset(window);
  }

  /** Where to re-read from so that the window before `nextOffset` is complete. */
  historyStart(nextOffset: bigint | undefined): bigint {
    const next = nextOffset ?? 0n;
    const window = BigInt(this.span);
    return next > window ? next - window : 0n;
  }

  /**
   * The record at `offset` (records come in offset order): true when its identity was seen within
   * the window before it, i.e. it repeats a change already taken. Either way it enters the window.
   */
  check(offset: bigint, identity: string | null): boolean {
    const at = exactOffset(offset);
    const seen = this.enter(at, identity);
    return seen !== undefined && seen < at;
  }

  /** A record before the resume position, re-read to fill the window: remembered, never dropped. */
  remember(offset: bigint, identity: string | null): void {
    this.enter(exactOffset(offset), identity);
  }

  get size(): number {
    return this.latest.size;
  }

  /** Moves the window up to `offset` and enters the record; returns where its identity was last seen. */
  private enter(offset: number, identity: string | null): number | undefined {
    this.evictBefore(offset - this.span);
    if (identity === null) return undefined;
    const seen = this.latest.get(identity);
    this.latest.set(identity, offset);
    this.orderOffsets.push(offset);
    this.orderIdentities.push(identity);
    return seen;
  }

  private evictBefore(offset: number): void {
    const offsets = this.orderOffsets;
    while (this.head < offsets.length && (offsets[this.head] as number) < offset) {
      const identity = this.orderIdentities[this.head] as string;
      if (this.latest.get(identity) === offsets[this.head]) this.latest.delete(identity);
      this.head += 1;
    }
    // Compact now and then: the consumed head of the arrays is garbage.
    if (this.head > 4096 && this.head * 2 > offsets.length) {
      this.orderOffsets = offsets.slice(this.head);
      this.orderIdentities = this.orderIdentities.slice(this.head);
      this.head = 0;
    }
  }
}

function exactOffset(offset: bigint): number {
  const at = Number(offset);
  if (!Number.isSafeInteger(at)) throw new RangeError(`Kafka offset ${offset} is beyond 2^53`);
  return at;
}
