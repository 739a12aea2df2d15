import { Kafka, logLevel, type Admin } from "kafkajs";
import { RecordDecoder as ConsumerDecoder } from "../../consumers/src/runtime/decode.js";
import { START_THE_STACK, TopicsError } from "./errors.js";
import type { Decoded } from "./record-format.js";

/** What the topics commands talk to: Kafka and the schema registry (Confluent-compatible API). */
export interface TopicsDeps {
  kafka: Kafka;
  brokers: readonly string[];
  registryUrl: string;
}

/** A Kafka client that gives up on an unreachable broker within seconds rather than retrying for half a minute. */
export function topicsDeps(brokers: readonly string[], registryUrl: string): TopicsDeps {
  const kafka = new Kafka({
    clientId: "bionicpro-topics",
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    retry: { retries: 2, initialRetryTime: 300 },
  });
  return { kafka, brokers, registryUrl };
}

export function kafkaUnavailable(deps: TopicsDeps, cause: unknown): TopicsError {
  return new TopicsError(
    "KAFKA_UNAVAILABLE",
    `Kafka at ${deps.brokers.join(",")} is unreachable (${(cause as Error).message}): ${START_THE_STACK}, or point KAFKA_BROKERS at a running broker`,
    { cause },
  );
}

/** Runs `work` with a connected admin client; an unreachable broker becomes KAFKA_UNAVAILABLE. */
export async function withAdmin<T>(deps: TopicsDeps, work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = deps.kafka.admin();
  try {
    await admin.connect();
  } catch (error) {
    throw kafkaUnavailable(deps, error);
  }
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}

/**
 * The consumers' decoder (consumers/src/runtime/decode.ts: framing, registry, exact longs and
 * decimals) for inspection: a record that cannot be decoded, or a registry that does not answer, is
 * reported, not thrown: one poison record must not stop an inspection.
 */
export class RecordDecoder {
  private readonly decoder: ConsumerDecoder;

  constructor(registryUrl: string) {
    this.decoder = new ConsumerDecoder(registryUrl);
  }

  async decode(bytes: Buffer | null): Promise<Decoded | null> {
    if (bytes === null) return null;
    try {
      const [decoded] = await this.decoder.decodeChunk([bytes]);
      return decoded instanceof Error ? { ok: false, error: decoded.message } : { ok: true, value: decoded };
    } catch (error) {
      return { ok: false, error: (error as Error).message };
    }
  }

  /** Keys: framed Avro like values; plain text keys (e.g. a dead letter's) as their text. */
  async decodeKey(bytes: Buffer | null): Promise<Decoded | null> {
    if (bytes !== null && bytes[0] !== 0 && isPrintable(bytes))
      return { ok: true, value: bytes.toString("utf8") };
    return this.decode(bytes);
  }
}

function isPrintable(bytes: Buffer): boolean {
  const text = bytes.toString("utf8");
  if (text.includes("\uFFFD")) return false;
  return [...text].every((ch) => {
    const code = ch.codePointAt(0) ?? 0;
    return code >= 0x20 ? code !== 0x7f : code === 0x09 || code === 0x0a || code === 0x0d;
  });
}
