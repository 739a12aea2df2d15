import type { Admin, ITopicConfig } from "kafkajs";
import { HEARTBEAT_TABLE, SOURCES, tableTopic, type SourceName } from "./sources.js";

/**
 * The CDC topics, created up front (before the connectors start) so that consumers can subscribe
 * to every table even while it has no rows yet. Same settings the connectors' topic.creation rules
 * would use: dimension topics compacted, fact topics kept `factRetentionMs` (-1 = forever).
 */
export function sourceTopicSpecs(
  prefix: string,
  partitions: number,
  factRetentionMs: number,
): ITopicConfig[] {
  return (["crm", "telemetry"] as SourceName[]).flatMap((source) => {
    const definition = SOURCES[source];
    return [...definition.tables, HEARTBEAT_TABLE].map((table) => {
      const compacted = table === HEARTBEAT_TABLE || definition.dimensionTables.includes(table);
      return {
        topic: tableTopic(prefix, source, table),
        numPartitions: partitions,
        replicationFactor: 1,
        configEntries: compacted
          ? [{ name: "cleanup.policy", value: "compact" }]
          : [
              { name: "cleanup.policy", value: "delete" },
              { name: "retention.ms", value: String(factRetentionMs) },
            ],
      };
    });
  });
}

/** Creates the missing ones; existing topics are left as they are. Returns the names created. */
export async function ensureSourceTopics(admin: Admin, specs: ITopicConfig[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((spec) => !existing.has(spec.topic));
  if (missing.length) await admin.createTopics({ topics: missing, waitForLeaders: true });
  return missing.map((spec) => spec.topic);
}
