import type { ChangeEnvelope } from "../envelope.js";

/**
 * Debezium is at-least-once: after an unclean stop of Kafka Connect, its task restarts from the last
 * offsets Connect flushed and emits again the changes written after them — same source position,
 * new Kafka offsets. Offset-keyed exactly-once cannot see that; this guard does
 * (docs/consumers.md "Re-emitted changes").
 *
 * A restarted task writes through a new Kafka producer (Connect's producers are idempotent, so each
 * has an id). Re-emitted changes therefore only follow a change of producer within a partition, and
 * they duplicate changes written shortly before it. When a partition's producer changes at offset
 * `o`, the guard is armed: the consumer re-reads the `window` records before `o` (history), keeps
 * the source identities of those written by earlier producers, and drops every record in
 * `[o, o + window)` whose identity is among them. Deterministic: a chunk redone after a crash sees
 * the same history, so it drops the same records. Costs nothing while producers do not change.
 */

/** "<producerId>:<epoch>" of a fetched record; "" when its producer has no id (not idempotent). */
export function producerOf(message: unknown): string {
  const context = (message as { batchContext?: { producerId?: unknown; producerEpoch?: unknown } })
    .batchContext;
  const id = context?.producerId;
  if (id === undefined || id === null || String(id) === "-1") return "";
  return `${String(id)}:${String(context?.producerEpoch ?? 0)}`;
}

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

/** The producer state a progress row records (sink/pipeline-state.ts AppliedState). */
export interface ProducerRun {
  producer: string;
  producerSince: bigint;
}

interface Armed {
  /** First offset of the new producer. */
  changeAt: bigint;
  producer: string;
  /** First offset of the history re-read before changeAt. */
  historyFrom: bigint;
  /** Records at or after this are no longer checked. */
  checkUntil: bigint;
  identities: Set<string>;
  /** Every history record has been seen (a record at or after changeAt arrived after the re-read). */
  historyComplete: boolean;
}

export type Acceptance =
  /** Take the record as usual. */
  | { kind: "accept" }
  /** A new producer starts here: drop this and later buffered records, re-read from `seekTo`. */
  | { kind: "rewind"; seekTo: bigint };

export class ReemissionGuard {
  private lastProducer: string;
  private since: bigint;
  private armed: Armed | undefined;
  /** Records dropped as re-emitted since this guard was made. */
  dropped = 0;

  constructor(
    private readonly window: bigint,
    resume: ProducerRun,
  ) {
    this.lastProducer = resume.producer;
    this.since = resume.producerSince;
  }

  /** The producer run of the last accepted record. */
  get run(): ProducerRun {
    return { producer: this.lastProducer, producerSince: this.since };
  }

  /** True while the history before a producer change is being re-read. */
  get rereading(): boolean {
    return this.armed !== undefined && !this.armed.historyComplete;
  }

  /**
   * At (re)assignment, resuming at `nextOffset`: when the last applied records belong to a producer
   * run that began less than `window` records ago, its start is checked again (a crash may have
   * interrupted the check). Returns where to re-read from, if anywhere.
   */
  resumeAt(nextOffset: bigint | undefined): bigint | undefined {
    if (this.lastProducer === "" || this.since <= 0n) return undefined;
    if ((nextOffset ?? 0n) >= this.since + this.window) return undefined;
    return this.arm(this.since, this.lastProducer);
  }

  /** A record at `offset` (at or after the resume position, in offset order) of `producer`. */
  accept(offset: bigint, producer: string): Acceptance {
    if (producer === "") return { kind: "accept" };
    if (this.lastProducer === "") {
      this.lastProducer = producer;
      this.since = offset;
      return { kind: "accept" };
    }
    if (producer === this.lastProducer) return { kind: "accept" };
    this.lastProducer = producer;
    this.since = offset;
    return { kind: "rewind", seekTo: this.arm(offset, producer) };
  }

  /** History record at `offset`: its identity is needed when an earlier producer wrote it. */
  wantsHistory(offset: bigint, producer: string): boolean {
    const armed = this.armed;
    return (
      armed !== undefined &&
      !armed.historyComplete &&
      offset >= armed.historyFrom &&
      offset < armed.changeAt &&
      producer !== armed.producer
    );
  }

  /** True for an offset below the change while re-reading: the record is history, not new data. */
  isHistory(offset: bigint): boolean {
    return this.armed !== undefined && !this.armed.historyComplete && offset < this.armed.changeAt;
  }

  addHistory(identity: string | null): void {
    if (identity !== null) this.armed?.identities.add(identity);
  }

  /** The re-read reached the change: from here on records are checked. */
  completeHistory(): void {
    if (this.armed) this.armed.historyComplete = true;
  }

  /** True when the record at `offset` repeats a change written before its producer's run. */
  isDuplicate(offset: bigint, identity: string | null): boolean {
    const armed = this.armed;
    if (!armed?.historyComplete || identity === null) return false;
    if (offset < armed.changeAt || offset >= armed.checkUntil) return false;
    if (!armed.identities.has(identity)) return false;
    this.dropped += 1;
    return true;
  }

  /** Frees the history once every checked offset has been applied. */
  applied(lastOffset: bigint): void {
    if (this.armed?.historyComplete && lastOffset + 1n >= this.armed.checkUntil) this.armed = undefined;
  }

  private arm(changeAt: bigint, producer: string): bigint {
    const historyFrom = changeAt > this.window ? changeAt - this.window : 0n;
    this.armed = {
      changeAt,
      producer,
      historyFrom,
      checkUntil: changeAt + this.window,
      identities: new Set(),
      historyComplete: historyFrom === changeAt,
    };
    return historyFrom;
  }
}
