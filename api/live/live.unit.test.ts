import { describe, expect, it } from "vitest";
import { everything, LiveFeed, type MartsChange } from "./feed.js";
import { affectedSections, reloadsScope, type StreamScope } from "./scope.js";
import { formatEvent, SseWriter, type SseSink } from "./sse.js";
import { changeOfChunk } from "./sources.js";
import type { ChunkApplied } from "../../consumers/src/runtime/applied-events.js";

const change = (c: Partial<Record<keyof MartsChange, unknown>>): MartsChange => ({
  users: new Set(c.users as number[] | undefined),
  prosthetics: new Set(c.prosthetics as number[] | undefined),
  chips: new Set(c.chips as string[] | undefined),
  tables: new Set(c.tables as string[] | undefined),
  all: Boolean(c.all),
});

const owner1: StreamScope = { userId: 1, prosthetics: new Set([10, 11]), chips: new Set(["CHIP-10"]) };

describe("event filtering (scope.ts)", () => {
  it("another user's change never reaches a stream", () => {
    expect(affectedSections(change({ users: [2], tables: ["payment_changes"] }), owner1).size).toBe(0);
    expect(
      affectedSections(change({ prosthetics: [20], tables: ["telemetry_event_changes"] }), owner1).size,
    ).toBe(0);
    expect(
      affectedSections(change({ chips: ["CHIP-20"], tables: ["raw_telemetry_changes"] }), owner1).size,
    ).toBe(0);
  });

  it("the user's own change affects the sections its table feeds", () => {
    expect([...affectedSections(change({ users: [1, 2], tables: ["payment_changes"] }), owner1)]).toEqual([
      "month",
    ]);
    expect([
      ...affectedSections(change({ chips: ["CHIP-10"], tables: ["raw_telemetry_changes"] }), owner1),
    ]).toEqual(["today", "days"]);
    expect(
      [
        ...affectedSections(change({ prosthetics: [11], tables: ["telemetry_event_changes"] }), owner1),
      ].sort(),
    ).toEqual(["days", "month", "today"]);
    expect(affectedSections(change({ users: [1], tables: ["dim_support_tickets"] }), owner1).size).toBe(0);
  });

  it("a reset or a server-mode poll affects everyone and everything", () => {
    expect([...affectedSections(everything, owner1)].sort()).toEqual(["days", "month", "today"]);
  });

  it("a prosthesis row naming the user or one of their devices reloads the scope", () => {
    expect(reloadsScope(change({ users: [1], prosthetics: [12], tables: ["dim_prosthetics"] }), owner1)).toBe(
      true,
    );
    expect(reloadsScope(change({ users: [3], prosthetics: [10], tables: ["dim_prosthetics"] }), owner1)).toBe(
      true,
    );
    expect(reloadsScope(change({ users: [3], prosthetics: [30], tables: ["dim_prosthetics"] }), owner1)).toBe(
      false,
    );
    expect(reloadsScope(change({ users: [1], tables: ["payment_changes"] }), owner1)).toBe(false);
  });

  it("heartbeat chunks change nothing; chunk subjects become a change", () => {
    const chunk = (touched: ChunkApplied["touched"]) => ({ touched }) as ChunkApplied;
    expect(
      changeOfChunk(chunk({ users: [], prosthetics: [], chips: [], tables: [], reset: false })),
    ).toBeNull();
    const c = changeOfChunk(
      chunk({ users: [1], prosthetics: [], chips: [], tables: ["payment_changes"], reset: false }),
    );
    expect(c?.users.has(1)).toBe(true);
    expect(
      changeOfChunk(chunk({ users: [], prosthetics: [], chips: [], tables: [], reset: true }))?.all,
    ).toBe(true);
  });
});

describe("LiveFeed resume", () => {
  it("numbers changes and tells what came after an event id of its epoch", () => {
    const feed = new LiveFeed(3);
    const heard: number[] = [];
    const off = feed.subscribe((c) => heard.push(c.seq));
    for (let i = 0; i < 5; i += 1) feed.publish(change({ users: [i] }));
    off();
    feed.publish(change({}));
    expect(heard).toEqual([1, 2, 3, 4, 5]);
    expect(feed.changesSince(feed.eventId(6))).toEqual([]);
    expect(feed.changesSince(feed.eventId(4))?.map((c) => c.seq)).toEqual([5, 6]);
    expect(feed.changesSince(feed.eventId(3))?.map((c) => c.seq)).toEqual([4, 5, 6]);
    // Older than what is kept, another epoch, in the future or malformed: unknown (send everything).
    expect(feed.changesSince(feed.eventId(2))).toBeNull();
    expect(feed.changesSince("other.5")).toBeNull();
    expect(feed.changesSince(feed.eventId(7))).toBeNull();
    expect(feed.changesSince("garbage")).toBeNull();
    expect(feed.changesSince(undefined)).toBeNull();
  });
});

/** A sink whose socket takes nothing: every write stays buffered. */
function stuckSink() {
  const sink = {
    written: [] as string[],
    writableLength: 0,
    destroyed: false,
    ended: false,
    write(chunk: string) {
      sink.written.push(chunk);
      sink.writableLength += Buffer.byteLength(chunk);
      return false;
    },
    end() {
      sink.ended = true;
    },
    destroy() {
      sink.destroyed = true;
    },
  };
  return sink satisfies SseSink;
}

describe("SSE writer (buffer bounds)", () => {
  it("formats events as id, event and one JSON data line", () => {
    expect(formatEvent({ id: "e.1", event: "month", data: { a: "x\ny" } })).toBe(
      'id: e.1\nevent: month\ndata: {"a":"x\\ny"}\n\n',
    );
    expect(() => formatEvent({ id: "a\nb", data: 1 })).toThrow();
  });

  it("drops a client whose unread bytes would pass the bound, and writes nothing after", () => {
    const sink = stuckSink();
    const dropped: number[] = [];
    const writer = new SseWriter(sink, 100, (n) => dropped.push(n));
    expect(writer.send({ event: "month", data: "x".repeat(40) })).toBe(true);
    expect(writer.send({ event: "month", data: "y".repeat(40) })).toBe(false);
    expect(sink.destroyed).toBe(true);
    expect(dropped[0]).toBeGreaterThan(100);
    expect(writer.comment("keep-alive")).toBe(false);
    expect(sink.written).toHaveLength(1);
    expect(writer.isClosed).toBe(true);
  });

  it("keeps a client that reads: the bound is on what waits, not on the total", () => {
    const sink = stuckSink();
    const writer = new SseWriter(sink, 100);
    for (let i = 0; i < 50; i += 1) {
      expect(writer.send({ data: "z".repeat(40) })).toBe(true);
      sink.writableLength = 0; // the socket took it
    }
    expect(sink.destroyed).toBe(false);
  });
});
