import { LRUCache } from "lru-cache";

/** What a chunk of the consumers is about to change or changed (consumers' MartsTouch). */
export interface CacheTouch {
  users: readonly number[];
  prosthetics: readonly number[];
  chips: readonly string[];
  tables: readonly string[];
  reset: boolean;
}

/** Tables whose change may move a device to another user or a user's existence: every entry goes. */
const SCOPE_TABLES = new Set(["dim_prosthetics", "dim_users"]);

export interface ReportCacheStats {
  hits: number;
  misses: number;
  /** Reads whose result was not kept because a change of their user began or ended meanwhile. */
  discarded: number;
  entries: number;
}

interface Entry {
  userId: number;
  value: unknown;
}

/**
 * The marts' rows the reports are computed from, per user, kept until a change of that user is
 * written. Exact by construction: the consumers in this process tell the cache before they write a
 * chunk (`invalidate` on "applying": entries of the users it names are dropped) and again after it is
 * recorded applied (reads that overlapped the write are not kept either, since each user's generation
 * moved). A chunk naming a prosthesis or chip reaches its owner through the devices registered with
 * `registerDevices` (read before any entry of the user is kept); a change of dim_prosthetics or
 * dim_users, a TRUNCATE or a snapshot drops everything. Freshness (data_as_of) is kept at most
 * `freshnessMaxAgeMs` and dropped at every chunk: an older data_as_of is still true ("complete up
 * to"), and reports read it before their rows, so the rows are never older than it claims.
 *
 * Only where every write to the marts passes through `invalidate` (the embedded default: consumers
 * and API in one process) may a cache be used; the API in server mode reads without one.
 */
export class ReportCache {
  private readonly entries: LRUCache<string, Entry>;
  private readonly keysByUser = new Map<number, Set<string>>();
  private readonly ownerOfProsthetic = new Map<number, number>();
  private readonly ownerOfChip = new Map<string, number>();
  /** Bumped when everything goes. */
  private epoch = 0;
  /** Bumped for a user when a change names them. */
  private readonly userGeneration = new Map<number, number>();
  private readonly loading = new Map<string, { token: string; promise: Promise<unknown> }>();
  private freshnessEpoch = 0;
  private freshnessValue: { value: unknown; at: number } | null = null;
  private freshnessLoad: { epoch: number; promise: Promise<unknown> } | null = null;
  private counters = { hits: 0, misses: 0, discarded: 0 };

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
    this.freshnessValue = null;
    if (touch.reset || touch.tables.some((t) => SCOPE_TABLES.has(t))) {
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
    for (const userId of users) {
      this.userGeneration.set(userId, (this.userGeneration.get(userId) ?? 0) + 1);
      for (const key of [...(this.keysByUser.get(userId) ?? [])]) this.entries.delete(key);
    }
  }

  /** Drops everything (and the device owners learnt). */
  clear(): void {
    this.epoch += 1;
    this.entries.clear();
    this.keysByUser.clear();
    this.ownerOfProsthetic.clear();
    this.ownerOfChip.clear();
    this.userGeneration.clear();
  }

  /** The user's devices: changes naming them drop the user's entries from now on. */
  registerDevices(userId: number, prosthetics: readonly number[], chips: readonly string[]): void {
    for (const id of prosthetics) this.ownerOfProsthetic.set(id, userId);
    for (const chip of chips) this.ownerOfChip.set(chip, userId);
  }

  private token(userId: number): string {
    return `${this.epoch}:${this.userGeneration.get(userId) ?? 0}`;
  }

  /**
   * The value kept under `key` (an entry of `userId`), else `load()`'s, kept when no change of the
   * user began or ended while it ran. Concurrent callers of one key share one load.
   */
  async get<T>(key: string, userId: number, load: () => Promise<T>): Promise<T> {
    const hit = this.entries.get(key);
    if (hit) {
      this.counters.hits += 1;
      return hit.value as T;
    }
    this.counters.misses += 1;
    const token = this.token(userId);
    const pending = this.loading.get(key);
    if (pending && pending.token === token) return pending.promise as Promise<T>;
    const promise = load().then((value) => {
      if (this.token(userId) === token) {
        this.entries.set(key, { userId, value });
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

  /** data_as_of as last read when no chunk was written since and it is younger than the maximum age. */
  async freshness<T>(load: () => Promise<T>): Promise<T> {
    const now = (this.options.now ?? Date.now)();
    const kept = this.freshnessValue;
    if (kept && now - kept.at < this.options.freshnessMaxAgeMs) return kept.value as T;
    const epoch = this.freshnessEpoch;
    if (this.freshnessLoad?.epoch === epoch) return this.freshnessLoad.promise as Promise<T>;
    const promise = load();
    this.freshnessLoad = { epoch, promise };
    try {
      const value = await promise;
      if (this.freshnessEpoch === epoch) this.freshnessValue = { value, at: now };
      return value;
    } finally {
      if (this.freshnessLoad?.promise === promise) this.freshnessLoad = null;
    }
  }
}
