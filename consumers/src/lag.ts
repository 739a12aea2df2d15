import { Kafka, logLevel, type Admin } from "kafkajs";
import { loadConsumerConfig } from "./config.js";
import { sourceTopics } from "./runtime/pipeline.js";

/**
 * Sum of end offsets and of the group's committed offsets over the source topics (`topics`: the
 * heartbeat topics included by default; runtime/pipeline.ts' dataTopics leaves them out). Given a
 * connected admin, reads through it (callers that ask often keep one); given the client, connects an
 * admin for this read only.
 */
export async function groupLag(
  via: Kafka | Admin,
  prefix: string,
  group: string,
  topics: readonly string[] = sourceTopics(prefix),
): Promise<{ end: number; committed: number }> {
  const own = via instanceof Kafka ? via.admin() : null;
  const admin = own ?? (via as Admin);
  if (own) await own.connect();
  try {
    let end = 0;
    for (const topic of topics)
      end += (await admin.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high), 0);
    let committed = 0;
    for (const t of await admin.fetchOffsets({ groupId: group, topics: [...topics] })) {
      for (const p of t.partitions) committed += Math.max(0, Number(p.offset));
    }
    return { end, committed };
  } finally {
    if (own) await own.disconnect();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const config = loadConsumerConfig();
  const kafka = new Kafka({ brokers: config.brokers, logLevel: logLevel.NOTHING });
  const lag = await groupLag(kafka, config.topicPrefix, config.group);
  console.log({ ...lag, lag: lag.end - lag.committed });
}
