import { describe, expect, it, vi } from "vitest";
import { ReportCache, type CacheTouch } from "./cache.js";

const touch = (t: Partial<CacheTouch>): CacheTouch => ({
  users: [],
  prosthetics: [],
  chips: [],
  tables: ["payment_changes"],
  reset: false,
  ...t,
});

/** A load whose result the test releases: a read that takes as long as the test says. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

function counting(cache: ReportCache, key: string, userId: number, value: string) {
  let loads = 0;
  const get = () =>
    cache.get(key, userId, async () => {
      loads += 1;
      return `${value}${loads}`;
    });
  return { get, loads: () => loads };
}

/** Registers the user's devices the way ReportService does: a devices read through the cache. */
const register = (cache: ReportCache, userId: number, prostheticIds: number[], chipIds: string[] = []) =>
  cache.devices(`devices:${userId}`, userId, async () => ({ prostheticIds, chipIds }));

describe("ReportCache", () => {
  it("keeps a read until a change names its user; other users' changes leave it", async () => {
    const cache = new ReportCache({ maxEntries: 100, freshnessMaxAgeMs: 1000 });
    await register(cache, 1, []);
    await register(cache, 2, []);
    const one = counting(cache, "month:1:2026-12", 1, "a");
    const two = counting(cache, "month:2:2026-12", 2, "b");
    expect(await one.get()).toBe("a1");
    expect(await one.get()).toBe("a1");
    expect(await two.get()).toBe("b1");
    cache.invalidate(touch({ users: [2] }));
    expect(await one.get()).toBe("a1");
    expect(await two.get()).toBe("b2");
    // Misses: two devices reads, a1, b1, b2; user 2's devices entry stays (a payment moves no device).
    expect(cache.stats).toEqual({ hits: 2, misses: 5, discarded: 0, freshnessReads: 0, entries: 4 });
  });

  it("a change naming a registered prosthesis or chip reaches its owner; an unknown one reaches nobody", async () => {
    const cache = new ReportCache({ maxEntries: 100, freshnessMaxAgeMs: 1000 });
    await register(cache, 1, [10, 11], ["chip-a"]);
    const one = counting(cache, "day:1:2026-12-04", 1, "d");
    await one.get();
    cache.invalidate(touch({ prosthetics: [99], chips: ["chip-z"], tables: ["telemetry_event_changes"] }));
    expect(await one.get()).toBe("d1");
    cache.invalidate(touch({ prosthetics: [11], tables: ["telemetry_event_changes"] }));
    expect(await one.get()).toBe("d2");
    cache.invalidate(touch({ chips: ["chip-a"], tables: ["raw_telemetry_changes"] }));
    expect(await one.get()).toBe("d3");
  });

  it("reads of a user whose devices are not registered are returned, never kept", async () => {
    const cache = new ReportCache({ maxEntries: 100, freshnessMaxAgeMs: 1000 });
    const one = counting(cache, "month:1:2026-12", 1, "a");
    expect(await one.get()).toBe("a1");
    expect(await one.get()).toBe("a2");
    expect(cache.stats.discarded).toBe(2);
    // Whether the user exists moves with no device: kept without them.
    expect(await cache.get("known:1", 1, async () => true, { needsDevices: false })).toBe(true);
    expect(await cache.get("known:1", 1, async () => false, { needsDevices: false })).toBe(true);
  });

  it("a change of dim_prosthetics drops the device's old and new owner, registration included, and nobody else", async () => {
    const cache = new ReportCache({ maxEntries: 100, freshnessMaxAgeMs: 1000 });
    await register(cache, 1, [10], ["chip-a"]);
    await register(cache, 2, [20], ["chip-b"]);
    await register(cache, 3, []);
    const one = counting(cache, "month:1:2026-12", 1, "a");
    const two = counting(cache, "month:2:2026-12", 2, "b");
    const three = counting(cache, "month:3:2026-12", 3, "c");
    await Promise.all([one.get(), two.get(), three.get()]);
    // Prosthesis 10 (chip-a) moves from user 1 to user 3: the row names 3, the registration names 1.
    cache.invalidate(
      touch({ users: [3], prosthetics: [10], chips: ["chip-a"], tables: ["dim_prosthetics"] }),
    );
    expect(await two.get()).toBe("b1");
    // Neither is registered any more: their reads are fresh and not kept until they read their devices.
    expect(await one.get()).toBe("a2");
    expect(await three.get()).toBe("c2");
    expect(await three.get()).toBe("c3");
    await register(cache, 1, []);
    await register(cache, 3, [10], ["chip-a"]);
    expect(await one.get()).toBe("a3");
    expect(await three.get()).toBe("c4");
    expect(await three.get()).toBe("c4");
    // The device's facts now reach its new owner only.
    cache.invalidate(touch({ chips: ["chip-a"], tables: ["raw_telemetry_changes"] }));
    expect(await one.get()).toBe("a3");
    expect(await two.get()).toBe("b1");
    expect(await three.get()).toBe("c5");
  });

  it("a devices read across a change of dim_prosthetics registers nothing: a stale owner cannot take a device's facts from the new one", async () => {
    const cache = new ReportCache({ maxEntries: 100, freshnessMaxAgeMs: 1000 });
    // User 1 reads their devices while prosthesis 10 is still theirs ...
    const stale = deferred<{ prostheticIds: number[]; chipIds: string[] }>();
    const reading = cache.devices("devices:1", 1, () => stale.promise);
    // ... it moves to user 2 (no registered owner yet: the change names only 2), who reads theirs ...
    cache.invalidate(touch({ users: [2], prosthetics: [10], tables: ["dim_prosthetics"] }));
    await register(cache, 2, [10]);
    const two = counting(cache, "month:2:2026-12", 2, "b");
    expect(await two.get()).toBe("b1");
    // ... and then user 1's read ends, holding the device it no longer has.
    stale.resolve({ prostheticIds: [10], chipIds: [] });
    expect(await reading).toEqual({ prostheticIds: [10], chipIds: [] });
    // A fact of prosthesis 10 still reaches user 2; user 1 got nothing kept.
    cache.invalidate(touch({ prosthetics: [10], tables: ["battery_metric_changes"] }));
    expect(await two.get()).toBe("b2");
    const one = counting(cache, "month:1:2026-12", 1, "a");
    expect(await one.get()).toBe("a1");
    expect(await one.get()).toBe("a2");
  });

  it("a TRUNCATE or a snapshot drops everything, device owners included", async () => {
    const cache = new ReportCache({ maxEntries: 100, freshnessMaxAgeMs: 1000 });
    await register(cache, 1, [10]);
    await register(cache, 2, []);
    const one = counting(cache, "month:1:2026-12", 1, "a");
    const two = counting(cache, "month:2:2026-12", 2, "b");
    await one.get();
    await two.get();
    cache.invalidate(touch({ tables: [], reset: true }));
    expect(cache.stats.entries).toBe(0);
    // The owners went with it: prosthesis 10 names nobody, and user 1 reads anew until registered again.
    cache.invalidate(touch({ prosthetics: [10], tables: ["telemetry_event_changes"] }));
    expect(await one.get()).toBe("a2");
    expect(await one.get()).toBe("a3");
  });

  it("a read during which a change of its user began or ended is returned but not kept", async () => {
    const cache = new ReportCache({ maxEntries: 100, freshnessMaxAgeMs: 1000 });
    await register(cache, 1, []);
    const slow = deferred<string>();
    const reading = cache.get("month:1:2026-12", 1, () => slow.promise);
    cache.invalidate(touch({ users: [1] })); // "applying": the chunk is being written
    slow.resolve("old");
    expect(await reading).toBe("old");
    expect(cache.stats.discarded).toBe(1);
    expect(await cache.get("month:1:2026-12", 1, async () => "new")).toBe("new");
    expect(await cache.get("month:1:2026-12", 1, async () => "newer")).toBe("new");
  });

  it("a change of another user during a read does not stop it being kept", async () => {
    const cache = new ReportCache({ maxEntries: 100, freshnessMaxAgeMs: 1000 });
    await register(cache, 1, []);
    const slow = deferred<string>();
    const reading = cache.get("month:1:2026-12", 1, () => slow.promise);
    cache.invalidate(touch({ users: [2] }));
    slow.resolve("kept");
    await reading;
    expect(await cache.get("month:1:2026-12", 1, async () => "other")).toBe("kept");
  });

  it("concurrent misses of one key share one read", async () => {
    const cache = new ReportCache({ maxEntries: 100, freshnessMaxAgeMs: 1000 });
    const one = counting(cache, "month:1:2026-12", 1, "a");
    expect(await Promise.all([one.get(), one.get(), one.get()])).toEqual(["a1", "a1", "a1"]);
    expect(one.loads()).toBe(1);
  });

  it("drops the least recently used entries beyond its size, and their user index with them", async () => {
    const cache = new ReportCache({ maxEntries: 2, freshnessMaxAgeMs: 1000 });
    for (const user of [1, 2, 3]) {
      await cache.get(`known:${user}`, user, async () => user, { needsDevices: false });
    }
    expect(cache.stats.entries).toBe(2);
    expect(await cache.get("known:1", 1, async () => 10, { needsDevices: false })).toBe(10);
  });

  it("an entry with its tables is dropped only by a change of its user to one of them", async () => {
    const cache = new ReportCache({ maxEntries: 100, freshnessMaxAgeMs: 1000 });
    await register(cache, 1, [10], ["chip-a"]);
    const billing = ["dim_users", "payment_changes", "subscription_changes"];
    const devices = ["battery_metric_changes", "dim_prosthetics", "dim_users", "telemetry_event_changes"];
    let reads = 0;
    const month = () => cache.get("month:1:2026-12", 1, async () => `m${(reads += 1)}`, { tables: billing });
    const device = () =>
      cache.get("month-devices:1:2026-12", 1, async () => `d${(reads += 1)}`, { tables: devices });
    expect([await month(), await device()]).toEqual(["m1", "d2"]);
    cache.invalidate(touch({ users: [1], tables: ["payment_changes"] }));
    expect([await month(), await device()]).toEqual(["m3", "d2"]);
    cache.invalidate(touch({ prosthetics: [10], tables: ["telemetry_event_changes"] }));
    expect([await month(), await device()]).toEqual(["m3", "d4"]);
    // Movement samples (by chip) feed neither entry; a user row feeds both.
    cache.invalidate(touch({ chips: ["chip-a"], tables: ["raw_telemetry_changes"] }));
    expect([await month(), await device()]).toEqual(["m3", "d4"]);
    cache.invalidate(touch({ users: [1], tables: ["dim_users"] }));
    expect([await month(), await device()]).toEqual(["m5", "d6"]);
  });

  it("a read overlapping a change of its user is kept only when the change wrote none of its tables", async () => {
    const cache = new ReportCache({ maxEntries: 100, freshnessMaxAgeMs: 1000 });
    await register(cache, 1, [10]);
    const read = (key: string, tables: string[], value: string) => {
      const slow = deferred<string>();
      const reading = cache.get(key, 1, () => slow.promise, { tables });
      return { reading, done: () => slow.resolve(value) };
    };
    const billing = read("month:1:2026-12", ["payment_changes"], "m1");
    const device = read("month-devices:1:2026-12", ["telemetry_event_changes"], "d1");
    cache.invalidate(touch({ users: [1], tables: ["payment_changes"] }));
    billing.done();
    device.done();
    expect([await billing.reading, await device.reading]).toEqual(["m1", "d1"]);
    expect(await cache.get("month:1:2026-12", 1, async () => "m2", { tables: ["payment_changes"] })).toBe(
      "m2",
    );
    expect(
      await cache.get("month-devices:1:2026-12", 1, async () => "d2", {
        tables: ["telemetry_event_changes"],
      }),
    ).toBe("d1");
    expect(cache.stats.discarded).toBe(1);
  });

  it("an entry reading a table that names only devices depends on who owns them, even when it does not say so", async () => {
    const cache = new ReportCache({ maxEntries: 100, freshnessMaxAgeMs: 1000 });
    const tables = ["telemetry_event_changes"];
    // Not kept while the user's devices are unknown: a later event of theirs could not reach it.
    expect(await cache.get("events:1", 1, async () => "e1", { tables })).toBe("e1");
    expect(await cache.get("events:1", 1, async () => "e2", { tables })).toBe("e2");
    await register(cache, 1, [10]);
    expect(await cache.get("events:1", 1, async () => "e3", { tables })).toBe("e3");
    expect(await cache.get("events:1", 1, async () => "e4", { tables })).toBe("e3");
    // The prosthesis goes to user 2: user 1's event figures go with it.
    cache.invalidate(touch({ users: [2], prosthetics: [10], tables: ["dim_prosthetics"] }));
    expect(await cache.get("events:1", 1, async () => "e5", { tables })).toBe("e5");
  });

  it("keeps data_as_of at most its maximum age; after a chunk it is read again in the background", async () => {
    let now = 1_000;
    const cache = new ReportCache({ maxEntries: 10, freshnessMaxAgeMs: 500, now: () => now });
    let reads = 0;
    const read = async () => (reads += 1);
    expect(await cache.freshness(read)).toBe(1);
    now += 499;
    expect(await cache.freshness(read)).toBe(1);
    now += 1;
    expect(await cache.freshness(read)).toBe(2);
    expect(reads).toBe(2);
    // A chunk (a heartbeat: progress moved): the kept value is still true and is returned at once,
    // while a read starts behind it; the next request gets that read's value.
    cache.invalidate(touch({ tables: [] }));
    const slow = deferred<number>();
    expect(await cache.freshness(() => slow.promise)).toBe(2);
    expect(await cache.freshness(read)).toBe(2); // one background read at a time
    expect(reads).toBe(2);
    slow.resolve(42);
    await vi.waitFor(async () => expect(await cache.freshness(read)).toBe(42));
    expect(reads).toBe(2);
    // Past the maximum age a request waits for a read, chunk or not.
    now += 500;
    expect(await cache.freshness(read)).toBe(3);
    // A background read that finishes after a newer one does not replace it.
    cache.invalidate(touch({ users: [1] }));
    const older = deferred<number>();
    expect(await cache.freshness(() => older.promise)).toBe(3);
    now += 500;
    cache.invalidate(touch({ users: [1] }));
    expect(await cache.freshness(read)).toBe(4);
    older.resolve(99);
    await older.promise;
    await Promise.resolve();
    expect(await cache.freshness(read)).toBe(4);
    expect(reads).toBe(4);
  });

  it("runs one background read of data_as_of at a time however many chunks land meanwhile", async () => {
    const cache = new ReportCache({ maxEntries: 10, freshnessMaxAgeMs: 60_000 });
    let reads = 0;
    let pending = deferred<number>();
    const read = () => {
      reads += 1;
      return pending.promise;
    };
    const first = cache.freshness(read);
    pending.resolve(1);
    expect(await first).toBe(1);
    // Under ingest a chunk lands every ~100 ms and a read takes longer than that: a read per chunk
    // would keep several in flight, each costing the engine the same as the one before.
    pending = deferred<number>();
    for (let chunk = 0; chunk < 5; chunk += 1) {
      cache.invalidate(touch({ tables: [] }));
      expect(await cache.freshness(read)).toBe(1);
    }
    expect(reads).toBe(2);
    pending.resolve(2);
    await vi.waitFor(async () => expect(await cache.freshness(read)).toBe(2));
    // Chunks landed while it ran: the first request after it starts the next one.
    expect(reads).toBe(3);
    expect(cache.stats.freshnessReads).toBe(3);
  });
});
