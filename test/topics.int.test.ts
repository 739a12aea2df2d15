import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publishDeadLetters, type DeadLetter } from "../consumers/src/runtime/dead-letters.js";
import type { ChangeEnvelope } from "../consumers/src/envelope.js";
import { topicsDeps, type TopicsDeps } from "../scripts/topics/clients.js";
import { deadLetterJson } from "../scripts/topics/dead-letter-view.js";
import { readDeadLetters, replayDeadLetters, REPLAYED_FROM_HEADER } from "../scripts/topics/dlq.js";
import { listTopics } from "../scripts/topics/list.js";
import type { TailRecord } from "../scripts/topics/record-format.js";
import { diffSubjectVersions, listSchemas } from "../scripts/topics/schemas.js";
import { tailTopic, type TailOptions } from "../scripts/topics/tail.js";
import {
  closeCdcRun,
  collect,
  openCdcRun,
  startConnectors,
  topicRecordCount,
  waitFor,
  withAdmin,
  type CdcRun,
} from "./harness/cdc.js";
import { runCli } from "./harness/cli.js";
import { readRaw, sourceQuery } from "./harness/pipeline.js";

/**
 * The topic inspection commands (scripts/topics) on the real stack, on a run of their own: a user
 * and a subscription snapshotted by Debezium, then two payments inserted, one updated, one deleted,
 * a column added (a second schema version), dead letters published the consumers' way, one replayed.
 */
let run: CdcRun;
let deps: TopicsDeps;
let paymentsTopic: string;
/** Every payment record after this instant was written after it: what --since <time> must start at. */
let beforeChanges: Date;

const PAID = 9_100_001;
const GONE = 9_100_002;
const NOTED = 9_100_003;

beforeAll(async () => {
  run = await openCdcRun();
  deps = topicsDeps(run.config.kafkaBrokers, run.config.registryUrl);
  paymentsTopic = run.topic("crm", "crm_payments");
  await sourceQuery(
    run,
    "crm",
    `INSERT INTO crm_users (user_id, user_uuid, login, first_name, last_name, email, phone, created_at, updated_at)
     VALUES (1, '00000000-0000-4000-8000-000000000001', 'owner1', 'Ann', 'Lee', 'ann@example.com', NULL,
             '2026-10-01 09:00:00+00', '2026-10-01 09:00:00+00')`,
  );
  await sourceQuery(
    run,
    "crm",
    `INSERT INTO crm_subscriptions (subscription_id, user_id, subscription_type, start_date, end_date, is_active, monthly_cost, created_at, updated_at)
     VALUES (1, 1, 'premium', '2026-10-01', NULL, true, 2999.00, '2026-10-01 09:00:00+00', '2026-10-01 09:00:00+00')`,
  );
  await startConnectors(run);
  // The snapshot's two reads: a connector reports RUNNING (and even "Snapshot completed") before
  // its producer has written them, the first time on a fresh Connect by seconds.
  await untilRecords(run.topic("crm", "crm_users"), 1);
  await untilRecords(run.topic("crm", "crm_subscriptions"), 1);
  // The payments every test reads: two inserted, then one updated and the other deleted (5 records
  // with the delete's tombstone). Here rather than in the first test, so that a failure there does
  // not take the other tests with it.
  await insertPayment(PAID, "2999.00");
  await insertPayment(GONE, "0.10");
  await untilRecords(paymentsTopic, 2);
  beforeChanges = new Date();
  await sourceQuery(run, "crm", "UPDATE crm_payments SET status = 'success' WHERE payment_id = $1", [PAID]);
  await sourceQuery(run, "crm", "DELETE FROM crm_payments WHERE payment_id = $1", [GONE]);
  await untilRecords(paymentsTopic, 5);
}, 300_000);

afterAll(async () => {
  if (run) await closeCdcRun(run);
}, 120_000);

async function tail(options: Partial<TailOptions> & Pick<TailOptions, "target">): Promise<TailRecord[]> {
  const records: TailRecord[] = [];
  await tailTopic(deps, {
    prefix: run.topicPrefix,
    since: { kind: "earliest" },
    follow: false,
    onRecord: (r) => {
      records.push(r);
    },
    ...options,
  });
  return records;
}

async function untilRecords(topic: string, count: number): Promise<void> {
  // waitFor rather than expect.poll, which only works inside a test: beforeAll waits with it too.
  await waitFor(
    `exactly ${count} record(s) on ${topic}`,
    async () => ((await topicRecordCount(run, topic)) === count ? true : undefined),
    60_000,
  );
}

function insertPayment(id: number, amount: string): Promise<unknown> {
  return sourceQuery(
    run,
    "crm",
    `INSERT INTO crm_payments (payment_id, user_id, subscription_id, payment_date, amount, payment_method, status, description, created_at)
     VALUES ($1, 1, 1, '2026-10-15 10:30:00+00', $2, 'card', 'pending', 'topics test', '2026-10-15 10:30:01+00')`,
    [id, amount],
  );
}

const payment = (id: number, amount: string, status: string) => ({
  payment_id: id,
  user_id: 1,
  subscription_id: 1,
  payment_date: "2026-10-15T10:30:00.000000Z",
  amount,
  payment_method: "card",
  status,
  description: "topics test",
  created_at: "2026-10-15T10:30:01.000000Z",
});

/** lsn and commit time of each record, as the harness' own decoder reads them. */
async function sourcePositions(
  topic: string,
  count: number,
): Promise<Map<string, { lsn: string; commitTime: string }>> {
  const records = await collect(run, [topic], (rs) => rs.length >= count);
  return new Map(
    records
      .filter((r) => r.value !== null)
      .map((r) => {
        const source = (r.value as ChangeEnvelope).source;
        return [
          r.offset,
          { lsn: String(source.lsn), commitTime: new Date(Number(source.ts_ms)).toISOString() },
        ];
      }),
  );
}

const cli = (args: string[]) => runCli(args, { TOPIC_PREFIX: run.topicPrefix });

describe("topics", () => {
  it("tail decodes snapshot reads, inserts, updates, deletes and tombstones exactly, with every filter", async () => {
    const subscriptions = await tail({ target: "crm.subscriptions" });
    expect(subscriptions).toEqual([
      expect.objectContaining({
        topic: run.topic("crm", "crm_subscriptions"),
        partition: 0,
        offset: "0",
        op: "r",
        key: { subscription_id: 1 },
        before: null,
        after: {
          subscription_id: 1,
          user_id: 1,
          subscription_type: "premium",
          start_date: Date.UTC(2026, 9, 1) / 86_400_000,
          end_date: null,
          is_active: true,
          monthly_cost: "2999.00",
          created_at: "2026-10-01T09:00:00.000000Z",
          updated_at: "2026-10-01T09:00:00.000000Z",
        },
      }),
    ]);

    const source = await sourcePositions(paymentsTopic, 5);
    const at = (offset: string) => source.get(offset) as { lsn: string; commitTime: string };
    const base = { topic: paymentsTopic, partition: 0 };
    const expected: TailRecord[] = [
      {
        ...base,
        offset: "0",
        op: "c",
        key: { payment_id: PAID },
        before: null,
        after: payment(PAID, "2999.00", "pending"),
        ...at("0"),
      },
      {
        ...base,
        offset: "1",
        op: "c",
        key: { payment_id: GONE },
        before: null,
        after: payment(GONE, "0.10", "pending"),
        ...at("1"),
      },
      {
        ...base,
        offset: "2",
        op: "u",
        key: { payment_id: PAID },
        before: payment(PAID, "2999.00", "pending"),
        after: payment(PAID, "2999.00", "success"),
        ...at("2"),
      },
      {
        ...base,
        offset: "3",
        op: "d",
        key: { payment_id: GONE },
        before: payment(GONE, "0.10", "pending"),
        after: null,
        ...at("3"),
      },
      {
        ...base,
        offset: "4",
        op: null,
        key: { payment_id: GONE },
        before: null,
        after: null,
        lsn: null,
        commitTime: null,
        tombstone: true,
      },
    ];
    for (const { commitTime } of source.values()) {
      expect(Date.parse(commitTime)).toBeGreaterThan(Date.now() - 120_000);
    }

    expect(await tail({ target: "payments" })).toEqual(expected);
    expect(await tail({ target: paymentsTopic, op: "u" })).toEqual([expected[2]]);
    expect(await tail({ target: "crm_payments", key: { kind: "value", value: String(GONE) } })).toEqual([
      expected[1],
      expected[3],
      expected[4],
    ]);
    expect(
      await tail({
        target: "payments",
        key: { kind: "fields", fields: { payment_id: String(PAID) } },
        op: "c",
      }),
    ).toEqual([expected[0]]);
    expect(await tail({ target: "payments", since: { kind: "offset", offset: 3n } })).toEqual(
      expected.slice(3),
    );
    expect(await tail({ target: "payments", since: { kind: "time", ms: beforeChanges.getTime() } })).toEqual(
      expected.slice(2),
    );
    expect(await tail({ target: "payments", since: { kind: "latest" } })).toEqual([]);
    expect(await tail({ target: "payments", limit: 2 })).toEqual(expected.slice(0, 2));

    // The CLI itself: JSON lines on stdout, a summary on stderr, exit 0; usage and lookup errors.
    const shown = await cli(["topics", "tail", "crm.payments", "--op", "u", "--json"]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(
      shown.stdout
        .trimEnd()
        .split("\n")
        .map((line) => JSON.parse(line) as unknown),
    ).toEqual([expected[2]]);
    expect(shown.stderr).toContain(`${paymentsTopic} (p0 0..5): 1 record(s) shown of 5 read`);
    const usage = await cli(["topics", "tail", "payments", "--since", "2026-12-04T10:00:00"]);
    expect(usage.code).toBe(2);
    const missing = await cli(["topics", "tail", "crm.invoices"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("error [TOPIC_NOT_FOUND]");
  }, 180_000);

  it("list shows partitions, end offsets, retention and each group's committed offset and lag", async () => {
    const group = `topics-lag-${run.runId}`;
    await withAdmin(run, (admin) =>
      admin.setOffsets({ groupId: group, topic: paymentsTopic, partitions: [{ partition: 0, offset: "2" }] }),
    );
    const listing = await listTopics(deps, { prefix: `${run.topicPrefix}.` });
    const tables = [
      "crm_payments",
      "crm_prosthetics",
      "crm_subscriptions",
      "crm_support_tickets",
      "crm_users",
      "debezium_heartbeat",
    ];
    expect(listing.topics.map((t) => t.topic)).toEqual(
      [
        `__debezium-heartbeat.${run.topicPrefix}.crm`,
        `__debezium-heartbeat.${run.topicPrefix}.telemetry`,
        ...tables.map((t) => run.topic("crm", t)),
        ...["battery_metrics", "debezium_heartbeat", "raw_telemetry", "telemetry_events"].map((t) =>
          run.topic("telemetry", t),
        ),
      ].sort(),
    );
    expect(listing.topics.find((t) => t.topic === paymentsTopic)).toEqual({
      topic: paymentsTopic,
      cleanupPolicy: "delete",
      retentionMs: String(run.config.factRetentionMs),
      partitions: [{ partition: 0, low: "0", high: "5" }],
    });
    expect(
      listing.topics.find((t) => t.topic === run.topic("crm", "debezium_heartbeat"))?.cleanupPolicy,
    ).toBe("compact");
    expect(listing.lag.filter((l) => l.group === group)).toEqual([
      { group, topic: paymentsTopic, partition: 0, committed: "2", end: "5", lag: "3" },
    ]);
    // The readers of tail leave no group behind.
    const groups = await withAdmin(run, (admin) => admin.listGroups());
    expect(groups.groups.filter((g) => g.groupId.startsWith("bionicpro-topics-"))).toEqual([]);
  }, 60_000);

  it("schemas lists subject versions with their ids and diffs two versions field by field", async () => {
    const subject = `${paymentsTopic}-value`;
    const [first] = await readRaw(run, paymentsTopic, 1);
    const firstId = (first?.value as Buffer).readInt32BE(1);
    const before = await listSchemas(run.config.registryUrl, { prefix: `${run.topicPrefix}.` });
    expect(before.find((s) => s.subject === subject)).toEqual({
      subject,
      versions: [{ version: 1, id: firstId }],
    });
    expect(before.map((s) => s.subject)).toContain(`${paymentsTopic}-key`);

    await sourceQuery(run, "crm", "ALTER TABLE crm_payments ADD COLUMN note text");
    await insertPayment(NOTED, "5.00");
    await sourceQuery(run, "crm", "UPDATE crm_payments SET note = 'after the change' WHERE payment_id = $1", [
      NOTED,
    ]);
    await untilRecords(paymentsTopic, 7);
    const raw = await readRaw(run, paymentsTopic, 7);
    const secondId = (raw.find((r) => r.offset === "6")?.value as Buffer).readInt32BE(1);
    expect(secondId).not.toBe(firstId);

    expect(await listSchemas(run.config.registryUrl, { prefix: "", subject })).toEqual([
      {
        subject,
        versions: [
          { version: 1, id: firstId },
          { version: 2, id: secondId },
        ],
      },
    ]);
    expect(await diffSubjectVersions(run.config.registryUrl, subject, 1, "latest")).toEqual({
      subject,
      from: { version: 1, id: firstId },
      to: { version: 2, id: secondId },
      changes: [
        {
          change: "added",
          field: "Value.note",
          to: { field: "Value.note", type: "null | string", default: "null" },
        },
      ],
    });
    const [noted] = await tail({ target: "payments", since: { kind: "offset", offset: 6n } });
    expect(noted?.after).toEqual({ ...payment(NOTED, "5.00", "pending"), note: "after the change" });
  }, 120_000);

  it("dlq shows dead letters with reason, source and byte previews, and replays one to its source topic", async () => {
    const dlqTopic = `${run.topicPrefix}.dlq`;
    expect(await readDeadLetters(deps, dlqTopic)).toEqual({ topic: dlqTopic, exists: false, letters: [] });
    await withAdmin(run, (admin) =>
      admin.createTopics({ topics: [{ topic: dlqTopic, numPartitions: 1 }], waitForLeaders: true }),
    );
    const [original] = await readRaw(run, paymentsTopic, 1);
    const garbage = Buffer.from("\u0007 definitely not Avro \u00ff\u00fe", "latin1");
    const poison: DeadLetter = {
      code: "DECODE_NOT_CONFLUENT_FORMAT",
      reason: "not Confluent wire format",
      topic: paymentsTopic,
      partition: 0,
      offset: "99",
      key: Buffer.from("poison-a"),
      value: garbage,
    };
    // A good record refused while the registry had lost its schema: replayable once that is fixed.
    // Its own headers (Debezium's, if any, and two a producer set, one repeated) go back with it.
    const ownHeaders = { ...original?.headers, "trace-id": "replay-test-1", hop: ["a", "b"] };
    const refused: DeadLetter = {
      code: "DECODE_UNKNOWN_SCHEMA",
      reason: "schema id 4 is unknown to the registry (404)",
      topic: paymentsTopic,
      partition: 0,
      offset: "0",
      key: original?.key as Buffer,
      value: original?.value as Buffer,
      headers: ownHeaders,
    };
    const producer = run.kafka.producer();
    await producer.connect();
    try {
      await publishDeadLetters(producer, dlqTopic, [poison, refused]);
      await publishDeadLetters(producer, dlqTopic, [refused]); // a redone chunk publishes its letters again
    } finally {
      await producer.disconnect();
    }

    const { exists, letters } = await readDeadLetters(deps, dlqTopic);
    expect(exists).toBe(true);
    expect(letters.map(deadLetterJson)).toEqual([
      {
        partition: 0,
        offset: "0",
        code: "DECODE_NOT_CONFLUENT_FORMAT",
        reason: "not Confluent wire format",
        source: { topic: paymentsTopic, partition: 0, offset: "99" },
        copies: 0,
        key: { bytes: 8, base64: "cG9pc29uLWE=" },
        value: {
          bytes: 24,
          hex: "07 20 64 65 66 69 6e 69 74 65 6c 79 20 6e 6f 74 20 41 76 72 6f 20 ff fe",
          base64: "ByBkZWZpbml0ZWx5IG5vdCBBdnJvIP/+",
        },
        headers: {},
      },
      {
        partition: 0,
        offset: "1",
        code: "DECODE_UNKNOWN_SCHEMA",
        reason: "schema id 4 is unknown to the registry (404)",
        source: { topic: paymentsTopic, partition: 0, offset: "0" },
        copies: 1,
        key: { bytes: original?.key?.length, base64: original?.key?.toString("base64") },
        value: {
          bytes: original?.value?.length,
          hex:
            [...(original?.value as Buffer).subarray(0, 64)]
              .map((b) => b.toString(16).padStart(2, "0"))
              .join(" ") +
            ((original?.value as Buffer).length > 64
              ? ` … (+${(original?.value as Buffer).length - 64} bytes)`
              : ""),
          base64: original?.value?.toString("base64"),
        },
        headers: {
          ...Object.fromEntries(
            Object.entries(original?.headers ?? {}).map(([k, v]) => [k, Buffer.from(v).toString("base64")]),
          ),
          "trace-id": "cmVwbGF5LXRlc3QtMQ==",
          hop: ["YQ==", "Yg=="],
        },
      },
    ]);

    const usage = await cli(["topics", "dlq", "--replay"]);
    expect(usage.code).toBe(2);
    await expect(replayDeadLetters(deps, dlqTopic, [{ partition: 0, offset: "7" }])).rejects.toMatchObject({
      code: "DEAD_LETTER_NOT_FOUND",
    });

    // A follower started before the replay sees the replayed record arrive. It starts at the end offset
    // of now, given explicitly: with `latest`, a follower slow to resolve it (a loaded host) started
    // after the replayed record and waited forever.
    expect(await topicRecordCount(run, paymentsTopic)).toBe(7);
    const following = tail({
      target: "payments",
      since: { kind: "offset", offset: 7n },
      follow: true,
      limit: 1,
    });
    const replayed = await replayDeadLetters(deps, dlqTopic, [{ partition: 0, offset: "1" }]);
    expect(replayed).toEqual([
      {
        from: { partition: 0, offset: "1" },
        to: { topic: paymentsTopic, partition: 0, offset: "7" },
        keyBytes: original?.key?.length,
        valueBytes: original?.value?.length,
      },
    ]);
    const copy = (await readRaw(run, paymentsTopic, 8)).find((r) => r.offset === "7");
    expect(copy?.key?.equals(original?.key as Buffer)).toBe(true);
    expect(copy?.value?.equals(original?.value as Buffer)).toBe(true);
    // The original key and headers, exactly (readRaw joins a repeated header's values with ",").
    expect(copy?.headers).toEqual({
      ...original?.headers,
      "trace-id": "replay-test-1",
      hop: "a,b",
      [REPLAYED_FROM_HEADER]: `${dlqTopic}:0:1`,
    });
    const [first] = await tail({ target: "payments", limit: 1 });
    expect(await tail({ target: "payments", since: { kind: "offset", offset: 7n } })).toEqual([
      { ...first, offset: "7" },
    ]);
    expect(await following).toEqual([{ ...first, offset: "7" }]);
  }, 120_000);
});
