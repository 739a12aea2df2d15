import { describe, expect, it } from "vitest";
import { buildEnvelope } from "../mapping/debezium-envelope.js";
import { changeIdentity, producerOf, ReemissionGuard } from "./reemission.js";

const unknownRun = { producer: "", producerSince: -1n };
const event = (op: "c" | "u" | "d" | "r" | "t", lsn: bigint, txId = 700n) =>
  buildEnvelope({
    db: "telemetry_db",
    table: "raw_telemetry",
    op,
    before: op === "u" || op === "d" ? { sample_id: 1n } : null,
    after: op === "d" || op === "t" ? null : { sample_id: 1n },
    lsn,
    tsMs: 1705314600000n,
    txId,
  });

describe("producerOf", () => {
  it("reads the producer id and epoch kafkajs keeps in each message's batch context", () => {
    expect(producerOf({ batchContext: { producerId: "4007", producerEpoch: 2 } })).toBe("4007:2");
  });
  it("is empty for a producer without an id (not idempotent) or a message without context", () => {
    expect(producerOf({ batchContext: { producerId: "-1", producerEpoch: -1 } })).toBe("");
    expect(producerOf({})).toBe("");
  });
});

describe("changeIdentity", () => {
  const key = Buffer.from([0, 0, 0, 0, 7, 2]);
  it("is the operation, LSN, transaction and key: equal for the same change emitted twice", () => {
    expect(changeIdentity(event("u", 900n), key)).toBe(`u|900|700|${key.toString("base64")}`);
    expect(changeIdentity(event("u", 900n), key)).toBe(changeIdentity(event("u", 900n), Buffer.from(key)));
  });
  it("differs for rows of one COPY (same LSN, other key) and for the next change of a row", () => {
    const other = Buffer.from([0, 0, 0, 0, 7, 4]);
    expect(changeIdentity(event("c", 900n), key)).not.toBe(changeIdentity(event("c", 900n), other));
    expect(changeIdentity(event("u", 900n), key)).not.toBe(changeIdentity(event("u", 904n), key));
  });
  it("identifies a TRUNCATE (no key) and never a snapshot read or a tombstone", () => {
    expect(changeIdentity(event("t", 950n), null)).toBe("t|950|700|");
    expect(changeIdentity(event("r", 950n), key)).toBeNull();
    expect(changeIdentity(null, key)).toBeNull();
  });
});

describe("ReemissionGuard", () => {
  it("takes the first producer it sees without checking anything", () => {
    const guard = new ReemissionGuard(10n, unknownRun);
    expect(guard.accept(0n, "1:0")).toEqual({ kind: "accept" });
    expect(guard.accept(1n, "1:0")).toEqual({ kind: "accept" });
    expect(guard.run).toEqual({ producer: "1:0", producerSince: 0n });
    expect(guard.rereading).toBe(false);
  });

  it("on a new producer re-reads the window before it and drops repeated changes in the window after", () => {
    const guard = new ReemissionGuard(10n, { producer: "1:0", producerSince: 0n });
    expect(guard.accept(100n, "2:0")).toEqual({ kind: "rewind", seekTo: 90n });
    expect(guard.run).toEqual({ producer: "2:0", producerSince: 100n });
    expect(guard.rereading).toBe(true);
    // History: 90..99. Only records of earlier producers are remembered.
    expect(guard.isHistory(89n)).toBe(true);
    expect(guard.wantsHistory(89n, "1:0")).toBe(false);
    expect(guard.wantsHistory(95n, "1:0")).toBe(true);
    expect(guard.wantsHistory(95n, "2:0")).toBe(false);
    expect(guard.isHistory(100n)).toBe(false);
    guard.addHistory("u|900|700|a");
    guard.addHistory("c|901|701|b");
    guard.addHistory(null);
    // Not checked before the history is complete.
    expect(guard.isDuplicate(100n, "u|900|700|a")).toBe(false);
    guard.completeHistory();
    expect(guard.rereading).toBe(false);
    expect(guard.accept(100n, "2:0")).toEqual({ kind: "accept" });
    expect(guard.isDuplicate(100n, "u|900|700|a")).toBe(true);
    expect(guard.isDuplicate(101n, "c|901|701|b")).toBe(true);
    expect(guard.isDuplicate(102n, "u|905|702|a")).toBe(false);
    expect(guard.isDuplicate(102n, null)).toBe(false);
    // Outside [100, 110) nothing is checked.
    expect(guard.isDuplicate(110n, "u|900|700|a")).toBe(false);
    expect(guard.isDuplicate(99n, "u|900|700|a")).toBe(false);
    expect(guard.dropped).toBe(2);
    guard.applied(108n);
    expect(guard.isDuplicate(109n, "u|900|700|a")).toBe(true);
    guard.applied(109n);
    expect(guard.isDuplicate(109n, "u|900|700|a")).toBe(false);
  });

  it("a change near the start of the partition re-reads from offset 0", () => {
    const guard = new ReemissionGuard(10n, { producer: "1:0", producerSince: 0n });
    expect(guard.accept(4n, "2:0")).toEqual({ kind: "rewind", seekTo: 0n });
  });

  it("never checks records of producers without ids", () => {
    const guard = new ReemissionGuard(10n, { producer: "1:0", producerSince: 0n });
    expect(guard.accept(100n, "")).toEqual({ kind: "accept" });
    expect(guard.run).toEqual({ producer: "1:0", producerSince: 0n });
  });

  it("on resume checks again a producer run that began less than a window ago", () => {
    const run = { producer: "2:0", producerSince: 50n };
    expect(new ReemissionGuard(10n, run).resumeAt(55n)).toBe(40n);
    expect(new ReemissionGuard(10n, run).resumeAt(60n)).toBeUndefined();
    expect(new ReemissionGuard(10n, { producer: "2:0", producerSince: 0n }).resumeAt(3n)).toBeUndefined();
    expect(new ReemissionGuard(10n, unknownRun).resumeAt(3n)).toBeUndefined();
    const resumed = new ReemissionGuard(10n, run);
    resumed.resumeAt(55n);
    expect(resumed.wantsHistory(45n, "1:0")).toBe(true);
    resumed.addHistory("d|800|600|k");
    resumed.completeHistory();
    expect(resumed.accept(55n, "2:0")).toEqual({ kind: "accept" });
    expect(resumed.isDuplicate(55n, "d|800|600|k")).toBe(true);
  });
});
