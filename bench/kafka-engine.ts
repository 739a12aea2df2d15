import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { ClickHouseClient } from "@clickhouse/client";
import { migrate } from "../clickhouse/migrate.js";
import { tableMappings, type TableMapping } from "../consumers/src/mapping/index.js";
import { tableTopic } from "../connectors/sources.js";
import { waitFor } from "../test/harness/cdc.js";

/**
 * The Kafka table engine baseline of `npm run bench` (issue 10): ClickHouse's own consumer (in the
 * embedded chDB) reads the same pre-filled topics with `kafka_format = 'AvroConfluent'` through the
 * registry's Confluent-compatible API, and one materialized view per target maps the Debezium
 * envelope into the project's change and dimension tables (the marts' views below them fire as they
 * do for our consumer): insert/snapshot -> +after, update -> -before +after, delete -> -before;
 * dimensions take the latest image with version = (lsn << 64) | offset.
 *
 * What it cannot do, and our consumer does: exactly-once (the engine commits offsets after the
 * insert, so a crash between the two inserts a block twice, no dedup token), a dead-letter topic
 * (a record that fails to parse stops the table or is skipped, per kafka_handle_error_mode), resets
 * (a truncate/schema change in the source), the re-emission guard (a record Debezium sends again
 * after a connector restart lands twice), the freshness bookkeeping, and dropping an update that
 * leaves every mart column unchanged (here it lands as -before +after, netting to zero).
 */

/** Columns our mapping adds to every signed change row or dimension row (not taken from the image). */
const META_COLUMNS = new Set(["sign", "lsn", "commit_ts", "version", "is_deleted"]);

type AvroType = string | AvroRecord | AvroPrimitive | AvroType[];
interface AvroRecord {
  type: "record";
  name: string;
  namespace?: string;
  fields: { name: string; type: AvroType }[];
}
interface AvroPrimitive {
  type: string;
  logicalType?: string;
  precision?: number;
  scale?: number;
}

const PRIMITIVES: Record<string, string> = {
  int: "Int32",
  long: "Int64",
  string: "String",
  boolean: "Bool",
  float: "Float32",
  double: "Float64",
  bytes: "String",
};

/**
 * The ClickHouse type an Avro type is read into by AvroConfluent: a record is a Tuple of all its
 * fields (the format requires every leaf), `[null, record]` the bare Tuple (a Tuple cannot be
 * Nullable; a null image reads as defaults, never used: op says which image exists),
 * `[null, T]` Nullable(T), a decimal its Decimal(P, S).
 */
export function clickHouseType(type: AvroType, named: Map<string, AvroRecord>): string {
  if (typeof type === "string") {
    const primitive = PRIMITIVES[type];
    if (primitive) return primitive;
    const record = named.get(type);
    if (!record) throw new Error(`Avro type "${type}" is neither a primitive nor a record seen before`);
    return clickHouseType(record, named);
  }
  if (Array.isArray(type)) {
    const branches = type.filter((t) => t !== "null");
    const [only] = branches;
    if (branches.length !== 1 || only === undefined) {
      throw new Error(`Avro union ${JSON.stringify(type)} has more than one non-null branch`);
    }
    const inner = clickHouseType(only, named);
    return inner.startsWith("Tuple(") || branches.length === type.length ? inner : `Nullable(${inner})`;
  }
  if (type.type === "record") {
    const record = type as AvroRecord;
    named.set(record.name, record);
    if (record.namespace) named.set(`${record.namespace}.${record.name}`, record);
    return `Tuple(${record.fields.map((f) => `\`${f.name}\` ${clickHouseType(f.type, named)}`).join(", ")})`;
  }
  const primitive = type as AvroPrimitive;
  if (primitive.logicalType === "decimal" && primitive.type === "bytes") {
    return `Decimal(${primitive.precision ?? 38}, ${primitive.scale ?? 0})`;
  }
  if (primitive.logicalType === "date" && primitive.type === "int") return "Date";
  return clickHouseType(primitive.type, named);
}

/** The Debezium envelope's columns of a topic, from its writer schema. */
export function envelopeColumns(schema: AvroRecord): Map<string, string> {
  const named = new Map<string, AvroRecord>();
  const columns = new Map<string, string>();
  for (const field of schema.fields) columns.set(field.name, clickHouseType(field.type, named));
  return columns;
}

/** The row image's fields (the record inside `after`) and the ClickHouse type each is read as. */
function imageFields(schema: AvroRecord): Map<string, string> {
  const named = new Map<string, AvroRecord>();
  for (const field of schema.fields) clickHouseType(field.type, named);
  const after = schema.fields.find((f) => f.name === "after");
  const record = (Array.isArray(after?.type) ? after.type : [after?.type])
    .map((t) => (typeof t === "string" ? named.get(t) : t))
    .find((t): t is AvroRecord => typeof t === "object" && !Array.isArray(t) && t.type === "record");
  if (!record) throw new Error(`envelope ${schema.name}: "after" is not a record`);
  return new Map(record.fields.map((f) => [f.name, clickHouseType(f.type, named)]));
}

/** SQL converting an image field (read as `source`) into a target column of type `target`. */
export function convert(expr: string, source: string, target: string): string {
  const bare = (t: string) => t.replace(/^Nullable\((.*)\)$/, "$1");
  const nullable = source.startsWith("Nullable(");
  if (target.includes("DateTime64") && bare(source) === "String") {
    // Debezium ZonedTimestamp: ISO-8601 text with offset.
    return `CAST(${nullable ? "parseDateTime64BestEffortOrNull" : "parseDateTime64BestEffort"}(${expr}, 6, 'UTC') AS ${target})`;
  }
  if (target.includes("DateTime64") && bare(source) === "Int64") {
    return `CAST(fromUnixTimestamp64Micro(${expr}, 'UTC') AS ${target})`; // MicroTimestamp
  }
  if (/\bDate\b/.test(target) && !target.includes("DateTime") && bare(source) === "Int32") {
    return `CAST(addDays(toDate('1970-01-01'), ${expr}) AS ${target})`; // io.debezium.time.Date
  }
  return `CAST(${expr} AS ${target})`;
}

interface TargetColumn {
  name: string;
  type: string;
}

async function targetColumns(client: ClickHouseClient, db: string, table: string): Promise<TargetColumn[]> {
  const result = await client.query({
    query:
      "SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {table:String} AND default_kind = '' ORDER BY position",
    query_params: { db, table },
    format: "JSONEachRow",
  });
  return result.json<TargetColumn>();
}

const LSN = "toUInt64(assumeNotNull(source.lsn))";
const COMMIT_TS = "fromUnixTimestamp64Milli(source.ts_ms, 'UTC')";

function imageSelect(
  columns: TargetColumn[],
  fields: Map<string, string>,
  image: (name: string) => string,
  table: string,
): string[] {
  return columns
    .filter((c) => !META_COLUMNS.has(c.name))
    .map((c) => {
      const source = fields.get(c.name);
      if (!source) throw new Error(`${table}: target column ${c.name} is not a field of the source image`);
      return `${convert(image(c.name), source, c.type)} AS \`${c.name}\``;
    });
}

/** The materialized views of one topic: signed fact rows and/or the dimension's latest image. */
export function viewSelects(
  mapping: TableMapping,
  kafkaTable: string,
  fields: Map<string, string>,
  columnsOf: (target: string) => TargetColumn[],
): { target: string; select: string }[] {
  const views: { target: string; select: string }[] = [];
  for (const fact of mapping.facts ?? []) {
    const columns = columnsOf(fact.target);
    for (const [sign, image, ops] of [
      [1, "after", "'c', 'r', 'u'"],
      [-1, "before", "'u', 'd'"],
    ] as const) {
      const cols = imageSelect(columns, fields, (n) => `${image}.\`${n}\``, fact.target);
      views.push({
        target: fact.target,
        select: `SELECT toInt8(${sign}) AS sign, ${cols.join(", ")}, ${LSN} AS lsn, ${COMMIT_TS} AS commit_ts FROM ${kafkaTable} WHERE op IN (${ops})`,
      });
    }
  }
  if (mapping.dimension) {
    const target = mapping.dimension.target;
    const cols = imageSelect(
      columnsOf(target),
      fields,
      (n) => `if(op = 'd', before.\`${n}\`, after.\`${n}\`)`,
      target,
    );
    views.push({
      target,
      select: `SELECT ${cols.join(", ")}, bitOr(bitShiftLeft(toUInt128(${LSN}), 64), toUInt128(_offset)) AS version, toUInt8(op = 'd') AS is_deleted, ${COMMIT_TS} AS commit_ts FROM ${kafkaTable} WHERE op IN ('c', 'r', 'u', 'd')`,
    });
  }
  return views;
}

/** What a run needs besides the client: plain data, so it crosses to the child process as JSON. */
export interface KafkaEngineJob {
  database: string;
  brokers: readonly string[];
  registryUrl: string;
  topicPrefix: string;
  groupId: string;
  /** Records per topic to wait for (the pre-filled topics' record counts). */
  expected: Record<string, number>;
  /** Writer schema id of each topic's values (read from a record of it). */
  schemaIds: Record<string, number>;
  /** Engine settings, e.g. kafka_max_block_size; written into every Kafka table. */
  settings: Readonly<Record<string, string | number>>;
  timeoutMs: number;
}

export interface KafkaEngineOptions extends KafkaEngineJob {
  /** A client on a fresh embedded data dir (nothing else uses it). */
  client: ClickHouseClient;
  log: (line: string) => void;
}

export interface KafkaEngineResult {
  records: number;
  seconds: number;
  rowsByTarget: Record<string, number>;
  /** Seconds from the start until each target held all its rows (where a tail waited). */
  completeAtS: Record<string, number>;
  /** Exceptions the engine recorded (system.kafka_consumers) and recovered from. */
  exceptions: string[];
}

/** The child's report: the run, and its process's CPU over the run and peak RSS over its life. */
export interface KafkaEngineReport extends KafkaEngineResult {
  cpuS: number;
  peakRssMiB: number;
  clickhouseVersion: string;
}

const CHILD = fileURLToPath(new URL("./kafka-engine-run.ts", import.meta.url));

/**
 * Runs the baseline in a child process (bench/kafka-engine-run.ts) on a fresh data dir: its CPU and
 * peak RSS are the engine's own, and the bench process's memory is not inflated for the phases after it.
 */
export async function measureKafkaEngine(
  job: KafkaEngineJob,
  log: (line: string) => void,
): Promise<KafkaEngineReport> {
  const child = spawn(process.execPath, ["--import", "tsx", CHILD, JSON.stringify(job)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let report: KafkaEngineReport | undefined;
  const lines = createInterface({ input: child.stdout });
  lines.on("line", (line) => {
    if (line.startsWith("{")) report = JSON.parse(line) as KafkaEngineReport;
    else log(line);
  });
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  if (code !== 0 || !report) throw new Error(`the Kafka engine run exited with code ${code}`);
  return report;
}

async function fetchSchema(registryUrl: string, id: number): Promise<AvroRecord> {
  const response = await fetch(`${registryUrl}/schemas/ids/${id}`);
  if (!response.ok) throw new Error(`registry: schema ${id}: HTTP ${response.status}`);
  const body = (await response.json()) as { schema: string };
  return JSON.parse(body.schema) as AvroRecord;
}

/** How long the engine may go without landing a row once it has recorded an exception. */
const STALL_MS = 120_000;

async function kafkaErrors(client: ClickHouseClient, db: string): Promise<string[]> {
  const result = await client.query({
    query: `SELECT DISTINCT table, arrayJoin(exceptions.text) AS text FROM system.kafka_consumers WHERE database = {db:String} LIMIT 10`,
    query_params: { db },
    format: "JSONEachRow",
  });
  return (await result.json<{ table: string; text: string }>()).map(
    (e) => `${e.table}: ${e.text.split("\n")[0]}`,
  );
}

/**
 * Creates the project's tables (migrations), then per topic a Kafka table and its views, and times
 * from the first Kafka table's creation until every target holds its expected rows. The Kafka tables
 * are dropped at the end (which stops their consumers).
 */
export async function runKafkaEngine(options: KafkaEngineOptions): Promise<KafkaEngineResult> {
  const { client, database: db } = options;
  await migrate(client, db);
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS kafka_engine` });
  const expectedRows = new Map<string, number>();
  const statements: string[] = [];
  const columnCache = new Map<string, TargetColumn[]>();
  for (const mapping of tableMappings) {
    const topic = tableTopic(options.topicPrefix, mapping.source, mapping.table);
    const id = options.schemaIds[topic];
    const records = options.expected[topic];
    if (id === undefined || records === undefined)
      throw new Error(`no schema id / record count for ${topic}`);
    const schema = await fetchSchema(options.registryUrl, id);
    const columns = envelopeColumns(schema);
    const kafkaTable = `kafka_engine.${mapping.table}`;
    const declared = ["op", "before", "after", "source"].map((c) => {
      const type = columns.get(c);
      if (!type) throw new Error(`${topic}: envelope has no field ${c}`);
      return `\`${c}\` ${type}`;
    });
    const settings = {
      kafka_broker_list: options.brokers.join(","),
      kafka_topic_list: topic,
      // One group per table: tables sharing a group would rebalance each other as each joins.
      kafka_group_name: `${options.groupId}-${mapping.table}`,
      kafka_format: "AvroConfluent",
      format_avro_schema_registry_url: options.registryUrl,
      ...options.settings,
    };
    const settingSql = Object.entries(settings)
      .map(([k, v]) => `${k} = ${typeof v === "number" ? v : `'${v}'`}`)
      .join(", ");
    statements.push(
      `CREATE TABLE ${kafkaTable} (${declared.join(", ")}) ENGINE = Kafka SETTINGS ${settingSql}`,
    );
    const fields = imageFields(schema);
    for (const target of [...(mapping.facts ?? []).map((f) => f.target), mapping.dimension?.target]) {
      if (target && !columnCache.has(target))
        columnCache.set(target, await targetColumns(client, db, target));
      if (target) expectedRows.set(`${db}.${target}`, records);
    }
    const views = viewSelects(mapping, kafkaTable, fields, (t) => columnCache.get(t) ?? []);
    views.forEach((view, i) => {
      statements.push(
        `CREATE MATERIALIZED VIEW kafka_engine.${mapping.table}_mv${i} TO ${db}.${view.target} AS ${view.select.replaceAll("\n", " ")}`,
      );
    });
  }
  const total = Object.values(options.expected).reduce((a, b) => a + b, 0);
  options.log(
    `Kafka engine: ${tableMappings.length} Kafka tables, ${statements.length - tableMappings.length} views, waiting for ${total} records`,
  );
  const started = Date.now();
  for (const statement of statements) await client.command({ query: statement });
  const rowsByTarget: Record<string, number> = {};
  const completeAtS: Record<string, number> = {};
  let lastLog = Date.now();
  let landed = 0;
  let progressAt = Date.now();
  const exceptions = new Set<string>();
  await waitFor(
    "the Kafka engine to land every record",
    async () => {
      let done = true;
      for (const [table, want] of expectedRows) {
        const result = await client.query({
          query: `SELECT count() AS n FROM ${table}`,
          format: "JSONEachRow",
        });
        const [row] = await result.json<{ n: string }>();
        rowsByTarget[table] = Number(row?.n);
        if (rowsByTarget[table] < want) done = false;
        else completeAtS[table] ??= (Date.now() - started) / 1000;
      }
      if (done) return true;
      const now = Object.values(rowsByTarget).reduce((a, b) => a + b, 0);
      if (now > landed) [landed, progressAt] = [now, Date.now()];
      for (const error of await kafkaErrors(client, "kafka_engine")) exceptions.add(error);
      // The engine logs an exception and retries (e.g. "Local: Unknown partition" while a group
      // assigns): only one that goes with no progress for STALL_MS stops the run.
      if (exceptions.size && Date.now() - progressAt > STALL_MS) {
        throw new Error(
          `no progress for ${STALL_MS / 1000} s; the Kafka engine reports: ${[...exceptions].join("; ")}`,
        );
      }
      if (Date.now() - lastLog > 5000) {
        lastLog = Date.now();
        options.log(
          `Kafka engine: ${landed} target rows after ${((Date.now() - started) / 1000).toFixed(0)} s`,
        );
      }
      return undefined;
    },
    options.timeoutMs,
    { probeErrors: "throw" },
  );
  const seconds = (Date.now() - started) / 1000;
  for (const mapping of tableMappings) {
    await client.command({ query: `DROP TABLE IF EXISTS kafka_engine.${mapping.table} SYNC` });
  }
  return { records: total, seconds, rowsByTarget, completeAtS, exceptions: [...exceptions] };
}
