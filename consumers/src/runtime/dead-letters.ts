import type { IHeaders, Producer } from "kafkajs";

/**
 * A record that can never be applied, with why and where it came from. Published to the dead-letter
 * topic keyed by `topic:partition:offset` (a redone chunk republishes the same key: readers dedupe
 * on it), with the original key, value and headers untouched: the key in `dlq.source.key`, each
 * header `h` as `dlq.source.header.h` (so an original header can never be taken for a `dlq.*` one).
 */
export interface DeadLetter {
  code: string;
  reason: string;
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** The record's own Kafka headers. */
  headers?: IHeaders;
}

/** Prefix of a dead letter's headers that carry the original record's headers. */
export const SOURCE_HEADER_PREFIX = "dlq.source.header.";

export const deadLetterKey = (letter: Pick<DeadLetter, "topic" | "partition" | "offset">): string =>
  `${letter.topic}:${letter.partition}:${letter.offset}`;

export async function publishDeadLetters(
  producer: Producer,
  dlqTopic: string,
  letters: readonly DeadLetter[],
): Promise<void> {
  if (letters.length === 0) return;
  await producer.send({
    topic: dlqTopic,
    acks: -1,
    messages: letters.map((letter) => ({
      key: deadLetterKey(letter),
      value: letter.value,
      headers: {
        "dlq.code": letter.code,
        "dlq.reason": letter.reason,
        "dlq.source.topic": letter.topic,
        "dlq.source.partition": String(letter.partition),
        "dlq.source.offset": letter.offset,
        ...(letter.key ? { "dlq.source.key": letter.key } : {}),
        ...Object.fromEntries(
          Object.entries(letter.headers ?? {})
            .filter(([, value]) => value !== undefined)
            .map(([name, value]) => [`${SOURCE_HEADER_PREFIX}${name}`, value]),
        ),
      },
    })),
  });
}
