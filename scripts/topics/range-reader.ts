import { randomUUID } from "node:crypto";
import type { KafkaMessage } from "kafkajs";
import { kafkaUnavailable, withAdmin, type TopicsDeps } from "./clients.js";

export interface RangeRead {
  topic: string;
  /** First offset to read, per partition. */
  starts: ReadonlyMap<number, bigint>;
  /** Stop each partition before this offset; null: keep reading (follow) until stopped. */
  ends: ReadonlyMap<number, bigint> | null;
  /** Ends a read early (e.g. Ctrl-C while following). */
  signal?: AbortSignal;
  /** Called in offset order per partition; return true to stop reading. */
  onMessage(partition: number, message: KafkaMessage): Promise<boolean | void>;
}

/**
 * Reads offset ranges of one topic with a throwaway consumer group that seeks to the start offsets,
 * commits nothing and is deleted afterwards: inspecting a topic leaves no trace in it. (Setting the
 * group's offsets up front with admin.setOffsets would cost a whole extra group join, ~5 s.)
 */
export async function readRange(deps: TopicsDeps, read: RangeRead): Promise<void> {
  const ends = read.ends;
  const pending = new Set(
    [...read.starts].filter(([p, start]) => ends === null || start < (ends.get(p) ?? 0n)).map(([p]) => p),
  );
  if (pending.size === 0 || read.signal?.aborted) return;
  const groupId = `bionicpro-topics-${randomUUID()}`;
  const consumer = deps.kafka.consumer({ groupId, maxWaitTimeInMs: 250, allowAutoTopicCreation: false });
  const next = new Map(read.starts);
  let finish!: () => void;
  let fail!: (error: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  let stopped = false;
  const stop = (): void => {
    stopped = true;
    finish();
  };
  const reached = (partition: number, offset: bigint): void => {
    if (ends !== null && offset >= (ends.get(partition) ?? 0n) - 1n) {
      pending.delete(partition);
      if (pending.size === 0) stop();
    }
  };
  const onAbort = (): void => stop();
  read.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    try {
      await consumer.connect();
    } catch (error) {
      throw kafkaUnavailable(deps, error);
    }
    consumer.on(consumer.events.CRASH, (event) => {
      if (!event.payload.restart) fail(event.payload.error);
    });
    // A batch of only control records (transaction markers) has no message to see: its last offset still counts.
    consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
      reached(event.payload.partition, BigInt(event.payload.lastOffset));
    });
    await consumer.subscribe({ topic: read.topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        const offset = BigInt(message.offset);
        // Skip what a stopped read, a fetch from before the seek, or the refetch after it would repeat.
        if (stopped || offset < (next.get(partition) ?? 0n)) return;
        if (ends !== null && offset >= (ends.get(partition) ?? 0n)) return reached(partition, offset);
        next.set(partition, offset + 1n);
        if ((await read.onMessage(partition, message)) === true) return stop();
        reached(partition, offset);
      },
    });
    // Before the group's first fetch: the seeks replace the start of the fresh group (earliest).
    for (const [partition, start] of read.starts) {
      consumer.seek({ topic: read.topic, partition, offset: start.toString() });
    }
    await finished;
  } finally {
    read.signal?.removeEventListener("abort", onAbort);
    await consumer.disconnect().catch(() => undefined);
    await withAdmin(deps, (admin) => admin.deleteGroups([groupId])).catch(() => undefined);
  }
}
