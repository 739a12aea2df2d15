import { randomBytes } from "node:crypto";

/**
 * One change of the marts, as the live stream needs it: which subjects it may have changed. `all`
 * when it cannot tell (a TRUNCATE or snapshot reset; server mode, where only progress is polled).
 */
export interface MartsChange {
  users: ReadonlySet<number>;
  prosthetics: ReadonlySet<number>;
  chips: ReadonlySet<string>;
  /** ClickHouse tables written (consumers/src/mapping/types.ts targetTables). */
  tables: ReadonlySet<string>;
  all: boolean;
}

export interface SequencedChange extends MartsChange {
  /** 1, 2, … in publication order within this feed's epoch. */
  seq: number;
}

export type ChangeListener = (change: SequencedChange) => void;

/** A change that may touch every user and every section. */
export const everything: MartsChange = Object.freeze({
  users: new Set<number>(),
  prosthetics: new Set<number>(),
  chips: new Set<string>(),
  tables: new Set<string>(),
  all: true,
});

/**
 * The changes of the marts in order, numbered, the newest `retain` kept so that a stream resuming
 * from an event id (`<epoch>.<seq>`) learns what it missed. The epoch is random per feed (per API
 * process): an id of another epoch, or older than what is kept, means "send everything again".
 */
export class LiveFeed {
  readonly epoch: string = randomBytes(6).toString("base64url");
  private current = 0;
  private readonly kept: SequencedChange[] = [];
  private readonly listeners = new Set<ChangeListener>();

  constructor(private readonly retain = 4096) {}

  get seq(): number {
    return this.current;
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  publish(change: MartsChange): SequencedChange {
    const sequenced = { ...change, seq: ++this.current };
    this.kept.push(sequenced);
    if (this.kept.length > this.retain) this.kept.splice(0, this.kept.length - this.retain);
    for (const listener of this.listeners) listener(sequenced);
    return sequenced;
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** The event id of the state after change `seq`. */
  eventId(seq: number): string {
    return `${this.epoch}.${seq}`;
  }

  /**
   * The changes after the one an event id names, or null when they are not known (no id, another
   * epoch, a malformed id, or older than what is kept): the stream then sends everything.
   */
  changesSince(lastEventId: string | undefined): SequencedChange[] | null {
    if (!lastEventId) return null;
    const match = /^([A-Za-z0-9_-]+)\.(\d{1,15})$/.exec(lastEventId.trim());
    if (!match || match[1] !== this.epoch) return null;
    const seq = Number(match[2]);
    if (seq > this.current) return null;
    if (seq === this.current) return [];
    const oldest = this.kept[0]?.seq ?? this.current + 1;
    if (seq + 1 < oldest) return null;
    return this.kept.filter((c) => c.seq > seq);
  }
}
