import { LRUCache } from "lru-cache";
import { deviceRoutedTables } from "../../consumers/src/runtime/applied-events.js";

/** What a chunk of the consumers is about to change or changed (consumers' MartsTouch). */
export interface CacheTouch {
  users: readonly number[];
  prosthetics: readonly number[];
  chips: readonly string[];
  tables: readonly string[];
  reset: boolean;
}

/** The table whose change may move a device (a prosthesis, its chip) from one user to another. */
const DEVICE_TABLE = "dim_prosthetics";
const deviceRouted = new Set<string>(deviceRoutedTables);

export interface ReportCacheStats {
  hits: number;
  misses: number;
  /** Reads whose result was not kept because a change of their user began or ended meanwhile. */
  discarded: number;
  /** Reads of data_as_of started (ReportCache.freshness). */
  freshnessReads: number;
  entries: number;
}

interface Entry {
  userId: number;
  value: unknown;
  /** The tables the value depends on; null: every table. */
  tables: ReadonlySet<string> | null;
}

/**
 * The tables a value of `tables` depends on, as the cache tracks them: a value that reads a table
 * whose rows reach users through their devices also depends on dim_prosthetics (who owns them).
 */
function dependencies(tables: readonly string[] | undefined): ReadonlySet<string> | null {
  if (tables === undefined) return null;
  const set = new Set(tables);
  if (tables.some((t) => deviceRouted.has(t))) set.add(DEVICE_TABLE);
  return set;
}

const dependsOnAny = (tables: ReadonlySet<string> | null, touched: readonly string[]) =>
  tables === null || touched.some((t) => tables.has(t));

/**
 * The marts' rows the reports are computed from, per user, kept until a change of that user is
 * written to a table they depend on. Exact by construction: the consumers in this process tell the
 * cache before they write a chunk (`invalidate` on "applying": those entries of the users it names
 * that depend on a table it writes are dropped) and again after it is recorded applied (reads that
 * overlapped the write are not kept either, since the user's generation of those tables moved). An
 * entry names the tables the consumers write that its value depends on (`tables`: the report's SQL
 * through the materialized views, clickhouse/marts/lineage.ts), so a payment does not drop a device's
 * figures; without `tables` it depends on every table. A chunk naming a prosthesis or chip reaches its owner through the devices the user's
 * `devices` read registered; a user's entries are kept only while their devices are registered.
 *
 * A change of dim_prosthetics (a device gained, lost, moved, its chip swapped) names its new owner
 * (the row's user) and its old one (the registered owner of the prosthesis or chip): both lose their
 * entries and their registration, and read their devices again. A devices read that overlapped any
 * such change registers nothing: it may hold an owner the change just ended, and would otherwise
 * steer a later fact of the device away from its new owner. A TRUNCATE or a snapshot drops
 * everything. Freshness (data_as_of) is kept at most `freshnessMaxAgeMs`; a chunk written since it
 * was read starts a read in the background, and requests meanwhile get the kept one: an older
 * data_as_of is still true ("complete up to"), and reports read it before their rows, so the rows are
 * never older than it claims.
 *
 * Only where every write to the marts passes through `invalidate` (the embedded default: consumers
 * and API in one process) may a cache be used; the API in server mode reads without one.
 */
export class ReportCache {
  private readonly entries: LRUCache<string, Entry>;
  private readonly keysByUser = new Map<number, Set<string>>();
  private readonly ownerOfProsthetic = new Map<number, number>();
  private readonly ownerOfChip = new Map<string, number>();
  /** Users whose devices are registered as they are now, with them: only their entries are kept. */
  private readonly registered = new Map<
    number,
    { prosthetics: readonly number[]; chips: readonly string[] }
  >();
  /** Bumped by every change of dim_prosthetics: a devices read across it registers nothing. */
  private deviceEpoch = 0;
  /** Bumped when everything goes. */
  private epoch = 0;
  /** Bumped for a user when a change names them. */
  private readonly userGeneration = new Map<number, number>();
  /** Bumped for a user and a table (`${user}:${table}`) when a change of the table names them. */
  private readonly tableGeneration = new Map<string, number>();
  private readonly loading = new Map<string, { token: string; promise: Promise<unknown> }>();
  private freshnessEpoch = 0;
  /** The last data_as_of read: when its read started, and the chunk epoch it started in. */
  private freshnessValue: { value: unknown; at: number; epoch: number } | null = null;
  private freshnessLoad: { epoch: number; promise: Promise<unknown> } | null = null;
  private counters = { hits: 0, misses: 0, discarded: 0, freshnessReads: 0 };

  constructor(
    private readonly options: { maxEntries: number; freshnessMaxAgeMs: number; now?: () => number },
  ) {
    this.entries = new LRUCache<string, Entry>({
      max: options.maxEntries,
      dispose: (entry, key) => {
        const keys = this.keysByUser.get(entry.userId);
        keys?.delete(key);
        if (keys?.size === 0) this.keysByUser.delete(entry.userId);
      },
    });
  }

  get stats(): ReportCacheStats {
    return { ...this.counters, entries: this.entries.size };
  }

  /** A chunk is about to be written, or was: what it names is dropped, and reads of it in flight are not kept. */
  invalidate(touch: CacheTouch): void {
    this.freshnessEpoch += 1;
    if (touch.reset) {
      this.clear();
      return;
    }
    const users = new Set(touch.users);
    for (const id of touch.prosthetics) {
      const owner = this.ownerOfProsthetic.get(id);
      if (owner !== undefined) users.add(owner);
    }
    for (const chip of touch.chips) {
      const owner = this.ownerOfChip.get(chip);
      if (owner !== undefined) users.add(owner);
    }
    if (touch.tables.includes(DEVICE_TABLE)) {
      this.deviceEpoch += 1;
      // Old and new owners read their devices again; until then nothing routes to them by device,
      // and none of their entries that depend on their devices is kept (all of those depend on
      // dim_prosthetics, see dependencies(), so the loop below drops them).
      for (const id of touch.prosthetics) this.ownerOfProsthetic.delete(id);
      for (const chip of touch.chips) this.ownerOfChip.delete(chip);
      for (const userId of users) this.forgetDevices(userId);
    }
    for (const userId of users) {
      this.userGeneration.set(userId, (this.userGeneration.get(userId) ?? 0) + 1);
      for (const table of touch.tables) {
        const key = `${userId}:${table}`;
        this.tableGeneration.set(key, (this.tableGeneration.get(key) ?? 0) + 1);
      }
      for (const key of [...(this.keysByUser.get(userId) ?? [])]) {
        const entry = this.entries.peek(key);
        if (!entry || dependsOnAny(entry.tables, touch.tables)) this.entries.delete(key);
      }
    }
  }

  /** Unregisters the user's devices (every prosthesis and chip still pointing at them). */
  private forgetDevices(userId: number): void {
    const devices = this.registered.get(userId);
    if (!devices) return;
    this.registered.delete(userId);
    for (const id of devices.prosthetics)
      if (this.ownerOfProsthetic.get(id) === userId) this.ownerOfProsthetic.delete(id);
    for (const chip of devices.chips)
      if (this.ownerOfChip.get(chip) === userId) this.ownerOfChip.delete(chip);
  }

  /** Drops everything (and the device owners learnt). */
  clear(): void {
    this.epoch += 1;
    this.entries.clear();
    this.keysByUser.clear();
    this.ownerOfProsthetic.clear();
    this.ownerOfChip.clear();
    this.registered.clear();
    this.userGeneration.clear();
    this.tableGeneration.clear();
  }

  /**
   * The user's devices, read by `load` (kept like any entry under `key`) and registered: changes
   * naming them drop the user's entries from now on. A read that overlapped a change of
   * dim_prosthetics registers nothing and is not kept.
   */
  async devices<T extends { prostheticIds: readonly number[]; chipIds: readonly string[] }>(
    key: string,
    userId: number,
    load: () => Promise<T>,
  ): Promise<T> {
    return this.get(key, userId, load, { registers: true, tables: [DEVICE_TABLE] });
  }

  private registerDevices(userId: number, prosthetics: readonly number[], chips: readonly string[]): void {
    this.forgetDevices(userId);
    for (const id of prosthetics) this.ownerOfProsthetic.set(id, userId);
    for (const chip of chips) this.ownerOfChip.set(chip, userId);
    this.registered.set(userId, { prosthetics: [...prosthetics], chips: [...chips] });
  }

  private token(userId: number, tables: ReadonlySet<string> | null): string {
    const generations =
      tables === null
        ? [this.userGeneration.get(userId) ?? 0]
        : [...tables].sort().map((t) => this.tableGeneration.get(`${userId}:${t}`) ?? 0);
    return `${this.epoch}:${generations.join(",")}`;
  }

  /**
   * The value kept under `key` (an entry of `userId`), else `load()`'s, kept when no change of the
   * user to a table it depends on (`tables`, default every table) began or ended while it ran and,
   * if it depends on the user's devices (on dim_prosthetics or on a table naming only devices), the
   * devices are registered (`needsDevices: false`: a value no device change can move, such as whether
   * the user exists). Concurrent callers of one key share one load.
   */
  async get<T>(
    key: string,
    userId: number,
    load: () => Promise<T>,
    options: { needsDevices?: boolean; registers?: boolean; tables?: readonly string[] } = {},
  ): Promise<T> {
    const hit = this.entries.get(key);
    if (hit) {
      this.counters.hits += 1;
      return hit.value as T;
    }
    this.counters.misses += 1;
    const tables = dependencies(options.tables);
    const needsDevices = options.needsDevices ?? (tables === null || tables.has(DEVICE_TABLE));
    const token = this.token(userId, tables);
    const deviceEpoch = this.deviceEpoch;
    const pending = this.loading.get(key);
    if (pending && pending.token === token) return pending.promise as Promise<T>;
    const promise = load().then((value) => {
      let keep = this.token(userId, tables) === token;
      if (keep && options.registers) {
        keep = this.deviceEpoch === deviceEpoch;
        if (keep) {
          const devices = value as { prostheticIds: readonly number[]; chipIds: readonly string[] };
          this.registerDevices(userId, devices.prostheticIds, devices.chipIds);
        }
      } else if (keep && needsDevices) {
        keep = this.registered.has(userId);
      }
      if (keep) {
        this.entries.set(key, { userId, value, tables });
        let keys = this.keysByUser.get(userId);
        if (!keys) this.keysByUser.set(userId, (keys = new Set()));
        keys.add(key);
      } else {
        this.counters.discarded += 1;
      }
      return value;
    });
    const settle = () => {
      if (this.loading.get(key)?.promise === promise) this.loading.delete(key);
    };
    promise.then(settle, settle);
    this.loading.set(key, { token, promise });
    return promise;
  }

  /**
   * data_as_of as last read while that read started less than the maximum age ago; when a chunk was
   * written since, a new read starts in the background and the kept value is returned meanwhile
   * (under ingest a chunk lands every few hundred ms, and the read costs 0.1–0.6 s then). One
   * background read at a time: chunks landing while it runs start none (a read per chunk kept several
   * in flight under ingest); the first request after it ends starts the next.
   */
  async freshness<T>(load: () => Promise<T>): Promise<T> {
    const now = (this.options.now ?? Date.now)();
    const kept = this.freshnessValue;
    if (kept && now - kept.at < this.options.freshnessMaxAgeMs) {
      if (kept.epoch !== this.freshnessEpoch && !this.freshnessLoad)
        this.readFreshness(load, now).catch(() => undefined);
      return kept.value as T;
    }
    return this.readFreshness(load, now);
  }

  /** One read of data_as_of per chunk epoch at a time; a value never replaces one read after it. */
  private readFreshness<T>(load: () => Promise<T>, now: number): Promise<T> {
    const epoch = this.freshnessEpoch;
    if (this.freshnessLoad?.epoch === epoch) return this.freshnessLoad.promise as Promise<T>;
    this.counters.freshnessReads += 1;
    const promise = load().then((value) => {
      if (!this.freshnessValue || this.freshnessValue.at <= now)
        this.freshnessValue = { value, at: now, epoch };
      return value;
    });
    this.freshnessLoad = { epoch, promise };
    const settle = () => {
      if (this.freshnessLoad?.promise === promise) this.freshnessLoad = null;
    };
    promise.then(settle, settle);
    return promise;
  }
}
