import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatReconcileResult } from "../consumers/src/reconcile/index.js";
import { collect } from "./harness/cdc.js";
import {
  assertHealthy,
  insertTestPayment,
  openPipelineRun,
  readRaw,
  reconcileRun,
  sourceQuery,
  waitForDrain,
  type PipelineRun,
  type RawRecord,
  type TestPipeline,
} from "./harness/pipeline.js";

/**
 * Poison records in a real source topic: bytes that are not Confluent-framed Avro, a framed
 * record whose schema id the registry does not know, and a known schema id with a truncated body. Each goes to the dead-letter topic unchanged,
 * with why and where it came from, while the real changes around it (same partition, before and
 * after) are applied: the pipeline carries on.
 */
let ctx: PipelineRun;
let marts: TestPipeline;

const PAYMENT = 9_500_001;
const GONE = 9_500_002;

const notFramed = Buffer.from("\u0007 definitely not Avro \u00ff\u00fe", "latin1");
const unknownSchema = Buffer.concat([
  Buffer.from([0]),
  (() => {
    const id = Buffer.alloc(4);
    id.writeInt32BE(999_999);
    return id;
  })(),
  Buffer.from([0x02, 0x06, 0x66, 0x6f, 0x6f, 0xde, 0xad, 0xbe, 0xef]),
]);

beforeAll(async () => {
  ctx = await openPipelineRun({ telemetryDensity: 0.02, seed: 3 });
  marts = await ctx.startPipeline("marts");
}, 300_000);

afterAll(async () => {
  await ctx?.close();
}, 120_000);

async function insertPayment(id: number, status: string): Promise<void> {
  await insertTestPayment(ctx.run, {
    id,
    status,
    amount: "1234.56",
    description: "dlq test",
    paidAt: "2026-10-15 10:30:00+00",
    createdAt: "2026-10-15 10:30:01+00",
  });
}

describe("dead letters", () => {
  it("garbage, unknown-schema and truncated-Avro records land in the DLQ with code, reason, source and their raw bytes; the changes around them are applied", async () => {
    const { run, config, clickhouse, database } = ctx;
    const topic = run.topic("crm", "crm_payments");
    await waitForDrain(run, config.group, { pipelines: [marts] });

    // Real changes before the poison: a payment that will be updated after it, one that will be deleted.
    await insertPayment(PAYMENT, "pending");
    await insertPayment(GONE, "pending");
    const before = await collect(run, [topic], (rs) => rs.some((r) => r.key?.payment_id === PAYMENT));
    const partition = before.find((r) => r.key?.payment_id === PAYMENT)?.partition ?? 0;

    // A framed record with a known schema id (a real record's) and a truncated body.
    const [real] = await readRaw(run, topic, 1);
    const badAvro = Buffer.concat([(real?.value as Buffer).subarray(0, 5), Buffer.from([0x02])]);

    // The poison goes into the partition of that payment, between its insert and its update.
    const producer = run.kafka.producer();
    await producer.connect();
    const poison: { key: Buffer; value: Buffer; offset: string; code: string; reason: RegExp }[] = [];
    try {
      for (const [key, value, code, reason] of [
        [Buffer.from("poison-a"), notFramed, "DECODE_NOT_CONFLUENT_FORMAT", /not Confluent wire format/],
        [Buffer.from("poison-b"), unknownSchema, "DECODE_UNKNOWN_SCHEMA", /schema id 999999 is unknown/],
        [Buffer.from("poison-c"), badAvro, "DECODE_BAD_AVRO", /Avro body does not match schema \d+/],
      ] as const) {
        // A header of the record's own: the dead letter keeps it (dlq.source.header.<name>).
        const headers = { "trace-id": `trace-${key.toString()}` };
        const [meta] = await producer.send({
          topic,
          acks: -1,
          messages: [{ partition, key, value, headers }],
        });
        poison.push({ key, value, offset: String(meta?.baseOffset), code, reason });
      }
    } finally {
      await producer.disconnect();
    }

    // Real changes after the poison, on the same key (so the same partition) and another one.
    await sourceQuery(run, "crm", "UPDATE crm_payments SET status = 'success' WHERE payment_id = $1", [
      PAYMENT,
    ]);
    await sourceQuery(run, "crm", "DELETE FROM crm_payments WHERE payment_id = $1", [GONE]);
    await waitForDrain(run, config.group, { pipelines: [marts] });

    assertHealthy([marts]);
    expect(marts.pipeline.stats.deadLetters).toBe(poison.length);

    const letters = await readRaw(run, config.dlqTopic, poison.length);
    expect(letters).toHaveLength(poison.length);
    const byKey = new Map<string, RawRecord>(letters.map((l) => [l.key?.toString() ?? "", l]));
    for (const p of poison) {
      const letter = byKey.get(`${topic}:${partition}:${p.offset}`);
      expect(letter, `dead letter for offset ${p.offset}`).toBeDefined();
      // The raw bytes are unchanged, the original key and headers are kept in headers.
      expect(letter?.value?.equals(p.value)).toBe(true);
      expect(letter?.headers).toMatchObject({
        "dlq.code": p.code,
        "dlq.source.topic": topic,
        "dlq.source.partition": String(partition),
        "dlq.source.offset": p.offset,
        "dlq.source.key": p.key.toString(),
        "dlq.source.header.trace-id": `trace-${p.key.toString()}`,
      });
      expect(letter?.headers["dlq.reason"]).toMatch(p.reason);
    }

    // The payment's insert (before) and update (after) are in ClickHouse; the deleted one nets out.
    const result = await clickhouse.query({
      query: `SELECT payment_id, toString(status) AS status, toString(amount) AS amount, toInt32(sum(sign)) AS n
              FROM ${database}.payment_changes WHERE payment_id IN ({ids:Array(Int32)})
              GROUP BY payment_id, status, amount HAVING n != 0 ORDER BY payment_id`,
      query_params: { ids: [PAYMENT, GONE] },
      format: "JSONEachRow",
    });
    expect(await result.json()).toEqual([
      { payment_id: PAYMENT, status: "success", amount: "1234.56", n: 1 },
    ]);

    const reconciled = await reconcileRun(run, clickhouse, database);
    expect(reconciled.differenceCount, formatReconcileResult(reconciled)).toBe(0);
    expect(reconciled.ok).toBe(true);
  }, 300_000);
});
