import kafkajs from "kafkajs";
import { withAdmin, type TopicsDeps } from "./clients.js";
import { formatTable } from "./text-table.js";
import { hasTopicPrefix } from "./topic-names.js";

// kafkajs is CommonJS; Node's ESM loader does not see this export by name.
const { ConfigResourceTypes } = kafkajs;

export interface TopicPartitionOffsets {
  partition: number;
  /** First offset still held (log start). */
  low: string;
  /** End offset (high watermark): the offset the next record gets. */
  high: string;
}

export interface TopicSummary {
  topic: string;
  /** `delete` or `compact` (or both); null when the broker did not say. */
  cleanupPolicy: string | null;
  /** -1: kept forever. */
  retentionMs: string | null;
  partitions: TopicPartitionOffsets[];
}

export interface GroupPartitionLag {
  group: string;
  topic: string;
  partition: number;
  /** The group's committed offset: the next offset it will read. */
  committed: string;
  end: string;
  /** end - committed (0 when the committed offset is at or past the end). */
  lag: string;
}

export interface TopicListing {
  topics: TopicSummary[];
  /** Every consumer group's committed offsets on the listed topics, by group, topic, partition. */
  lag: GroupPartitionLag[];
}

/** `topics list`: the topics under `prefix` with offsets and retention, and every group's lag on them. */
export async function listTopics(deps: TopicsDeps, options: { prefix: string }): Promise<TopicListing> {
  return withAdmin(deps, async (admin) => {
    const names = (await admin.listTopics()).filter((t) => hasTopicPrefix(t, options.prefix)).sort();
    if (names.length === 0) return { topics: [], lag: [] };
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: names.map((name) => ({
        type: ConfigResourceTypes.TOPIC,
        name,
        configNames: ["cleanup.policy", "retention.ms"],
      })),
    });
    const configOf = (topic: string, name: string): string | null =>
      resources.find((r) => r.resourceName === topic)?.configEntries.find((e) => e.configName === name)
        ?.configValue ?? null;
    const topics: TopicSummary[] = [];
    const ends = new Map<string, bigint>();
    for (const topic of names) {
      const offsets = (await admin.fetchTopicOffsets(topic)).sort((a, b) => a.partition - b.partition);
      for (const p of offsets) ends.set(`${topic}:${p.partition}`, BigInt(p.high));
      topics.push({
        topic,
        cleanupPolicy: configOf(topic, "cleanup.policy"),
        retentionMs: configOf(topic, "retention.ms"),
        partitions: offsets.map((p) => ({ partition: p.partition, low: p.low, high: p.high })),
      });
    }
    const groups = (await admin.listGroups()).groups
      .filter((g) => g.protocolType === "consumer" || g.protocolType === "")
      .map((g) => g.groupId)
      .sort();
    const lag: GroupPartitionLag[] = [];
    for (const group of groups) {
      for (const { topic, partitions } of await admin.fetchOffsets({ groupId: group, topics: names })) {
        for (const { partition, offset } of [...partitions].sort((a, b) => a.partition - b.partition)) {
          const committed = BigInt(offset);
          if (committed < 0n) continue; // nothing committed on this partition
          const end = ends.get(`${topic}:${partition}`) ?? 0n;
          lag.push({
            group,
            topic,
            partition,
            committed: committed.toString(),
            end: end.toString(),
            lag: (end > committed ? end - committed : 0n).toString(),
          });
        }
      }
    }
    lag.sort((a, b) =>
      a.group === b.group
        ? a.topic === b.topic
          ? a.partition - b.partition
          : a.topic < b.topic
            ? -1
            : 1
        : a.group < b.group
          ? -1
          : 1,
    );
    return { topics, lag };
  });
}

export function formatTopicListing(listing: TopicListing): string[] {
  if (listing.topics.length === 0) return ["no topics"];
  const topicRows = listing.topics.flatMap((t) =>
    t.partitions.map((p) => [
      t.topic,
      String(p.partition),
      p.low,
      p.high,
      t.cleanupPolicy ?? "-",
      t.retentionMs ?? "-",
    ]),
  );
  const lines = formatTable(
    ["TOPIC", "PARTITION", "LOW", "HIGH", "CLEANUP.POLICY", "RETENTION.MS"],
    topicRows,
  );
  lines.push("");
  if (listing.lag.length === 0) {
    lines.push("no consumer group has committed offsets on these topics");
  } else {
    lines.push(
      ...formatTable(
        ["GROUP", "TOPIC", "PARTITION", "COMMITTED", "END", "LAG"],
        listing.lag.map((l) => [l.group, l.topic, String(l.partition), l.committed, l.end, l.lag]),
      ),
    );
  }
  return lines;
}
