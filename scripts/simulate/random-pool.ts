import type { Rng } from "../generate/prng.js";

/** A bag with O(1) add, random pick and random removal (swap with the last element). */
export class RandomPool<T> {
  private readonly items: T[] = [];

  constructor(items: Iterable<T> = []) {
    for (const item of items) this.items.push(item);
  }

  get size(): number {
    return this.items.length;
  }

  add(item: T): void {
    this.items.push(item);
  }

  pick(rng: Rng): T | undefined {
    return this.items[Math.floor(rng.next() * this.items.length)];
  }

  take(rng: Rng): T | undefined {
    if (this.items.length === 0) return undefined;
    const index = Math.floor(rng.next() * this.items.length);
    const item = this.items[index] as T;
    const last = this.items.pop() as T;
    if (index < this.items.length) this.items[index] = last;
    return item;
  }
}
