import kafkajs, { type Admin, type ITopicConfig } from "kafkajs";
import { HEARTBEAT_TABLE, SOURCES, tableTopic, type SourceName } from "./sources.js";

// kafkajs is CommonJS; Node's ESM loader does not see this export by name.
const { ConfigResourceTypes } = kafkajs;

/**
 * The CDC topics, created up front (before the connectors start) so that consumers can subscribe
 * to every table even while it has no rows yet. Same settings the connectors' topic.creation rules
 * would use: every table topic keeps its records `factRetentionMs` (-1 = forever) — never
 * compacted: a TRUNCATE event has no key, which a compacted topic refuses (the connector task
 * dies), and the signed subscription rows and replays need every change, not the latest per key.
 * Only the heartbeat topic (one key) is compacted.
 */
export function sourceTopicSpecs(
  prefix: string,
  partitions: number,
  factRetentionMs: number,
): ITopicConfig[] {
  return (["crm", "telemetry"] as SourceName[]).flatMap((source) => {
    const definition = SOURCES[source];
    return [...definition.tables, HEARTBEAT_TABLE].map((table) => {
      const compacted = table === HEARTBEAT_TABLE;
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

/**
 * Creates the missing topics and brings the cleanup policy and retention of existing ones in line
 * with `specs` (topics made by an earlier version were compacted). Returns the names created.
 */
export async function ensureSourceTopics(admin: Admin, specs: ITopicConfig[]): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((spec) => !existing.has(spec.topic));
  if (missing.length) await admin.createTopics({ topics: missing, waitForLeaders: true });
  const present = specs.filter((spec) => existing.has(spec.topic));
  if (present.length) {
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: present.map((spec) => ({
        type: ConfigResourceTypes.TOPIC,
        name: spec.topic,
        configNames: (spec.configEntries ?? []).map((e) => e.name),
      })),
    });
    const differing = present.filter((spec) => {
      const found = resources.find((r) => r.resourceName === spec.topic)?.configEntries ?? [];
      return (spec.configEntries ?? []).some(
        (e) => found.find((f) => f.configName === e.name)?.configValue !== e.value,
      );
    });
    if (differing.length) {
      await admin.alterConfigs({
        validateOnly: false,
        resources: differing.map((spec) => ({
          type: ConfigResourceTypes.TOPIC,
          name: spec.topic,
          configEntries: spec.configEntries ?? [],
        })),
      });
    }
  }
  return missing.map((spec) => spec.topic);
}
