import { describe, expect, it } from "vitest";
import { acceptRecord, nextChunkSize, type BufferedRecord } from "./chunking.js";

const records = (offsets: number[], receivedAt = 0): BufferedRecord[] =>
  offsets.map((o) => ({
    offset: BigInt(o),
    key: null,
    value: null,
    receivedAt,
    producer: "",
    producerSince: -1n,
  }));

describe("nextChunkSize", () => {
  const rule = { maxRecords: 3, quietMs: 50, maxWaitMs: 200, now: 40, forcedLast: undefined };

  it("waits while the chunk is small and young", () => {
    expect(nextChunkSize(records([5, 6]), rule)).toBe(0);
  });
  it("takes maxRecords as soon as they are buffered", () => {
    expect(nextChunkSize(records([5, 6, 7, 8]), rule)).toBe(3);
  });
  it("takes everything once the partition was quiet for quietMs", () => {
    expect(nextChunkSize(records([5, 6]), { ...rule, now: 50 })).toBe(2);
  });
  it("takes everything once the oldest record waited maxWaitMs, even while records keep coming", () => {
    const trickle = [...records([5], 0), ...records([6], 190)];
    expect(nextChunkSize(trickle, { ...rule, now: 199 })).toBe(0);
    expect(nextChunkSize(trickle, { ...rule, now: 200 })).toBe(2);
  });
  it("takes nothing from an empty buffer", () => {
    expect(nextChunkSize([], { ...rule, now: 10_000 })).toBe(0);
  });
  it("redoes an open intent exactly: waits for its last offset", () => {
    expect(nextChunkSize(records([10, 11]), { ...rule, now: 10_000, forcedLast: 12n })).toBe(0);
  });
  it("redoes an open intent exactly: takes precisely up to its last offset, even past maxRecords", () => {
    expect(nextChunkSize(records([10, 11, 12, 13, 14]), { ...rule, forcedLast: 13n })).toBe(4);
  });
  it("redoes an open intent whose last offset was compacted away", () => {
    expect(nextChunkSize(records([10, 11, 14]), { ...rule, forcedLast: 12n })).toBe(2);
  });
});

describe("acceptRecord", () => {
  it("drops records before the applied position", () => {
    expect(acceptRecord([], 10n, 9n)).toBe(false);
    expect(acceptRecord([], 10n, 10n)).toBe(true);
  });
  it("drops records already buffered (re-fetched after a rebalance)", () => {
    expect(acceptRecord(records([10, 11]), 10n, 11n)).toBe(false);
    expect(acceptRecord(records([10, 11]), 10n, 12n)).toBe(true);
  });
  it("accepts everything when no progress is recorded", () => {
    expect(acceptRecord([], undefined, 0n)).toBe(true);
  });
});
