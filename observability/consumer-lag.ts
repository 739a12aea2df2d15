import type { Admin, Kafka } from "kafkajs";
import { Gauge, type Registry } from "prom-client";
import { METRIC_PREFIX, scrapeReader } from "./registry.js";

export interface PartitionEnd {
  topic: string;
  partition: number;
  /** High watermark: the offset the next record gets. */
  high: string;
  /** The oldest offset retention kept. */
  low: string;
}

export interface CommittedOffset {
  topic: string;
  partition: number;
  /** The group's next offset to read; "-1" when it committed none. */
  offset: string;
}

/**
 * Records the group has still to consume per partition: end offset minus committed offset; a
 * partition without a commit (or one older than retention kept) counts from its oldest record.
 */
export function partitionLags(
  ends: readonly PartitionEnd[],
  committed: readonly CommittedOffset[],
): { topic: string; partition: number; lag: number }[] {
  const done = new Map(committed.map((c) => [`${c.topic}:${c.partition}`, BigInt(c.offset)]));
  return ends.map(({ topic, partition, high, low }) => {
    const at = done.get(`${topic}:${partition}`) ?? -1n;
    const from = at < BigInt(low) ? BigInt(low) : at;
    const lag = BigInt(high) - from;
    return { topic, partition, lag: Number(lag > 0n ? lag : 0n) };
  });
}

/**
 * bionicpro_consumer_lag_records{topic,partition}, read from Kafka on every scrape (end offsets and
 * the group's committed offsets) through one admin client kept open until `close`.
 */
export function registerConsumerLag(
  registry: Registry,
  options: { kafka: Kafka; group: string; topics: readonly string[]; timeoutMs: number },
): { close(): Promise<void> } {
  let admin: Promise<Admin> | undefined;
  const connected = () =>
    (admin ??= (async () => {
      const a = options.kafka.admin();
      await a.connect();
      return a;
    })().catch((error: unknown) => {
      admin = undefined;
      throw error;
    }));
  const read = async () => {
    const a = await connected();
    const ends: PartitionEnd[] = [];
    for (const topic of options.topics)
      for (const p of await a.fetchTopicOffsets(topic)) ends.push({ topic, ...p });
    const committed = (await a.fetchOffsets({ groupId: options.group, topics: [...options.topics] })).flatMap(
      ({ topic, partitions }) => partitions.map((p) => ({ topic, partition: p.partition, offset: p.offset })),
    );
    return partitionLags(ends, committed);
  };
  const lags = scrapeReader(registry, "consumer_lag", options.timeoutMs, read);
  new Gauge({
    name: `${METRIC_PREFIX}consumer_lag_records`,
    help: "Records not yet consumed by the marts consumer group per source topic partition (Kafka end offset - committed offset), read on scrape",
    labelNames: ["topic", "partition"],
    registers: [registry],
    async collect() {
      this.reset();
      for (const { topic, partition, lag } of (await lags()) ?? [])
        this.set({ topic, partition: String(partition) }, lag);
    },
  });
  return {
    close: async () => {
      const a = await admin?.catch(() => undefined);
      admin = undefined;
      await a?.disconnect().catch(() => undefined);
    },
  };
}
