import type { Session } from "fastify";

interface Entry {
  session: Session;
  createdAt: number;
  lastUsedAt: number;
}

export interface SessionStoreOptions {
  /** Sessions kept at most: the least recently used is evicted first. */
  maxSessions: number;
  /** A session not used for this long is gone. */
  idleMs: number;
  /** A session is gone this long after it was created (the BFF creates one per login). */
  maxAgeMs: number;
  now?: () => number;
}

type Callback = (error?: unknown) => void;

/**
 * The BFF's server-side session store (the @fastify/session store interface): tokens live here, in
 * this process's memory, never in the browser. Bounded three ways — a number of sessions (the least
 * recently used is evicted), an idle timeout and an absolute lifetime — so neither many logins nor
 * abandoned sessions grow memory without limit. A Map keeps entries in use order (a read moves an
 * entry to the end), so expired and evicted entries are always at the front. Sessions do not survive
 * a restart: users log in again (Keycloak's SSO session usually makes that one redirect).
 */
export class BoundedSessionStore {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;

  constructor(private readonly options: SessionStoreOptions) {
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  private expired(entry: Entry, at: number): boolean {
    return at - entry.lastUsedAt > this.options.idleMs || at - entry.createdAt > this.options.maxAgeMs;
  }

  /** Drops expired entries from the front (the least recently used), then the oldest beyond the bound. */
  private sweep(at: number): void {
    for (const [id, entry] of this.entries) {
      if (!this.expired(entry, at)) break;
      this.entries.delete(id);
    }
    while (this.entries.size > this.options.maxSessions) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  set(sessionId: string, session: Session, callback: Callback): void {
    const at = this.now();
    const existing = this.entries.get(sessionId);
    this.entries.delete(sessionId);
    this.entries.set(sessionId, { session, createdAt: existing?.createdAt ?? at, lastUsedAt: at });
    this.sweep(at);
    callback();
  }

  get(sessionId: string, callback: (error: unknown, session?: Session | null) => void): void {
    const at = this.now();
    const entry = this.entries.get(sessionId);
    if (!entry) return callback(null, null);
    this.entries.delete(sessionId);
    if (this.expired(entry, at)) return callback(null, null);
    entry.lastUsedAt = at;
    this.entries.set(sessionId, entry);
    callback(null, entry.session);
  }

  destroy(sessionId: string, callback: Callback): void {
    this.entries.delete(sessionId);
    callback();
  }
}
