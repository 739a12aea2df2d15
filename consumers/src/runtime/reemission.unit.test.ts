import { describe, expect, it } from "vitest";
import { buildEnvelope } from "../mapping/debezium-envelope.js";
import { changeIdentity, ReemissionGuard } from "./reemission.js";

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

describe("changeIdentity", () => {
  const key = Buffer.from([0, 0, 0, 0, 7, 2]);
  // Operation, which parts are present (1 LSN, 2 transaction, 4 key), LSN and transaction as 8 bytes
  // each, the key's bytes: one latin1 character per byte.
  const identity = (op: string, flags: number, lsn: bigint, txId: bigint, k: Buffer) => {
    const head = Buffer.alloc(18);
    head.write(op, 0, "latin1");
    head[1] = flags;
    head.writeBigUInt64BE(lsn, 2);
    head.writeBigUInt64BE(txId, 10);
    return Buffer.concat([head, k]).toString("latin1");
  };
  it("is the operation, LSN, transaction and key: equal for the same change emitted twice", () => {
    expect(changeIdentity(event("u", 900n), key)).toBe(identity("u", 7, 900n, 700n, key));
    expect(changeIdentity(event("u", 900n), key)).toBe(changeIdentity(event("u", 900n), Buffer.from(key)));
    expect(changeIdentity(event("u", 900n), key)).toHaveLength(18 + key.length);
  });
  it("differs when any part differs, a missing part included", () => {
    const base = changeIdentity(event("u", 900n), key);
    expect(changeIdentity(event("d", 900n), key)).not.toBe(base);
    expect(changeIdentity(event("u", 900n, 701n), key)).not.toBe(base);
    // A byte-for-byte key: keys differing only in a byte above 127 stay apart.
    expect(changeIdentity(event("u", 900n), Buffer.from([0, 0, 0, 0, 7, 200]))).not.toBe(
      changeIdentity(event("u", 900n), Buffer.from([0, 0, 0, 0, 7, 201])),
    );
    const noLsn = event("u", 0n);
    expect(changeIdentity({ ...noLsn, source: { ...noLsn.source, lsn: null } }, key)).toBe(
      identity("u", 6, 0n, 700n, key),
    );
    expect(changeIdentity(noLsn, key)).toBe(identity("u", 7, 0n, 700n, key));
    expect(changeIdentity(event("t", 950n), Buffer.alloc(0))).not.toBe(
      changeIdentity(event("t", 950n), null),
    );
  });
  it("differs for rows of one COPY (same LSN, other key) and for the next change of a row", () => {
    const other = Buffer.from([0, 0, 0, 0, 7, 4]);
    expect(changeIdentity(event("c", 900n), key)).not.toBe(changeIdentity(event("c", 900n), other));
    expect(changeIdentity(event("u", 900n), key)).not.toBe(changeIdentity(event("u", 904n), key));
  });
  it("identifies a TRUNCATE (no key) and never a snapshot read or a tombstone", () => {
    expect(changeIdentity(event("t", 950n), null)).toBe(identity("t", 3, 950n, 700n, Buffer.alloc(0)));
    expect(changeIdentity(event("r", 950n), key)).toBeNull();
    expect(changeIdentity(null, key)).toBeNull();
  });
});

describe("ReemissionGuard", () => {
  it("drops a record whose identity was seen within the window before it, and only that", () => {
    const guard = new ReemissionGuard(10n);
    expect(guard.check(100n, "u|900|700|a")).toBe(false);
    expect(guard.check(101n, "c|901|701|b")).toBe(false);
    expect(guard.check(102n, null)).toBe(false);
    expect(guard.check(103n, "u|900|700|a")).toBe(true);
    expect(guard.check(104n, "c|901|701|b")).toBe(true);
    expect(guard.check(105n, "u|905|702|a")).toBe(false);
  });

  it("refuses an offset it cannot hold exactly", () => {
    expect(() => new ReemissionGuard(10n).check(2n ** 53n, "a")).toThrow(RangeError);
    expect(new ReemissionGuard(10n).check(2n ** 53n - 1n, "a")).toBe(false);
  });

  it("forgets what left the window: a change seen more than `window` offsets ago is taken again", () => {
    const guard = new ReemissionGuard(10n);
    guard.check(100n, "d|800|600|k");
    // The window before 110 is 100..109: still there. Before 111 it is 101..110: gone.
    expect(new ReemissionGuard(10n).historyStart(110n)).toBe(100n);
    expect(guard.check(111n, "d|800|600|k")).toBe(false);
    // ...and its latest sighting (111) is what the window remembers now.
    expect(guard.check(120n, "d|800|600|k")).toBe(true);
    expect(guard.check(131n, "x|1|1|")).toBe(false);
    expect(guard.size).toBe(1);
  });

  it("fills the window from re-read history: a redo sees what the first attempt saw", () => {
    const live = new ReemissionGuard(10n);
    const resumed = new ReemissionGuard(10n);
    const stream = ["c|1|1|a", "c|2|2|b", null, "u|3|3|a", "c|1|1|a", "c|4|4|c", "c|2|2|b"];
    const drops = stream.map((id, i) => live.check(BigInt(50 + i), id));
    // A consumer resuming at 54 re-reads 44..53 (historyStart) and then checks 54.. the same way.
    expect(resumed.historyStart(54n)).toBe(44n);
    stream.slice(0, 4).forEach((id, i) => resumed.remember(BigInt(50 + i), id));
    const redone = stream.slice(4).map((id, i) => resumed.check(BigInt(54 + i), id));
    expect(redone).toEqual(drops.slice(4));
    expect(drops).toEqual([false, false, false, false, true, false, true]);
  });

  it("starts the history at offset 0 near the start of a partition", () => {
    expect(new ReemissionGuard(10n).historyStart(4n)).toBe(0n);
    expect(new ReemissionGuard(10n).historyStart(undefined)).toBe(0n);
  });
});
