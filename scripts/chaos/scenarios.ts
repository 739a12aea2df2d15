import { setTimeout as sleep } from "node:timers/promises";
import { Partitioners } from "kafkajs";
import type { RunningPipeline } from "../../consumers/src/runtime/run.js";
import type { CdcRun } from "../../test/harness/cdc.js";
import { killConsumer, spawnConsumer } from "../../test/harness/consumer-process.js";
import {
  failCrmTaskOnSchemaRegistration,
  groupAssignments,
  sourceQuery,
  until,
} from "../../test/harness/pipeline.js";
import { restartComponent, slotNameFor } from "../stack/stack.js";

/** What a scenario works with: the chaos run's sources and its in-process consumer. */
export interface ChaosContext {
  run: CdcRun;
  group: string;
  /** ClickHouse database of the marts. */
  database: string;
  /** The consumer running in this process (its ClickHouse client is the reconcile's too). */
  consumer(): RunningPipeline;
  /** Closes the in-process consumer (the data directory is free), then runs `meanwhile`, then starts it again. */
  withoutConsumer(meanwhile: () => Promise<void>): Promise<void>;
  /** Environment for a consumer process on the same group, topics and data directory. */
  consumerEnv: Record<string, string>;
  consumerLogFile: string;
  quick: boolean;
  log: (line: string) => void;
}

export interface Scenario {
  name: string;
  /** What happens, for the summary table. */
  fault: (quick: boolean) => string;
  /** Dead letters the fault itself produces (poison records). */
  expectedDeadLetters: number;
  /** Injects the fault; returns once it is over (the component back, the statement committed). */
  inject(ctx: ChaosContext): Promise<void>;
}

const restart = (component: "connect" | "kafka" | "postgres", kill: boolean) =>
  async function inject(ctx: ChaosContext): Promise<void> {
    await restartComponent(ctx.run.config, component, { kill, log: (line) => ctx.log(`  ${line}`) });
  };

/** Signed change tables made to refuse inserts: TOO_MANY_PARTS once they hold one part. */
const FAILING_TABLES = ["payment_changes", "telemetry_event_changes", "raw_telemetry_changes"];

export const SCENARIOS: readonly Scenario[] = [
  {
    name: "consumer-sigkill",
    fault: () => "SIGKILL of the consumer process while it applies chunks",
    expectedDeadLetters: 0,
    async inject(ctx) {
      await ctx.withoutConsumer(async () => {
        const child = spawnConsumer({
          env: ctx.consumerEnv,
          logFile: ctx.consumerLogFile,
          incarnation: 1,
        });
        await until(
          "the consumer process to join its group",
          async () => {
            if (child.exit) throw new Error(`the consumer process exited: ${JSON.stringify(child.exit)}`);
            const { state, members } = await groupAssignments(ctx.run, ctx.group);
            return state === "Stable" && members.length === 1 ? true : undefined;
          },
          120_000,
        );
        await sleep(4_000);
        await killConsumer(child);
      });
    },
  },
  {
    name: "connect-sigkill",
    fault: () => "SIGKILL of Kafka Connect (Debezium re-emits what it had not flushed)",
    expectedDeadLetters: 0,
    inject: restart("connect", true),
  },
  {
    name: "connect-restart",
    fault: () => "graceful restart of Kafka Connect",
    expectedDeadLetters: 0,
    inject: restart("connect", false),
  },
  {
    name: "kafka-restart",
    fault: () => "restart of the Kafka broker",
    expectedDeadLetters: 0,
    inject: restart("kafka", false),
  },
  {
    name: "postgres-restart",
    fault: () => "restart of PostgreSQL (replication and the stream's connections break)",
    expectedDeadLetters: 0,
    inject: restart("postgres", false),
  },
  {
    name: "replication-terminated",
    fault: () => "pg_terminate_backend of both replication connections",
    expectedDeadLetters: 0,
    async inject(ctx) {
      const slots = (["crm", "telemetry"] as const).map((s) => slotNameFor(ctx.run.topicPrefix, s));
      const rows = await sourceQuery<{ terminated: boolean }>(
        ctx.run,
        "crm",
        `SELECT pg_terminate_backend(active_pid) AS terminated FROM pg_replication_slots
         WHERE slot_name = ANY($1) AND active_pid IS NOT NULL`,
        [slots],
      );
      ctx.log(`  terminated ${rows.filter((r) => r.terminated).length} replication connection(s)`);
      await until(
        "both slots to be streaming again",
        async () => {
          const active = await sourceQuery<{ n: string }>(
            ctx.run,
            "crm",
            "SELECT count(*) AS n FROM pg_replication_slots WHERE slot_name = ANY($1) AND active",
            [slots],
          );
          return Number(active[0]?.n) === slots.length ? true : undefined;
        },
        180_000,
      );
    },
  },
  {
    name: "clickhouse-inserts-failing",
    fault: (quick) => `ClickHouse refuses inserts into the change tables for ${quick ? 15 : 60} s`,
    expectedDeadLetters: 0,
    async inject(ctx) {
      const { clickhouse } = ctx.consumer();
      const db = ctx.database;
      const alter = (setting: string) =>
        Promise.all(
          FAILING_TABLES.map((t) => clickhouse.command({ query: `ALTER TABLE ${db}.${t} ${setting}` })),
        );
      await alter("MODIFY SETTING parts_to_throw_insert = 1");
      try {
        await sleep(ctx.quick ? 15_000 : 60_000);
      } finally {
        await alter("RESET SETTING parts_to_throw_insert");
      }
    },
  },
  {
    name: "big-transaction",
    fault: (quick) => `one transaction inserting ${quick ? "20,000" : "100,000"} raw_telemetry rows`,
    expectedDeadLetters: 0,
    async inject(ctx) {
      const rows = ctx.quick ? 20_000 : 100_000;
      // Ids far above the stream's own, so the two never collide.
      await sourceQuery(
        ctx.run,
        "telemetry",
        `INSERT INTO raw_telemetry (sample_id, chip_id, event_time, response_time_ms, battery_level, error_code)
         SELECT 900000000000 + g, chip, timestamptz '2026-11-01 00:00:00+00' + g * interval '1 second',
                20 + g % 200, 5 + g % 90, CASE WHEN g % 17 = 0 THEN 3 ELSE 0 END
         FROM generate_series(1, $1::int) AS g,
              LATERAL (SELECT chip_id AS chip FROM raw_telemetry WHERE sample_id < 900000000000
                       ORDER BY sample_id OFFSET g % 10 LIMIT 1) AS c`,
        [rows],
      );
    },
  },
  {
    name: "registry-outage",
    fault: () =>
      "schema registry down while crm_payments gains a column (a schema to register): the CRM task fails and is restarted",
    expectedDeadLetters: 0,
    async inject(ctx) {
      await failCrmTaskOnSchemaRegistration(
        ctx.run,
        {
          column: "outage_note",
          value: "registry down",
          where: "payment_id IN (SELECT payment_id FROM crm_payments ORDER BY payment_id DESC LIMIT 20)",
        },
        (line) => ctx.log(`  ${line}`),
      );
    },
  },
  {
    name: "alter-add-column",
    fault: () => "ALTER TABLE crm_payments ADD COLUMN mid-stream, then rows using it",
    expectedDeadLetters: 0,
    async inject(ctx) {
      await sourceQuery(ctx.run, "crm", "ALTER TABLE crm_payments ADD COLUMN IF NOT EXISTS chaos_note text");
      await sourceQuery(
        ctx.run,
        "crm",
        `UPDATE crm_payments SET chaos_note = 'checked', status = 'success'
         WHERE payment_id IN (SELECT payment_id FROM crm_payments ORDER BY payment_id LIMIT 20)`,
      );
    },
  },
  {
    name: "truncate",
    fault: () => "TRUNCATE raw_telemetry (a fact table) mid-stream",
    expectedDeadLetters: 0,
    async inject(ctx) {
      await sourceQuery(ctx.run, "telemetry", "TRUNCATE raw_telemetry");
    },
  },
  {
    name: "poison",
    fault: () => "three poison records in crm_payments' topic (not framed, unknown schema, corrupt Avro)",
    expectedDeadLetters: 3,
    async inject(ctx) {
      const topic = ctx.run.topic("crm", "crm_payments");
      const framed = (id: number, body: Buffer) => {
        const header = Buffer.alloc(5);
        header.writeInt32BE(id, 1);
        return Buffer.concat([header, body]);
      };
      const schemas = await fetch(`${ctx.run.config.registryUrl}/subjects/${topic}-value/versions/latest`);
      const { id } = (await schemas.json()) as { id: number };
      const producer = ctx.run.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      try {
        await producer.send({
          topic,
          messages: [
            { key: "poison-1", value: Buffer.from("not confluent framed") },
            { key: "poison-2", value: framed(987_654_321, Buffer.from([2, 4, 6])) },
            { key: "poison-3", value: framed(id, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])) },
          ],
        });
      } finally {
        await producer.disconnect();
      }
    },
  },
];

/**
 * The CI variant: the faults no other integration test covers (consumer and Connect kills, the
 * ClickHouse outage and TRUNCATEs have tests of their own), shorter.
 */
export const QUICK_SCENARIOS = [
  "replication-terminated",
  "registry-outage",
  "big-transaction",
  "alter-add-column",
  "truncate",
  "poison",
] as const;
