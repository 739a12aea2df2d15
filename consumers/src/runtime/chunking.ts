import type { IHeaders } from "kafkajs";

/**
 * Which buffered records of one partition form the next chunk. Pure, so the rules are unit-tested:
 * - an open intent from a previous run (`forcedLast`) must be redone as exactly the same range, so
 *   wait until its last offset is buffered and take precisely up to it;
 * - otherwise take `maxRecords` as soon as they are there (throughput under load); everything once
 *   the partition has been quiet for `quietMs` (freshness when idle: a lone change is applied within
 *   about `quietMs`); and everything once the oldest record has waited `maxWaitMs` (bounded latency
 *   under a steady trickle that is never quiet).
 */
export interface BufferedRecord {
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
  /** The record's Kafka headers, kept for a dead letter (replayed with them: scripts/topics/dlq.ts). */
  headers?: IHeaders;
  receivedAt: number;
}

export interface ChunkRule {
  maxRecords: number;
  quietMs: number;
  maxWaitMs: number;
  now: number;
  forcedLast: bigint | undefined;
}

export function nextChunkSize(records: readonly BufferedRecord[], rule: ChunkRule): number {
  if (records.length === 0) return 0;
  if (rule.forcedLast !== undefined) {
    const end = records.findIndex((r) => r.offset > rule.forcedLast!);
    const last = records[end === -1 ? records.length - 1 : end - 1];
    if (end === -1 && (last?.offset ?? -1n) < rule.forcedLast) return 0;
    return end === -1 ? records.length : end;
  }
  if (records.length >= rule.maxRecords) return rule.maxRecords;
  const oldest = records[0] as BufferedRecord;
  const newest = records[records.length - 1] as BufferedRecord;
  const quiet = rule.now - newest.receivedAt >= rule.quietMs;
  return quiet || rule.now - oldest.receivedAt >= rule.maxWaitMs ? records.length : 0;
}

/** Keeps only records at or after `nextOffset` and after what is already buffered (re-fetch after rebalance). */
export function acceptRecord(
  buffered: readonly BufferedRecord[],
  nextOffset: bigint | undefined,
  offset: bigint,
): boolean {
  if (nextOffset !== undefined && offset < nextOffset) return false;
  const tail = buffered[buffered.length - 1];
  return tail === undefined || offset > tail.offset;
}
