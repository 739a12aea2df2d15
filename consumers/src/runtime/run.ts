import type { ClickHouseClient } from "@clickhouse/client";
import { Kafka, logLevel } from "kafkajs";
import { createClickHouseClient } from "../../../clickhouse/client.js";
import { migrate } from "../../../clickhouse/migrate.js";
import type { ConsumerConfig } from "../config.js";
import { RecordDecoder } from "./decode.js";
import { kafkaLogCreator } from "./kafka-log.js";
import { MartsPipeline } from "./pipeline.js";

export interface RunningPipeline {
  pipeline: MartsPipeline;
  /** The ClickHouse client the pipeline writes with (embedded mode: the only one this process may open). */
  clickhouse: ClickHouseClient;
  /** Stops consuming, waits for in-flight chunks, closes Kafka and ClickHouse. */
  close(): Promise<void>;
}

/** Applies migrations, then starts the consumer group. The caller decides when to close. */
export async function startPipeline(
  config: ConsumerConfig,
  log: (line: string) => void,
): Promise<RunningPipeline> {
  const clickhouse = createClickHouseClient(config.clickhouse);
  const applied = await migrate(clickhouse, config.clickhouse.database);
  log(
    `ClickHouse ${config.clickhouse.url ? `server ${new URL(config.clickhouse.url).host}` : `embedded at ${config.clickhouse.path}`}, ` +
      `database ${config.clickhouse.database}: ${applied.length} migration(s) applied`,
  );
  const kafka = new Kafka({
    clientId: `marts-${process.pid}`,
    brokers: config.brokers,
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(log),
  });
  const pipeline = new MartsPipeline({
    config,
    kafka,
    clickhouse,
    decoder: new RecordDecoder(config.registryUrl),
    log,
  });
  try {
    await pipeline.start();
  } catch (error) {
    await pipeline.stop();
    await clickhouse.close();
    throw error;
  }
  return {
    pipeline,
    clickhouse,
    close: async () => {
      await pipeline.stop();
      await clickhouse.close();
    },
  };
}
