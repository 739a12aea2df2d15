import { describe, expect, it } from "vitest";
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

describe("ReportCache", () => {
  it("keeps a read until a change names its user; other users' changes leave it", async () => {
    const cache = new ReportCache({ maxEntries: 100, freshnessMaxAgeMs: 1000 });
    const one = counting(cache, "month:1:2026-12", 1, "a");
    const two = counting(cache, "month:2:2026-12", 2, "b");
    expect(await one.get()).toBe("a1");
    expect(await one.get()).toBe("a1");
    expect(await two.get()).toBe("b1");
    cache.invalidate(touch({ users: [2] }));
    expect(await one.get()).toBe("a1");
    expect(await two.get()).toBe("b2");
    expect(cache.stats).toEqual({ hits: 2, misses: 3, discarded: 0, entries: 2 });
  });

  it("a change naming a registered prosthesis or chip reaches its owner; an unknown one reaches nobody", async () => {
    const cache = new ReportCache({ maxEntries: 100, freshnessMaxAgeMs: 1000 });
    cache.registerDevices(1, [10, 11], ["chip-a"]);
    const one = counting(cache, "day:1:2026-12-04", 1, "d");
    await one.get();
    cache.invalidate(touch({ prosthetics: [99], chips: ["chip-z"], tables: ["telemetry_event_changes"] }));
    expect(await one.get()).toBe("d1");
    cache.invalidate(touch({ prosthetics: [11], tables: ["telemetry_event_changes"] }));
    expect(await one.get()).toBe("d2");
    cache.invalidate(touch({ chips: ["chip-a"], tables: ["raw_telemetry_changes"] }));
    expect(await one.get()).toBe("d3");
  });

  it("a prosthesis or user row, a TRUNCATE or a snapshot drops everything, device owners included", async () => {
    const cache = new ReportCache({ maxEntries: 100, freshnessMaxAgeMs: 1000 });
    cache.registerDevices(1, [10], []);
    const one = counting(cache, "month:1:2026-12", 1, "a");
    const two = counting(cache, "month:2:2026-12", 2, "b");
    await one.get();
    await two.get();
    cache.invalidate(touch({ users: [3], prosthetics: [10], tables: ["dim_prosthetics"] }));
    expect(cache.stats.entries).toBe(0);
    await one.get();
    await two.get();
    cache.invalidate(touch({ tables: [], reset: true }));
    expect(cache.stats.entries).toBe(0);
    await one.get();
    // The owners went with it: prosthesis 10 names nobody until registered again.
    cache.invalidate(touch({ prosthetics: [10], tables: ["telemetry_event_changes"] }));
    expect(await one.get()).toBe("a3");
  });

  it("a read during which a change of its user began or ended is returned but not kept", async () => {
    const cache = new ReportCache({ maxEntries: 100, freshnessMaxAgeMs: 1000 });
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
    for (const user of [1, 2, 3]) await cache.get(`month:${user}`, user, async () => user);
    expect(cache.stats.entries).toBe(2);
    expect(await cache.get("month:1", 1, async () => 10)).toBe(10);
  });

  it("keeps data_as_of at most its maximum age, and not across a chunk", async () => {
    let now = 1_000;
    const cache = new ReportCache({ maxEntries: 10, freshnessMaxAgeMs: 500, now: () => now });
    let reads = 0;
    const read = async () => (reads += 1);
    expect(await cache.freshness(read)).toBe(1);
    now += 499;
    expect(await cache.freshness(read)).toBe(1);
    now += 1;
    expect(await cache.freshness(read)).toBe(2);
    cache.invalidate(touch({ tables: [] })); // a heartbeat chunk: progress moved
    expect(await cache.freshness(read)).toBe(3);
    // A read overlapping a chunk is returned but not kept.
    now += 500;
    const slow = deferred<number>();
    const reading = cache.freshness(() => slow.promise);
    cache.invalidate(touch({ users: [1] }));
    slow.resolve(42);
    expect(await reading).toBe(42);
    expect(await cache.freshness(read)).toBe(4);
  });
});
