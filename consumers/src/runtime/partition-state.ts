import type { BufferedRecord } from "./chunking.js";

/** What the consumer holds for one assigned partition, with a lock so that timer and fetch flushes serialise. */
export class PartitionState {
  records: BufferedRecord[] = [];
  /** Another member claimed the partition: ignore it until the next join. */
  fenced = false;
  fencedAt = 0;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    readonly topic: string,
    readonly partition: number,
    /** First offset not yet applied to ClickHouse (from partition_progress); undefined = none recorded. */
    public nextOffset: bigint | undefined,
    /** Last offset of an open intent that must be redone as exactly the same chunk. */
    public forcedLast: bigint | undefined,
  ) {}

  /** Runs `work` after every earlier piece of work on this partition. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work, work);
    this.tail = run.catch(() => undefined);
    return run;
  }

  idle(): Promise<unknown> {
    return this.tail;
  }
}

export const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;
