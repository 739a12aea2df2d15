import type { BufferedRecord } from "./chunking.js";
import { ReemissionGuard } from "./reemission.js";

/** Where a partition resumes (pipeline.ts resumePoint). */
export interface ResumePoint {
  nextOffset: bigint;
  /** Last offset of an open intent, redone as exactly the same chunk. */
  forcedLast: bigint | undefined;
  /** The claim under which that intent was recorded (whose writer may have died mid-insert). */
  intentClaim: bigint | undefined;
  /** The newest source commit the partition's applied chunks hold (DateTime64(3) text); null when none. */
  completeTo: string | null;
}

/** What the consumer holds for one assigned partition, with a lock so that timer and fetch flushes serialise. */
export class PartitionState {
  records: BufferedRecord[] = [];
  /** Another member claimed the partition: ignore it until the next join. */
  fenced = false;
  fencedAt = 0;
  /** The Kafka offset was committed up to nextOffset after skipping records below it. */
  positionCommitted = false;
  /** First offset not yet applied to ClickHouse (from partition_progress); undefined = none recorded. */
  nextOffset: bigint | undefined;
  /** Last offset of an open intent that must be redone as exactly the same chunk. */
  forcedLast: bigint | undefined;
  /** The claim that recorded that intent. */
  intentClaim: bigint | undefined;
  /** The newest source commit applied (ResumePoint.completeTo), carried by every progress row. */
  completeTo: string | null;
  /** Drops changes Debezium emitted again after its task restarted. */
  readonly guard: ReemissionGuard;
  /** A background flush (MartsPipeline.flushInBackground) is queued or running. */
  flushing = false;
  /** While set, records below it are re-read history that fills the guard's window. */
  rereadUntil: bigint | undefined;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    readonly topic: string,
    readonly partition: number,
    resume: ResumePoint | undefined,
    reemissionWindow: bigint,
  ) {
    this.nextOffset = resume?.nextOffset;
    this.forcedLast = resume?.forcedLast;
    this.intentClaim = resume?.intentClaim;
    this.completeTo = resume?.completeTo ?? null;
    this.guard = new ReemissionGuard(reemissionWindow);
  }

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
