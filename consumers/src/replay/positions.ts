import type { ClickHouseClient } from "@clickhouse/client";
import type { Admin } from "kafkajs";
import { readProgress } from "../sink/pipeline-state.js";
import { ReplayError } from "./errors.js";
import type { PartitionSpan } from "./run-state.js";

/** Where a replay starts: every record Kafka holds, or the first at or after a time. */
export type ReplayFrom = { kind: "earliest" } | { kind: "time"; at: Date };

export function parseFrom(value: string | undefined): ReplayFrom {
  if (value === undefined || value === "earliest") return { kind: "earliest" };
  const at = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(at.getTime())) {
    throw new ReplayError(
      "REPLAY_BAD_FROM",
      `--from "${value}": expected earliest or an ISO time such as 2026-11-01T00:00:00Z`,
    );
  }
  return { kind: "time", at };
}

export const formatFrom = (from: ReplayFrom): string =>
  from.kind === "earliest" ? "earliest" : from.at.toISOString();

export const spanKey = (topic: string, partition: number): string => `${topic}:${partition}`;

/** Per partition of `topics`: the first offset to replay. */
export async function startOffsets(
  admin: Admin,
  topics: readonly string[],
  from: ReplayFrom,
): Promise<Map<string, bigint>> {
  const starts = new Map<string, bigint>();
  for (const topic of topics) {
    const bounds = await admin.fetchTopicOffsets(topic);
    const high = new Map(bounds.map((p) => [p.partition, BigInt(p.high)]));
    if (from.kind === "earliest") {
      for (const p of bounds) starts.set(spanKey(topic, p.partition), BigInt(p.low));
      continue;
    }
    for (const p of await admin.fetchTopicOffsetsByTimestamp(topic, from.at.getTime())) {
      // -1: no record at or after the time; the replay of that partition starts at its end.
      const offset = BigInt(p.offset);
      starts.set(spanKey(topic, p.partition), offset < 0n ? (high.get(p.partition) ?? 0n) : offset);
    }
  }
  return starts;
}

/** Per partition of `topics`: the end offset (the next record's offset). */
export async function endOffsets(admin: Admin, topics: readonly string[]): Promise<Map<string, bigint>> {
  const ends = new Map<string, bigint>();
  for (const topic of topics) {
    for (const p of await admin.fetchTopicOffsets(topic))
      ends.set(spanKey(topic, p.partition), BigInt(p.high));
  }
  return ends;
}

/**
 * Per partition: the first offset a group has not applied (ClickHouse's progress, the truth); an open
 * intent counts as its first offset. `strict`: an open intent is an error (a chunk half written).
 */
export async function appliedPositions(
  client: ClickHouseClient,
  database: string,
  group: string,
  strict: boolean,
): Promise<Map<string, bigint>> {
  const positions = new Map<string, bigint>();
  for (const row of await readProgress(client, database, group)) {
    if (row.status === "intent" && strict) {
      throw new ReplayError(
        "REPLAY_LIVE_INTENT",
        `${row.topic}:${row.partition} of group ${group} has an open intent (${row.firstOffset}-${row.lastOffset}): ` +
          "start the consumers once so that they finish it, then run replay again",
      );
    }
    positions.set(
      spanKey(row.topic, row.partition),
      row.status === "applied" ? row.lastOffset + 1n : row.firstOffset,
    );
  }
  return positions;
}

/** Offsets replayed so far and in all, over every span (positions: the shadow's applied positions). */
export function replayProgress(
  spans: readonly PartitionSpan[],
  positions: ReadonlyMap<string, bigint>,
): { done: number; total: number } {
  let done = 0n;
  let total = 0n;
  for (const s of spans) {
    if (s.bound <= s.start) continue;
    total += s.bound - s.start;
    const at = positions.get(spanKey(s.topic, s.partition)) ?? s.start;
    const clamped = at < s.start ? s.start : at > s.bound ? s.bound : at;
    done += clamped - s.start;
  }
  return { done: Number(done), total: Number(total) };
}

/** True when every span with something to replay has been applied up to its bound. */
export const reachedBounds = (
  spans: readonly PartitionSpan[],
  positions: ReadonlyMap<string, bigint>,
): boolean =>
  spans.every(
    (s) => s.bound <= s.start || (positions.get(spanKey(s.topic, s.partition)) ?? s.start) >= s.bound,
  );

/** Spans whose bound is below `positions` (the live group's): the live group has not got that far yet. */
export const behind = (
  spans: readonly PartitionSpan[],
  positions: ReadonlyMap<string, bigint>,
): PartitionSpan[] => spans.filter((s) => (positions.get(spanKey(s.topic, s.partition)) ?? 0n) < s.bound);
