import { Command, InvalidArgumentError, Option } from "commander";
import {
  CHANGE_OPS,
  parseKeyFilter,
  parseLimit,
  parsePositions,
  parseSince,
  type ChangeOpFilter,
  type KeyFilter,
  type Position,
  type Since,
} from "./arguments.js";
import { topicsDeps, type TopicsDeps } from "./clients.js";
import { deadLetterJson, formatDeadLetterText } from "./dead-letter-view.js";
import { readDeadLetters, replayDeadLetters } from "./dlq.js";
import { formatTopicListing, listTopics } from "./list.js";
import { formatTailText } from "./record-format.js";
import { diffSubjectVersions, formatSchemaDiff, formatSchemaList, listSchemas } from "./schemas.js";
import { tailTopic } from "./tail.js";

export interface TopicsCommandConfig {
  kafkaBrokers: readonly string[];
  registryUrl: string;
  /** The pipeline's topic prefix (TOPIC_PREFIX): default of --prefix, and how table names resolve. */
  topicPrefix: string;
  /** The consumers' dead-letter topic (DLQ_TOPIC). */
  dlqTopic: string;
}

const out = (lines: string | readonly string[]): void => {
  process.stdout.write(`${typeof lines === "string" ? lines : lines.join("\n")}\n`);
};
const progress = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

function versionArgument(text: string): number | "latest" {
  if (text === "latest") return text;
  if (/^\d+$/.test(text) && Number(text) > 0) return Number(text);
  throw new InvalidArgumentError(`expected a version number or latest, got "${text}"`);
}

/**
 * `topics list|tail|schemas|dlq`: look inside the pipeline's Kafka topics and schema registry.
 * Data goes to stdout (`--json` for scripts), progress and summaries to stderr.
 */
export function registerTopicsCommands(program: Command, config: () => TopicsCommandConfig): Command {
  const topics = program
    .command("topics")
    .description("inspect the CDC topics: offsets and lag, decoded records, schema versions, dead letters");
  const deps = (): { cfg: TopicsCommandConfig; deps: TopicsDeps } => {
    const cfg = config();
    return { cfg, deps: topicsDeps(cfg.kafkaBrokers, cfg.registryUrl) };
  };

  topics
    .command("list")
    .description(
      "topics with partitions, low/high offsets, cleanup.policy and retention.ms, and every consumer group's committed offset and lag per partition",
    )
    .option("--prefix <prefix>", "only topics starting with this ('' for all; default: TOPIC_PREFIX + '.')")
    .option("--json", "print the listing as JSON")
    .action(async (opts: { prefix?: string; json?: boolean }) => {
      const { cfg, deps: d } = deps();
      const prefix = opts.prefix ?? `${cfg.topicPrefix}.`;
      const listing = await listTopics(d, { prefix });
      out(opts.json ? JSON.stringify(listing, null, 2) : formatTopicListing(listing));
      progress(
        `${listing.topics.length} topic(s) under "${prefix}", ${listing.lag.length} group partition offset(s)`,
      );
    });

  topics
    .command("tail")
    .description(
      "decoded records of a topic or table (crm.payments, payments, or a topic name): op, key, before, after, source.lsn, commit time",
    )
    .argument(
      "<table|topic>",
      "a source table ([crm.|telemetry.]table, with or without the source prefix) or a topic",
    )
    .option("--prefix <prefix>", "topic prefix that table names resolve with (default: TOPIC_PREFIX)")
    .option(
      "--key <key>",
      "only records whose key has a field equal to this, or field=value[,field=value]",
      parseKeyFilter,
    )
    .addOption(new Option("--op <op>", "only this Debezium operation").choices(CHANGE_OPS))
    .option(
      "--since <when>",
      "where to start: earliest, latest, an offset (every partition), or an ISO time with a zone (record timestamps)",
      parseSince,
    )
    .option("--limit <n>", "stop after n matching records", parseLimit)
    .option(
      "--follow",
      "keep reading new records until Ctrl-C (default: stop at the end offsets of the start)",
    )
    .option("--json", "print JSON lines (decimals and longs as exact strings, bytes as base64)")
    .action(
      async (
        target: string,
        opts: {
          prefix?: string;
          key?: KeyFilter;
          op?: ChangeOpFilter;
          since?: Since;
          limit?: number;
          follow?: boolean;
          json?: boolean;
        },
      ) => {
        const { cfg, deps: d } = deps();
        const abort = new AbortController();
        const onSignal = (): void => abort.abort();
        if (opts.follow) process.once("SIGINT", onSignal);
        try {
          const summary = await tailTopic(d, {
            target,
            prefix: opts.prefix ?? cfg.topicPrefix,
            since: opts.since ?? { kind: "earliest" },
            follow: opts.follow ?? false,
            signal: abort.signal,
            ...(opts.key ? { key: opts.key } : {}),
            ...(opts.op ? { op: opts.op } : {}),
            ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
            onRecord: (record) => out(opts.json ? JSON.stringify(record) : formatTailText(record)),
          });
          const ranges = summary.ranges
            .map((r) => `p${r.partition} ${r.from}..${r.to ?? "follow"}`)
            .join(", ");
          progress(
            `${summary.topic} (${ranges}): ${summary.matched} record(s) shown of ${summary.read} read`,
          );
        } finally {
          process.removeListener("SIGINT", onSignal);
        }
      },
    );

  topics
    .command("schemas")
    .description(
      "schema registry subjects with their versions and ids; --diff: field changes between two versions",
    )
    .option("--subject <subject>", "only this subject (e.g. bionicpro.crm.crm_payments-value)")
    .option("--prefix <prefix>", "only subjects of topics starting with this (default: TOPIC_PREFIX + '.')")
    .option(
      "--diff <subject_v1_v2...>",
      "three values, <subject> <v1> <v2>: added, removed and changed fields from version v1 to v2 (numbers or latest)",
    )
    .option("--json", "print JSON")
    .action(
      async (
        opts: { subject?: string; prefix?: string; diff?: string[]; json?: boolean },
        command: Command,
      ) => {
        const { cfg } = deps();
        if (opts.diff) {
          const [subject, v1, v2, ...rest] = opts.diff;
          if (subject === undefined || v1 === undefined || v2 === undefined || rest.length > 0) {
            command.error("error: --diff takes three values: <subject> <v1> <v2>", { exitCode: 2 });
          }
          let from: number | "latest", to: number | "latest";
          try {
            from = versionArgument(v1 as string);
            to = versionArgument(v2 as string);
          } catch (error) {
            return command.error(`error: --diff: ${(error as Error).message}`, { exitCode: 2 });
          }
          const diff = await diffSubjectVersions(cfg.registryUrl, subject as string, from, to);
          out(opts.json ? JSON.stringify(diff, null, 2) : formatSchemaDiff(diff));
          return;
        }
        const prefix = opts.prefix ?? `${cfg.topicPrefix}.`;
        const subjects = await listSchemas(cfg.registryUrl, {
          prefix,
          ...(opts.subject !== undefined ? { subject: opts.subject } : {}),
        });
        out(opts.json ? JSON.stringify(subjects, null, 2) : formatSchemaList(subjects));
        progress(`${subjects.length} subject(s)${opts.subject ? "" : ` under "${prefix}"`}`);
      },
    );

  topics
    .command("dlq")
    .description(
      "dead letters: reason, source topic/partition/offset, hex and base64 of the raw bytes; --replay sends chosen ones back to their source topic",
    )
    .option("--topic <topic>", "the dead-letter topic (default: DLQ_TOPIC, else TOPIC_PREFIX + '.dlq')")
    .option("--limit <n>", "only the newest n dead letters", parseLimit)
    .option(
      "--replay",
      "publish the dead letters named by --offsets to their source topic again (after a fix)",
    )
    .option(
      "--offsets <p:o,...>",
      "dead letters to replay, by their partition:offset in the dead-letter topic",
      parsePositions,
    )
    .option("--json", "print JSON")
    .action(
      async (
        opts: { topic?: string; limit?: number; replay?: boolean; offsets?: Position[]; json?: boolean },
        command: Command,
      ) => {
        const { cfg, deps: d } = deps();
        const dlqTopic = opts.topic ?? cfg.dlqTopic;
        if (opts.replay) {
          if (!opts.offsets) command.error("error: --replay needs --offsets p:o[,p:o...]", { exitCode: 2 });
          const replayed = await replayDeadLetters(d, dlqTopic, opts.offsets as Position[]);
          out(
            opts.json
              ? JSON.stringify(replayed, null, 2)
              : replayed.map(
                  (r) =>
                    `replayed ${dlqTopic} ${r.from.partition}:${r.from.offset} -> ${r.to.topic}[${r.to.partition}]@${r.to.offset} (key ${r.keyBytes} bytes, value ${r.valueBytes} bytes)`,
                ),
          );
          progress(`${replayed.length} dead letter(s) replayed`);
          return;
        }
        if (opts.offsets) command.error("error: --offsets is for --replay", { exitCode: 2 });
        const { exists, letters } = await readDeadLetters(d, dlqTopic);
        const shown = opts.limit === undefined ? letters : letters.slice(-opts.limit);
        if (opts.json)
          out(JSON.stringify({ topic: dlqTopic, exists, letters: shown.map(deadLetterJson) }, null, 2));
        else if (shown.length === 0)
          out(`no dead letters in ${dlqTopic}${exists ? "" : " (the topic does not exist yet)"}`);
        else out(shown.flatMap((l, i) => [...(i > 0 ? [""] : []), ...formatDeadLetterText(l)]));
        progress(`${dlqTopic}: ${letters.length} dead letter(s), ${shown.length} shown`);
      },
    );
  return topics;
}
