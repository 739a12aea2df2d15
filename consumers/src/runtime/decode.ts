import { SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import { exactAvroOptions } from "../avro/types.js";
import type { ChangeEnvelope } from "../envelope.js";
import { ConsumerError } from "../errors.js";

/** One record's decoding: the envelope (null for a tombstone) or why it can never be decoded. */
export type Decoded = ChangeEnvelope | null | ConsumerError;

/** Decodes one record of the chunk it was opened for (RecordDecoder.openChunk). */
export type ChunkReader = (buffer: Buffer | null) => Decoded;

/**
 * A registry request that got no answer by then fails (and is retried as REGISTRY_UNAVAILABLE).
 * The client's HTTP layer has no timeout of its own: a request the registry accepted and never
 * answered (a stalled JVM, a half-open connection) hung the chunk, and with it the whole fetch loop,
 * forever.
 */
export const REGISTRY_REQUEST_TIMEOUT_MS = 10_000;

type RegistryMiddleware = NonNullable<ConstructorParameters<typeof SchemaRegistry>[0]["middlewares"]>[number];

/** What mappersmith's TimeoutMiddleware does (the client's HTTP layer), on the client's own types. */
const requestTimeout =
  (ms: number): RegistryMiddleware =>
  () => ({
    async prepareRequest(next) {
      const request = await next();
      return request.timeout() ? request : request.enhance({ timeout: ms });
    },
  });

/** The registry client every reader of the topics uses: Avro decoded exactly, requests time out. */
export function registryClient(url: string, requestTimeoutMs = REGISTRY_REQUEST_TIMEOUT_MS): SchemaRegistry {
  return new SchemaRegistry(
    { host: url, middlewares: [requestTimeout(requestTimeoutMs)] },
    { [SchemaType.AVRO]: exactAvroOptions },
  );
}

interface AvroReader {
  fromBuffer(buffer: Buffer): unknown;
}

/**
 * Decodes Confluent-framed Avro (magic byte 0, 4-byte schema id, Avro body) through the registry.
 * A chunk is opened in one call: each distinct schema id is fetched once (then kept), and every
 * body is read synchronously by avsc (no await per record). Classifies failures: a record that can
 * never be decoded (not framed, unknown id, corrupt body) is permanent and returned in its place;
 * an unreachable registry is transient and throws for the whole chunk.
 */
export class RecordDecoder {
  private readonly registry: SchemaRegistry;
  /** Writer schemas by id (an id the registry did not know is asked again with the next chunk). */
  private readonly schemas = new Map<number, AvroReader>();

  constructor(registryUrl: string, options: { requestTimeoutMs?: number } = {}) {
    this.registry = registryClient(registryUrl, options.requestTimeoutMs);
  }

  /** One record; a permanent failure throws. */
  async decodeValue(buffer: Buffer | null): Promise<ChangeEnvelope | null> {
    const [decoded] = await this.decodeChunk([buffer]);
    if (decoded instanceof ConsumerError) throw decoded;
    return decoded ?? null;
  }

  /** Every record of a chunk, in order; throws only when the registry cannot be reached (retry the chunk). */
  async decodeChunk(buffers: readonly (Buffer | null)[]): Promise<Decoded[]> {
    return buffers.map(await this.openChunk(buffers));
  }

  /**
   * Fetches the writer schemas of a chunk's ids not known yet (throws when the registry cannot be
   * reached: retry the chunk) and returns the chunk's reader: one record at a time, synchronously.
   * The consumer maps each record as soon as it is read, so its envelope is garbage at once instead
   * of living (and being copied by every young-generation GC) until the chunk is decoded.
   */
  async openChunk(buffers: Iterable<Buffer | null>): Promise<ChunkReader> {
    const unknown = new Map<number, ConsumerError>();
    for (const buffer of buffers) {
      if (buffer === null || buffer.length < 5 || buffer[0] !== 0) continue;
      const id = buffer.readInt32BE(1);
      if (this.schemas.has(id) || unknown.has(id)) continue;
      const schema = await this.fetchSchema(id);
      if (schema instanceof ConsumerError) unknown.set(id, schema);
      else this.schemas.set(id, schema);
    }
    return (buffer) => (buffer === null ? null : this.decodeBody(buffer, unknown));
  }

  private decodeBody(
    buffer: Buffer,
    unknown: ReadonlyMap<number, ConsumerError>,
  ): ChangeEnvelope | ConsumerError {
    if (buffer.length < 5 || buffer[0] !== 0) {
      return new ConsumerError(
        "DECODE_NOT_CONFLUENT_FORMAT",
        `not Confluent wire format (expected magic byte 0 and a 4-byte schema id, got ${buffer.length} bytes starting ${buffer.subarray(0, 5).toString("hex")})`,
        false,
      );
    }
    const schemaId = buffer.readInt32BE(1);
    const schema = this.schemas.get(schemaId);
    if (!schema) return unknown.get(schemaId) as ConsumerError;
    try {
      return schema.fromBuffer(buffer.subarray(5)) as ChangeEnvelope;
    } catch (error) {
      return new ConsumerError(
        "DECODE_BAD_AVRO",
        `Avro body does not match schema ${schemaId}: ${(error as Error).message}`,
        false,
        { cause: error },
      );
    }
  }

  /**
   * The writer schema of an id; an id the registry answers 404 for is remembered as permanent.
   * Only a 404: the client reports a request that got no HTTP answer at all (refused, reset, timed
   * out) as status 400, and any other answer (401/403 of a misconfigured registry, 5xx) is the
   * registry's trouble, not the record's: retried, never a dead letter.
   */
  private async fetchSchema(schemaId: number): Promise<AvroReader | ConsumerError> {
    try {
      return (await this.registry.getSchema(schemaId)) as unknown as AvroReader;
    } catch (error) {
      const status = (error as { status?: number }).status;
      if (status === 404) {
        return new ConsumerError(
          "DECODE_UNKNOWN_SCHEMA",
          `schema id ${schemaId} is unknown to the registry (${status})`,
          false,
          { cause: error },
        );
      }
      throw new ConsumerError(
        "REGISTRY_UNAVAILABLE",
        `schema registry unavailable: ${(error as Error).message}`,
        true,
        { cause: error },
      );
    }
  }
}
