/**
 * Seeded pseudo-random numbers: mulberry32 for the stream, a murmur3-style mix to derive
 * independent sub-streams. Every random choice of the generator goes through here, so the
 * same seed always yields the same data, and a sub-stream per (table, device, day) keeps one
 * table's rows independent of the order in which the others are produced.
 */

type Key = string | number;

function mixKey(hash: number, key: number): number {
  let k = Math.imul(key, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  let h = hash ^ k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finalMix(hash: number): number {
  let h = hash ^ (hash >>> 16);
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A 32-bit seed derived from the run seed and a path of keys, e.g. ("day", prostheticId, dayIndex). */
export function deriveSeed(seed: number, keys: readonly Key[]): number {
  let h = mixKey(0x9747b28c, seed >>> 0);
  // Seeds above 2^32 still count: fold the high part in.
  h = mixKey(h, Math.floor(seed / 4294967296));
  for (const key of keys) {
    if (typeof key === "number") {
      h = mixKey(h, key | 0);
      h = mixKey(h, Math.floor(key / 4294967296));
    } else {
      for (let i = 0; i < key.length; i++) h = mixKey(h, key.charCodeAt(i));
      h = mixKey(h, key.length);
    }
  }
  return finalMix(h);
}

export class Rng {
  private state: number;
  private spareNormal: number | undefined;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1): mulberry32. */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  float(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error("pick from an empty list");
    return item;
  }

  weighted<T>(entries: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, weight] of entries) total += weight;
    let target = this.next() * total;
    for (const [value, weight] of entries) {
      target -= weight;
      if (target < 0) return value;
    }
    const last = entries[entries.length - 1];
    if (last === undefined) throw new Error("weighted pick from an empty list");
    return last[0];
  }

  /** Gaussian via Box-Muller; the second value of each pair is kept for the next call. */
  normal(mean: number, sd: number): number {
    if (this.spareNormal !== undefined) {
      const z = this.spareNormal;
      this.spareNormal = undefined;
      return mean + sd * z;
    }
    const u = 1 - this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return mean + sd * r * Math.cos(2 * Math.PI * v);
  }

  /** Poisson count: Knuth's product method for small means, a rounded normal above (fast, close enough). */
  poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean > 30) return Math.max(0, Math.round(this.normal(mean, Math.sqrt(mean))));
    const limit = Math.exp(-mean);
    let count = 0;
    let product = this.next();
    while (product > limit) {
      count++;
      product *= this.next();
    }
    return count;
  }

  /** Fisher-Yates, in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  hex(length: number): string {
    let out = "";
    while (out.length < length)
      out += Math.floor(this.next() * 65536)
        .toString(16)
        .padStart(4, "0");
    return out.slice(0, length);
  }

  /** An RFC 4122 version-4 shaped UUID drawn from this stream (not crypto-random, on purpose). */
  uuid(): string {
    const h = this.hex(32);
    const variant = ((parseInt(h[16] ?? "0", 16) & 0x3) | 0x8).toString(16);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}

export function rngFor(seed: number, ...keys: Key[]): Rng {
  return new Rng(deriveSeed(seed, keys));
}
