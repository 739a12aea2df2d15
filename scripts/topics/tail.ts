import type { ChangeOpFilter, KeyFilter, Since } from "./arguments.js";
import { RecordDecoder, withAdmin, type TopicsDeps } from "./clients.js";
import { TopicsError } from "./errors.js";
import { keyMatches, tailRecord, type TailRecord } from "./record-format.js";
import { RegistryClient } from "./registry-client.js";
import { readRange } from "./range-reader.js";
import { resolveTopic } from "./topic-names.js";

export interface TailOptions {
  /** A topic, or a table (`crm.payments`, `payments`) of the pipeline with `prefix`. */
  target: string;
  prefix: string;
  since: Since;
  key?: KeyFilter;
  op?: ChangeOpFilter;
  limit?: number;
  /** Keep reading past the end offsets of the start until `signal` aborts (or `limit` records). */
  follow: boolean;
  signal?: AbortSignal;
  onRecord(record: TailRecord): void | Promise<void>;
}

export interface PartitionRange {
  partition: number;
  /** First offset read. */
  from: string;
  /** End offset captured at the start (exclusive); null when following. */
  to: string | null;
}

export interface TailSummary {
  topic: string;
  ranges: PartitionRange[];
  /** Records read and decoded. */
  read: number;
  /** Records that passed the filters (and were handed to onRecord). */
  matched: number;
}

/** `topics tail`: decodes a topic's records through the registry, filtered, from `since` to the end offsets of the start. */
export async function tailTopic(deps: TopicsDeps, options: TailOptions): Promise<TailSummary> {
  // Fail early and clearly when the registry is down, not with an error on every record.
  await new RegistryClient(deps.registryUrl).subjects();
  const { topic, starts, ends } = await withAdmin(deps, async (admin) => {
    const existing = new Set(await admin.listTopics());
    const topic = resolveTopic(options.target, options.prefix, existing);
    if (!existing.has(topic)) {
      throw new TopicsError(
        "TOPIC_NOT_FOUND",
        `topic ${topic} does not exist (topic prefix "${options.prefix}": set TOPIC_PREFIX or --prefix; see npm run topics -- list)`,
      );
    }
    const offsets = await admin.fetchTopicOffsets(topic);
    const ends = new Map(offsets.map((p) => [p.partition, BigInt(p.high)]));
    const lows = new Map(offsets.map((p) => [p.partition, BigInt(p.low)]));
    const since = options.since;
    const starts = new Map<number, bigint>();
    if (since.kind === "time") {
      for (const p of await admin.fetchTopicOffsetsByTimestamp(topic, since.ms)) {
        starts.set(p.partition, BigInt(p.offset));
      }
    } else {
      for (const [partition, high] of ends) {
        const low = lows.get(partition) ?? 0n;
        const wanted = since.kind === "earliest" ? low : since.kind === "latest" ? high : since.offset;
        starts.set(partition, wanted < low ? low : wanted > high ? high : wanted);
      }
    }
    return { topic, starts, ends };
  });
  const decoder = new RecordDecoder(deps.registryUrl);
  const summary: TailSummary = {
    topic,
    ranges: [...starts].map(([partition, from]) => ({
      partition,
      from: from.toString(),
      to: options.follow ? null : (ends.get(partition) ?? 0n).toString(),
    })),
    read: 0,
    matched: 0,
  };
  if (options.limit !== undefined && options.limit <= 0) return summary;
  await readRange(deps, {
    topic,
    starts,
    ends: options.follow ? null : ends,
    ...(options.signal ? { signal: options.signal } : {}),
    onMessage: async (partition, message) => {
      const record = tailRecord({
        topic,
        partition,
        offset: message.offset,
        key: message.key,
        value: message.value,
        decodedKey: await decoder.decodeKey(message.key),
        decodedValue: await decoder.decode(message.value),
      });
      summary.read += 1;
      if (options.op !== undefined && record.op !== options.op) return false;
      if (options.key !== undefined && !keyMatches(options.key, record.key)) return false;
      summary.matched += 1;
      await options.onRecord(record);
      return options.limit !== undefined && summary.matched >= options.limit;
    },
  });
  return summary;
}
