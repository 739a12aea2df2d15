import { SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import { Kafka, logLevel, type Admin } from "kafkajs";
import { exactAvroOptions } from "../../consumers/src/avro/types.js";
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
 * Decodes Confluent-framed Avro (magic byte 0, 4-byte schema id) through the registry, with the
 * consumers' exact types (longs as bigint, decimals as strings). A record that cannot be decoded is
 * reported, not thrown: one poison record must not stop an inspection.
 */
export class RecordDecoder {
  private readonly registry: SchemaRegistry;

  constructor(registryUrl: string) {
    this.registry = new SchemaRegistry({ host: registryUrl }, { [SchemaType.AVRO]: exactAvroOptions });
  }

  async decode(bytes: Buffer | null): Promise<Decoded | null> {
    if (bytes === null) return null;
    if (bytes.length < 5 || bytes[0] !== 0) {
      return {
        ok: false,
        error: `not Confluent wire format (${bytes.length} bytes starting ${bytes.subarray(0, 5).toString("hex")})`,
      };
    }
    try {
      return { ok: true, value: await this.registry.decode(bytes) };
    } catch (error) {
      return { ok: false, error: `schema id ${bytes.readInt32BE(1)}: ${(error as Error).message}` };
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
