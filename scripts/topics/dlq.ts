import type { Position } from "./arguments.js";
import { kafkaUnavailable, withAdmin, type TopicsDeps } from "./clients.js";
import { deadLetterView, sourceIdentity, type DeadLetterView } from "./dead-letter-view.js";
import { TopicsError } from "./errors.js";
import { readRange } from "./range-reader.js";

export interface DeadLetters {
  topic: string;
  /** False when the topic does not exist yet (the consumers create it when they start). */
  exists: boolean;
  /** Distinct letters (by source position), oldest first; copies counted on the first. */
  letters: DeadLetterView[];
}

/** Every distinct dead letter up to the end offsets of the start. */
export async function readDeadLetters(deps: TopicsDeps, dlqTopic: string): Promise<DeadLetters> {
  const ranges = await withAdmin(deps, async (admin) => {
    if (!(await admin.listTopics()).includes(dlqTopic)) return null;
    return admin.fetchTopicOffsets(dlqTopic);
  });
  if (ranges === null) return { topic: dlqTopic, exists: false, letters: [] };
  const all: DeadLetterView[] = [];
  await readRange(deps, {
    topic: dlqTopic,
    starts: new Map(ranges.map((p) => [p.partition, BigInt(p.low)])),
    ends: new Map(ranges.map((p) => [p.partition, BigInt(p.high)])),
    onMessage: async (partition, message) => {
      all.push(deadLetterView(partition, message));
    },
  });
  all.sort((a, b) => a.partition - b.partition || (BigInt(a.offset) < BigInt(b.offset) ? -1 : 1));
  const first = new Map<string, DeadLetterView>();
  for (const letter of all) {
    const seen = first.get(sourceIdentity(letter));
    if (seen) seen.copies += 1;
    else first.set(sourceIdentity(letter), letter);
  }
  return { topic: dlqTopic, exists: true, letters: [...first.values()] };
}

export interface ReplayedLetter {
  /** The dead letter's position in the dead-letter topic. */
  from: Position;
  /** Where the original key and value were published again. */
  to: { topic: string; partition: number; offset: string };
  keyBytes: number;
  valueBytes: number;
}

/** Header on every replayed record: which dead letter it came from (`<dlq topic>:<partition>:<offset>`). */
export const REPLAYED_FROM_HEADER = "dlq.replayed.from";

/**
 * `topics dlq --replay --offsets p:o,...`: publishes the named dead letters' original key and value
 * bytes (and their non-dlq headers) to their source topic and partition, in the order named, after
 * the cause was fixed (a schema registered again, a consumer fixed). The consumers read them as new
 * records at new offsets.
 */
export async function replayDeadLetters(
  deps: TopicsDeps,
  dlqTopic: string,
  positions: readonly Position[],
): Promise<ReplayedLetter[]> {
  const { exists, letters } = await readDeadLetters(deps, dlqTopic);
  const byPosition = new Map(letters.map((l) => [`${l.partition}:${l.offset}`, l]));
  const missing = positions.filter((p) => !byPosition.has(`${p.partition}:${p.offset}`));
  if (!exists || missing.length > 0) {
    throw new TopicsError(
      "DEAD_LETTER_NOT_FOUND",
      `no dead letter at ${missing.map((p) => `${p.partition}:${p.offset}`).join(", ")} in ${dlqTopic}` +
        `${exists ? "" : " (the topic does not exist)"}; list them with: npm run topics -- dlq`,
    );
  }
  const chosen = positions.map((p) => byPosition.get(`${p.partition}:${p.offset}`) as DeadLetterView);
  const existing = new Set(await withAdmin(deps, (admin) => admin.listTopics()));
  for (const letter of chosen) {
    const { topic, partition } = letter.source;
    if (topic === null || partition === null) {
      throw new TopicsError(
        "DEAD_LETTER_NOT_REPLAYABLE",
        `dead letter ${letter.partition}:${letter.offset} names no source topic and partition (dlq.source.* headers)`,
      );
    }
    if (!existing.has(topic)) {
      throw new TopicsError(
        "TOPIC_NOT_FOUND",
        `source topic ${topic} of dead letter ${letter.partition}:${letter.offset} does not exist`,
      );
    }
  }
  const producer = deps.kafka.producer({ allowAutoTopicCreation: false });
  try {
    await producer.connect();
  } catch (error) {
    throw kafkaUnavailable(deps, error);
  }
  try {
    const replayed: ReplayedLetter[] = [];
    for (const letter of chosen) {
      const topic = letter.source.topic as string;
      const partition = letter.source.partition as number;
      const [meta] = await producer.send({
        topic,
        acks: -1,
        messages: [
          {
            partition,
            key: letter.key,
            value: letter.value,
            headers: {
              ...letter.headers,
              [REPLAYED_FROM_HEADER]: `${dlqTopic}:${letter.partition}:${letter.offset}`,
            },
          },
        ],
      });
      replayed.push({
        from: { partition: letter.partition, offset: letter.offset },
        to: { topic, partition, offset: String(meta?.baseOffset) },
        keyBytes: letter.key?.length ?? 0,
        valueBytes: letter.value?.length ?? 0,
      });
    }
    return replayed;
  } finally {
    await producer.disconnect();
  }
}
