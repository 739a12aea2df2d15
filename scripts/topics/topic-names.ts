import { SOURCES, tableTopic, type SourceName } from "../../connectors/sources.js";
import { TopicsError } from "./errors.js";

/** Debezium's own heartbeat topic of a connector: `__debezium-heartbeat.<prefix>.<source>`. */
const HEARTBEAT_TOPIC_PREFIX = "__debezium-heartbeat.";

/** Whether a topic belongs to a pipeline's topic prefix (its table topics, DLQ and heartbeat topics). */
export function hasTopicPrefix(topic: string, prefix: string): boolean {
  if (prefix === "") return true;
  const name = topic.startsWith(HEARTBEAT_TOPIC_PREFIX) ? topic.slice(HEARTBEAT_TOPIC_PREFIX.length) : topic;
  return name.startsWith(prefix);
}

/**
 * The topic `topics tail` reads: an existing topic name as it is, else a table named as
 * `[source.]table`, where table is the source table (`crm_payments`) or it without the source's
 * prefix (`payments`): `crm.payments`, `payments`, `crm_payments`, `telemetry.events` all resolve
 * to `<prefix>.<source>.<table>` (the consumers' naming, connectors/sources.ts).
 */
export function resolveTopic(name: string, prefix: string, existing: ReadonlySet<string>): string {
  if (existing.has(name)) return name;
  const dot = name.indexOf(".");
  const source = dot > 0 ? name.slice(0, dot) : undefined;
  const table = dot > 0 ? name.slice(dot + 1) : name;
  const sources = (Object.keys(SOURCES) as SourceName[]).filter((s) => source === undefined || s === source);
  const matches = sources.flatMap((s) =>
    SOURCES[s].tables
      .filter((t) => t === table || t === `${s}_${table}`)
      .map((t) => tableTopic(prefix, s, t)),
  );
  if (matches.length === 1) return matches[0] as string;
  if (matches.length > 1) {
    throw new TopicsError("TABLE_AMBIGUOUS", `"${name}" names ${matches.join(" and ")}: name one of them`);
  }
  const tables = (Object.keys(SOURCES) as SourceName[]).flatMap((s) =>
    SOURCES[s].tables.map((t) => `${s}.${t}`),
  );
  throw new TopicsError(
    "TOPIC_NOT_FOUND",
    `"${name}" is neither a topic nor a source table (tables: ${tables.join(", ")}); ` +
      "see the topics with: npm run topics -- list",
  );
}
