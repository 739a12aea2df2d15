import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { HEARTBEAT_TABLE, SIGNAL_TABLE, SOURCE_NAMES, tableTopic, type SourceName } from "./sources.js";

/** Parameters that turn connectors/postgres-source.json into one connector's config. */
export interface ConnectorParams {
  source: SourceName;
  dbHost: string;
  dbPort: number;
  dbUser: string;
  dbName: string;
  topicPrefix: string;
  /** Replication slots are cluster-wide: unique per connector. */
  slotName: string;
  /** Apicurio v2 REST API root the Avro converter registers schemas with. */
  registryUrl: string;
  topicPartitions: number;
  factRetentionMs: number;
  heartbeatIntervalMs?: number;
  replicationFactor?: number;
}

const templatePath = path.join(path.dirname(fileURLToPath(import.meta.url)), "postgres-source.json");

const escapeRegex = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export const connectorName = (topicPrefix: string, source: SourceName): string => `${topicPrefix}-${source}`;

/** The connectors of every source under a topic prefix. */
export const sourceConnectorNames = (topicPrefix: string): string[] =>
  SOURCE_NAMES.map((source) => connectorName(topicPrefix, source));

/** The replication slot of a source's connector; slot names allow [a-z0-9_] only. */
export const slotNameFor = (topicPrefix: string, source: SourceName): string =>
  `${topicPrefix}_${source}`.toLowerCase().replace(/[^a-z0-9_]/g, "_");

export function renderConnectorConfig(params: ConnectorParams): Record<string, string> {
  const heartbeatTopic = escapeRegex(tableTopic(params.topicPrefix, params.source, HEARTBEAT_TABLE));
  const values: Record<string, string> = {
    "db.host": params.dbHost,
    "db.port": String(params.dbPort),
    "db.user": params.dbUser,
    "db.name": params.dbName,
    "topic.prefix": params.topicPrefix,
    source: params.source,
    "slot.name": params.slotName,
    "publication.name": `bionicpro_${params.source}`,
    "heartbeat.interval.ms": String(params.heartbeatIntervalMs ?? 1_000),
    "topic.replication.factor": String(params.replicationFactor ?? 1),
    "topic.partitions": String(params.topicPartitions),
    "fact.retention.ms": String(params.factRetentionMs),
    "heartbeat.topic.regex": heartbeatTopic,
    "signal.topic.regex": escapeRegex(tableTopic(params.topicPrefix, params.source, SIGNAL_TABLE)),
    "registry.url": params.registryUrl,
  };
  const template = JSON.parse(readFileSync(templatePath, "utf8")) as Record<string, string>;
  const config: Record<string, string> = {};
  for (const [key, raw] of Object.entries(template)) {
    // ${env:...} is left for Kafka Connect's EnvVarConfigProvider: the password never enters the config topic.
    config[key] = raw.replace(/\$\{([a-z.]+)\}/g, (whole, name: string) => {
      const value = values[name];
      if (value === undefined) throw new Error(`connector template placeholder ${whole} has no value`);
      return value;
    });
  }
  return config;
}
