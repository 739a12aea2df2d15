import { SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import { exactAvroOptions } from "../avro/types.js";
import type { ChangeEnvelope } from "../envelope.js";
import { ConsumerError } from "../errors.js";

/**
 * Decodes Confluent-framed Avro (magic byte 0, 4-byte schema id, Avro body) through the registry;
 * schemas are cached by id after the first fetch. Classifies failures: a record that can never be
 * decoded (not framed, unknown id, corrupt body) is permanent; an unreachable registry is transient.
 */
export class RecordDecoder {
  private readonly registry: SchemaRegistry;

  constructor(registryUrl: string) {
    this.registry = new SchemaRegistry({ host: registryUrl }, { [SchemaType.AVRO]: exactAvroOptions });
  }

  async decodeValue(buffer: Buffer | null): Promise<ChangeEnvelope | null> {
    return buffer === null ? null : ((await this.decode(buffer)) as ChangeEnvelope);
  }

  private async decode(buffer: Buffer): Promise<unknown> {
    if (buffer.length < 5 || buffer[0] !== 0) {
      throw new ConsumerError(
        "DECODE_NOT_CONFLUENT_FORMAT",
        `not Confluent wire format (expected magic byte 0 and a 4-byte schema id, got ${buffer.length} bytes starting ${buffer.subarray(0, 5).toString("hex")})`,
        false,
      );
    }
    const schemaId = buffer.readInt32BE(1);
    try {
      await this.registry.getSchema(schemaId);
    } catch (error) {
      const status = (error as { status?: number }).status;
      if (status !== undefined && status >= 400 && status < 500) {
        throw new ConsumerError(
          "DECODE_UNKNOWN_SCHEMA",
          `schema id ${schemaId} is unknown to the registry (${status})`,
          false,
          {
            cause: error,
          },
        );
      }
      throw new ConsumerError(
        "REGISTRY_UNAVAILABLE",
        `schema registry unavailable: ${(error as Error).message}`,
        true,
        {
          cause: error,
        },
      );
    }
    try {
      return await this.registry.decode(buffer);
    } catch (error) {
      throw new ConsumerError(
        "DECODE_BAD_AVRO",
        `Avro body does not match schema ${schemaId}: ${(error as Error).message}`,
        false,
        {
          cause: error,
        },
      );
    }
  }
}
