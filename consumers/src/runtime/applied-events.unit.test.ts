import { describe, expect, it } from "vitest";
import { AppliedChunks, touchedBy, type ChunkApplied } from "./applied-events.js";

describe("touchedBy", () => {
  it("names the users, prostheses and chips of a chunk's rows, deduplicated and sorted", () => {
    const touched = touchedBy(
      {
        payment_changes: [
          { sign: 1, payment_id: 1, user_id: 7 },
          { sign: -1, payment_id: 1, user_id: 7 },
          { sign: 1, payment_id: 2, user_id: 3 },
        ],
        telemetry_event_changes: [{ sign: 1, event_id: "9", prosthetic_id: 12 }],
        battery_metric_changes: [{ sign: 1, metric_id: "4", prosthetic_id: 11 }],
        raw_telemetry_changes: [
          { sign: 1, sample_id: "1", chip_id: "CHIP-B" },
          { sign: 1, sample_id: "2", chip_id: "CHIP-A" },
        ],
      },
      0,
    );
    expect(touched).toEqual({
      users: [3, 7],
      prosthetics: [11, 12],
      chips: ["CHIP-A", "CHIP-B"],
      tables: [
        "payment_changes",
        "telemetry_event_changes",
        "battery_metric_changes",
        "raw_telemetry_changes",
      ],
      reset: false,
    });
  });

  it("takes every key of a dimension row (a prosthesis names its owner, itself and its chip)", () => {
    const touched = touchedBy(
      {
        dim_prosthetics: [{ prosthetic_id: 5, user_id: 2, chip_id: "C5", is_deleted: 0 }],
        dim_support_tickets: [{ ticket_id: 1, user_id: 4, prosthetic_id: null }],
      },
      0,
    );
    expect(touched.users).toEqual([2, 4]);
    expect(touched.prosthetics).toEqual([5]);
    expect(touched.chips).toEqual(["C5"]);
  });

  it("marks a reset and names nothing for a chunk without rows (heartbeats)", () => {
    expect(touchedBy({}, 1)).toEqual({ users: [], prosthetics: [], chips: [], tables: [], reset: true });
    expect(touchedBy({}, 0).reset).toBe(false);
  });
});

describe("AppliedChunks", () => {
  const event = { topic: "t", partition: 0, records: 1 } as ChunkApplied;

  it("calls every listener until it is removed", () => {
    const chunks = new AppliedChunks(() => undefined);
    const seen: string[] = [];
    const off = chunks.on((e) => seen.push(`a:${e.topic}`));
    chunks.on((e) => seen.push(`b:${e.topic}`));
    chunks.emit(event);
    off();
    chunks.emit(event);
    expect(seen).toEqual(["a:t", "b:t", "b:t"]);
    expect(chunks.size).toBe(1);
  });

  it("isolates a failing listener: the others still run, the error goes to onError", () => {
    const errors: unknown[] = [];
    const chunks = new AppliedChunks((e) => errors.push(e));
    let called = 0;
    chunks.on(() => {
      throw new Error("boom");
    });
    chunks.on(() => {
      called += 1;
    });
    expect(() => chunks.emit(event)).not.toThrow();
    expect(called).toBe(1);
    expect((errors[0] as Error).message).toBe("boom");
  });

  it("tells 'applying' listeners apart from 'applied' ones; both count in size", () => {
    const errors: unknown[] = [];
    const chunks = new AppliedChunks((e) => errors.push(e));
    const seen: string[] = [];
    chunks.on((e) => seen.push(`applied:${e.topic}`));
    const off = chunks.onApplying((e) => void seen.push(`applying:${e.topic}`));
    chunks.onApplying(() => {
      throw new Error("late");
    });
    expect(chunks.size).toBe(3);
    chunks.emitApplying({ ...event, firstOffset: 0n, lastOffset: 0n, touched: touchedBy({}, 0) });
    chunks.emit(event);
    off();
    chunks.emitApplying({ ...event, firstOffset: 1n, lastOffset: 1n, touched: touchedBy({}, 0) });
    expect(seen).toEqual(["applying:t", "applied:t"]);
    expect((errors as Error[]).map((e) => e.message)).toEqual(["late", "late"]);
    expect(chunks.size).toBe(2);
  });

  it("makes the write wait for an 'applying' listener's promise; its rejection goes to onError", async () => {
    const errors: unknown[] = [];
    const chunks = new AppliedChunks((e) => errors.push(e));
    const applying = { ...event, firstOffset: 0n, lastOffset: 0n, touched: touchedBy({}, 0) };
    expect(chunks.emitApplying(applying)).toBeUndefined();
    chunks.onApplying(() => undefined);
    expect(chunks.emitApplying(applying)).toBeUndefined();
    let hear: () => void = () => undefined;
    chunks.onApplying(() => new Promise<void>((resolve) => (hear = resolve)));
    chunks.onApplying(() => Promise.reject(new Error("gone")));
    let settled = false;
    const waiting = chunks.emitApplying(applying);
    void waiting?.then(() => (settled = true));
    await Promise.resolve();
    await Promise.resolve();
    expect(waiting).toBeInstanceOf(Promise);
    expect(settled).toBe(false);
    hear();
    await waiting;
    expect(settled).toBe(true);
    expect((errors as Error[]).map((e) => e.message)).toEqual(["gone"]);
  });
});
