import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dataTopics, sourceTopics } from "../consumers/src/runtime/pipeline.js";
import { formatReconcileResult } from "../consumers/src/reconcile/index.js";
import { ConsumerError } from "../consumers/src/errors.js";
import { RecordDecoder } from "../consumers/src/runtime/decode.js";
import { simulate } from "../scripts/simulate/index.js";
import { topicRecordCount, withAdmin } from "./harness/cdc.js";
import {
  assertHealthy,
  consumerLag,
  endOffsets,
  totalLag,
  groupAssignments,
  openPipelineRun,
  reconcileRun,
  sourceQuery,
  waitForDrain,
  type GroupMember,
  type PipelineRun,
  type TestPipeline,
  until,
  priorityAssigner,
  insertTestPayment,
} from "./harness/pipeline.js";

/**
 * Two consumer instances of one group in this process: each has its own Kafka client, both write
 * through the same embedded ClickHouse client (one data directory per process). They split the
 * partitions; one is stopped while the sources are changing, the survivor takes its partitions over
 * (resuming from ClickHouse's progress) and the marts end up equal to the oracle.
 */
let ctx: PipelineRun;
let a: TestPipeline;
let b: TestPipeline;

beforeAll(async () => {
  ctx = await openPipelineRun({ telemetryDensity: 0.05, seed: 21 });
}, 300_000);

afterAll(async () => {
  await ctx?.close();
}, 120_000);

/** The group member of an instance (its Kafka client id is `<name>-<runId>`). */
const owner = (members: GroupMember[], p: TestPipeline): GroupMember | undefined =>
  members.find((m) => m.clientId === `${p.name}-${ctx.run.runId}`);

describe("rebalance", () => {
  it("two consumer instances in one group split the partitions, and stopping one mid-stream (a rebalance) still ends with zero differences", async () => {
    const { run, config, clickhouse, database } = ctx;
    const all = [...(await endOffsets(run, sourceTopics(run.topicPrefix))).keys()].sort();
    expect(all.length).toBeGreaterThanOrEqual(2);

    a = await ctx.startPipeline("a");
    b = await ctx.startPipeline("b");

    // Both members hold a share: disjoint, together every partition.
    const split = await until(
      "a stable group of two members that share every partition",
      async () => {
        assertHealthy([a, b]);
        const group = await groupAssignments(run, config.group);
        const [ma, mb] = [owner(group.members, a), owner(group.members, b)];
        if (group.state !== "Stable" || group.members.length !== 2 || !ma || !mb) return undefined;
        if (ma.partitions.length === 0 || mb.partitions.length === 0) return undefined;
        return { a: ma.partitions, b: mb.partitions };
      },
      120_000,
    );
    console.log(`split: a ${split.a.length} partitions, b ${split.b.length} partitions`);
    expect(split.a.filter((p) => split.b.includes(p))).toEqual([]);
    expect([...split.a, ...split.b].sort()).toEqual(all);

    // The sources change while both consume; `a` leaves mid-stream. The stream runs until the test
    // has seen what it needs (a's former partitions growing after b took them over), not for a fixed
    // budget that a slow host could use up before `a` has stopped.
    const streamControl = new AbortController();
    const stream = simulate({ ...run.dbs, rate: 2_000, seed: 99, signal: streamControl.signal });
    try {
      // Both members apply changes of the stream (the snapshot's chunks counted before it began).
      const snapshotRecords = [a.pipeline.stats.records, b.pipeline.stats.records];
      await until(
        "a and b each applying changes of the stream",
        async () => {
          assertHealthy([a, b]);
          return a.pipeline.stats.records > (snapshotRecords[0] as number) &&
            b.pipeline.stats.records > (snapshotRecords[1] as number)
            ? true
            : undefined;
        },
        60_000,
      );
      const aRecords = a.pipeline.stats.records;
      const bRecords = b.pipeline.stats.records;
      await a.stop();
      console.log(`a stopped after ${aRecords} records (b ${bRecords} so far)`);

      // The survivor owns everything.
      await until(
        "b alone holding every partition",
        async () => {
          assertHealthy([b]);
          const group = await groupAssignments(run, config.group);
          const mb = owner(group.members, b);
          return group.state === "Stable" &&
            group.members.length === 1 &&
            mb?.partitions.length === all.length
            ? true
            : undefined;
        },
        120_000,
      );

      // Records keep arriving in a's former data partitions after b took them over.
      const endsAtTakeover = await endOffsets(run);
      const grownInA = await until(
        "a data partition of a's growing after b took it over",
        async () => {
          const endsNow = await endOffsets(run);
          const grown = split.a.filter(
            (p) =>
              !p.includes("debezium_heartbeat") && (endsNow.get(p) ?? 0n) > (endsAtTakeover.get(p) ?? 0n),
          );
          return grown.length > 0 ? grown : undefined;
        },
        60_000,
      );
      console.log(`a's data partitions grown after the takeover: ${grownInA.join(", ")}`);
      expect(b.pipeline.stats.records).toBeGreaterThan(bRecords);
    } finally {
      streamControl.abort();
    }
    const summary = await stream;
    expect(summary.total).toBeGreaterThan(0);
    // The drain means b applied everything, a's former partitions included.
    await waitForDrain(run, config.group, { pipelines: [b], timeoutMs: 180_000 });
    assertHealthy([a, b]);

    const result = await reconcileRun(run, clickhouse, database);
    expect(result.differenceCount, formatReconcileResult(result)).toBe(0);
    expect(result.ok).toBe(true);
  }, 300_000);

  // Regression test: MartsPipeline.stop() once left the group before waiting for the chunks in
  // flight, and the reconcile below found the stopped instance's chunk applied a second time (one
  // telemetry event counted twice). stop() now waits for `idle()` before `consumer.disconnect()`.
  it("stopping an instance while a timer-flushed chunk is still being decoded does not apply that chunk twice", async (test) => {
    // `keeper` alone owns every partition. `c` joins with a decoder that can be made
    // slow (registry latency, a large chunk); while it decodes a chunk, it is stopped. Had `stop()`
    // disconnected first, the group would move the partition to `keeper`, which reads ClickHouse's
    // progress (no intent yet) while that chunk still records its intent and inserts.
    const { run, config, clickhouse, database } = ctx;
    // The survivor of the first test, or a fresh instance when this test runs alone.
    const keeper = b && !b.pipeline.error ? b : await ctx.startPipeline("keeper");
    const decoder = new SlowDecoder(config.registryUrl);
    const c = await ctx.startPipeline("c", { decoder });
    const cPartitions = await until(
      "c holding a share of the partitions",
      async () => {
        assertHealthy([keeper, c]);
        const group = await groupAssignments(run, config.group);
        const mc = owner(group.members, c);
        return group.state === "Stable" && group.members.length === 2 && mc?.partitions.length
          ? mc.partitions
          : undefined;
      },
      120_000,
    );
    await waitForDrain(run, config.group, { pipelines: [keeper, c], timeoutMs: 100_000 });
    const payments = run.topic("crm", "crm_payments");
    const events = run.topic("telemetry", "telemetry_events");
    const target = cPartitions.find((p) => p.startsWith(`${payments}:`) || p.startsWith(`${events}:`));
    expect(target, `c owns crm_payments or telemetry_events (${cPartitions.join(", ")})`).toBeDefined();
    const topic = (target as string).slice(0, (target as string).lastIndexOf(":"));
    // With several partitions per topic the changed row's partition may not be c's.
    if ((await endOffsets(run, [topic])).size !== 1) test.skip("needs one partition per CDC topic");
    const before = await topicRecordCount(run, topic);

    // Change 1: c takes it into a chunk of its own and decodes it slowly.
    decoder.ids = [BigInt(PAYMENT), EVENT];
    decoder.delayMs = 8_000;
    const change = topic === payments ? paymentChange : eventChange;
    await change(ctx, "insert");
    await until("c decoding the change", async () => (decoder.entered.has(topic) ? true : undefined), 30_000);
    // `c` is told to stop (SIGTERM) while that chunk is in flight, and the row changes again: `keeper`
    // takes the partition over and reads both changes, a longer range than c's chunk.
    const stopping = c.stop();
    await change(ctx, "update");
    await until(
      "the second change in Kafka",
      async () => ((await topicRecordCount(run, topic)) >= before + 2 ? true : undefined),
      30_000,
    );
    await stopping;
    decoder.delayMs = 0;

    await waitForDrain(run, config.group, { pipelines: [keeper] });
    assertHealthy([keeper, c]);
    const result = await reconcileRun(run, clickhouse, database);
    expect(result.differenceCount, formatReconcileResult(result)).toBe(0);
  }, 240_000);

  // Regression test for the fence (partition_claims, migration 009). Without it, a member that loses
  // a partition in a rebalance while one of its timer-flushed chunks is still being decoded records
  // that chunk's intent and inserts it after the new owner has read the partition's progress and cut
  // a longer chunk over the same offsets: the change counted twice.
  it("a member that loses a partition in a rebalance while its chunk is in flight inserts nothing from it", async () => {
    const { run, config, clickhouse, database } = ctx;
    // The group's assigner changes: earlier members (round robin) leave first.
    await Promise.all(ctx.pipelines.map((p) => p.stop()));
    const decoder = new SlowDecoder(config.registryUrl);
    const c = await ctx.startPipeline("c2", { decoder, partitionAssigners: [priorityAssigner(2)] });
    const all = [...(await endOffsets(run, sourceTopics(run.topicPrefix))).keys()].sort();
    await until(
      "c2 holding every partition",
      async () => {
        assertHealthy([c]);
        const group = await groupAssignments(run, config.group);
        return group.state === "Stable" && owner(group.members, c)?.partitions.length === all.length
          ? true
          : undefined;
      },
      120_000,
    );
    await waitForDrain(run, config.group, { pipelines: [c] });
    const topic = run.topic("crm", "crm_payments");
    const before = await topicRecordCount(run, topic);

    // c2 takes the insert into a chunk of its own (a timer flush) and its decode waits until released:
    // d joins, re-reads the window before its resume positions (docs/consumers.md) and applies both
    // changes meanwhile, however long that takes on the host.
    decoder.ids = [9_700_002n];
    decoder.hold();
    await paymentChange(ctx, "insert", 9_700_002);
    await until(
      "c2 decoding the change",
      async () => (decoder.entered.has(topic) ? true : undefined),
      30_000,
    );

    // d joins with a higher priority: the rebalance moves every partition to d, while c2 stays in the
    // group. d claims the partitions and reads their progress: c2's chunk has no intent yet.
    const d = await ctx.startPipeline("d", { partitionAssigners: [priorityAssigner(3)] });
    await until(
      "d holding every partition",
      async () => {
        assertHealthy([c, d]);
        const group = await groupAssignments(run, config.group);
        return group.state === "Stable" && owner(group.members, d)?.partitions.length === all.length
          ? true
          : undefined;
      },
      60_000,
    );
    // d reads both changes, a longer range than c2's chunk.
    await paymentChange(ctx, "update", 9_700_002);
    await until(
      "the second change in Kafka",
      async () => ((await topicRecordCount(run, topic)) >= before + 2 ? true : undefined),
      30_000,
    );
    await waitForDrain(run, config.group, { pipelines: [d] });
    expect(decoder.waiting, "c2's decode still waits: the race is exercised").toBe(1);
    const fenced = `${topic}:0 was claimed by another member`;
    // stop() waits for c2's chunk in flight: it ends its decode, records its intent, then meets d's
    // claim (or, without the fence, inserts).
    const stopping = c.stop();
    decoder.release();
    await stopping;

    assertHealthy([c, d]);
    const result = await reconcileRun(run, clickhouse, database);
    expect(result.differenceCount, formatReconcileResult(result)).toBe(0);
    expect(c.log.lines.filter((l) => l.includes(fenced))).toHaveLength(1);
  }, 240_000);
});

describe("restart", () => {
  it("a member whose group offsets lag ClickHouse's progress (a kill between `applied` and the offset commit) commits the position: lag reaches zero on idle topics, nothing applied twice", async () => {
    const { run, config, clickhouse, database } = ctx;
    await Promise.all(ctx.pipelines.map((p) => p.stop()));
    // Everything applied in ClickHouse (also when this test runs alone), then the group is empty.
    const applier = await ctx.startPipeline("applier");
    await waitForDrain(run, config.group, { pipelines: [applier] });
    await applier.stop();
    // The data topics stay idle from here on; heartbeat topics keep growing and commit anyway.
    const idle = dataTopics(run.topicPrefix);
    const ends = await endOffsets(run, idle);
    // The group's committed offsets back to 0: every record is applied in ClickHouse, none committed.
    await withAdmin(run, async (admin) => {
      for (const topic of idle) {
        const partitions = [...ends.keys()]
          .filter((k) => k.startsWith(`${topic}:`))
          .map((k) => ({ partition: Number(k.slice(topic.length + 1)), offset: "0" }));
        await admin.setOffsets({ groupId: config.group, topic, partitions });
      }
    });
    expect(totalLag(await consumerLag(run, config.group, idle))).toBe(
      [...ends.values()].reduce((n, end) => n + Number(end), 0),
    );

    const e = await ctx.startPipeline("e");
    await until(
      "the group's lag on the idle data topics at zero",
      async () => {
        assertHealthy([e]);
        return totalLag(await consumerLag(run, config.group, idle)) === 0 ? true : undefined;
      },
      60_000,
    );
    const result = await reconcileRun(run, clickhouse, database);
    expect(result.differenceCount, formatReconcileResult(result)).toBe(0);
  }, 180_000);
});

/**
 * A record decoder that, after decoding a chunk with a change of a payment or event whose id is in `ids`, waits
 * `delayMs` or, while held, until released; it notes their topics. Only those rows: a member
 * (re)assigned a partition also decodes the records before its resume position (the re-emission
 * window), earlier tests' changes among them.
 */
class SlowDecoder extends RecordDecoder {
  delayMs = 0;
  ids: bigint[] = [];
  readonly entered = new Set<string>();
  /** Decodes waiting for release(). */
  waiting = 0;
  private gate: Promise<void> | null = null;
  private open: () => void = () => undefined;

  hold(): void {
    this.gate = new Promise((resolve) => {
      this.open = resolve;
    });
  }

  release(): void {
    this.gate = null;
    this.open();
  }

  override async openChunk(buffers: Iterable<Buffer | null>) {
    const read = await super.openChunk(buffers);
    for (const buffer of buffers) {
      const envelope = read(buffer);
      if (envelope === null || envelope instanceof ConsumerError) continue;
      const table = envelope.source.table;
      const row = envelope.after ?? envelope.before;
      const id = row?.payment_id ?? row?.event_id;
      const slow = id !== undefined && id !== null && this.ids.includes(BigInt(String(id)));
      if (
        (this.delayMs > 0 || this.gate) &&
        (table === "crm_payments" || table === "telemetry_events") &&
        slow
      ) {
        this.entered.add(ctx.run.topic(table === "crm_payments" ? "crm" : "telemetry", table));
        if (this.gate) {
          this.waiting += 1;
          await this.gate.finally(() => (this.waiting -= 1));
        } else {
          await sleep(this.delayMs);
        }
      }
    }
    return read;
  }
}

const PAYMENT = 9_700_001;
const EVENT = 9_700_000_001n;

async function paymentChange(
  run: PipelineRun,
  step: "insert" | "update",
  paymentId: number = PAYMENT,
): Promise<void> {
  if (step === "insert") {
    await insertTestPayment(run.run, {
      id: paymentId,
      status: "pending",
      amount: "777.00",
      description: "rebalance test",
      paidAt: "2026-10-20 08:00:00+00",
      createdAt: "2026-10-20 08:00:01+00",
    });
  } else {
    await sourceQuery(run.run, "crm", "UPDATE crm_payments SET status = 'success' WHERE payment_id = $1", [
      paymentId,
    ]);
  }
}

async function eventChange(run: PipelineRun, step: "insert" | "update"): Promise<void> {
  if (step === "insert") {
    await sourceQuery(
      run.run,
      "telemetry",
      `INSERT INTO telemetry_events (event_id, prosthetic_id, event_type, event_timestamp, event_value, severity, created_at)
       VALUES ($1, 1, 'error', '2026-10-20 08:00:00+00', 'motor_fault', 'error', '2026-10-20 08:00:00+00')`,
      [EVENT.toString()],
    );
  } else {
    await sourceQuery(
      run.run,
      "telemetry",
      "UPDATE telemetry_events SET severity = 'critical', event_type = 'critical_fault' WHERE event_id = $1",
      [EVENT.toString()],
    );
  }
}
