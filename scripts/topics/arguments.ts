import { InvalidArgumentError } from "commander";

/**
 * Parsers of the topics commands' arguments. Each throws commander's InvalidArgumentError, which the
 * CLI reports as a usage error (exit 2).
 */

/** Where `topics tail` starts reading each partition. */
export type Since =
  | { kind: "earliest" }
  | { kind: "latest" }
  /** The same offset in every partition (clamped to what the partition holds). */
  | { kind: "offset"; offset: bigint }
  /** The first record at or after this time (Kafka record timestamps), per partition. */
  | { kind: "time"; ms: number };

const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** `earliest`, `latest`, an offset (`1234`), or an ISO time with a zone (`2026-12-04T10:00:00Z`; a bare date is UTC midnight). */
export function parseSince(text: string): Since {
  const value = text.trim();
  if (value === "earliest" || value === "latest") return { kind: value };
  if (/^\d+$/.test(value)) return { kind: "offset", offset: BigInt(value) };
  const match = ISO_TIME.exec(value);
  if (match) {
    const [year, month, day, hour = 0, minute = 0, second = 0] = match
      .slice(1, 7)
      .map((part) => (part === undefined ? undefined : Number(part))) as number[];
    const date = new Date(Date.UTC(year as number, (month as number) - 1, day as number));
    const validDate = date.getUTCMonth() === (month as number) - 1 && date.getUTCDate() === day;
    const validTime = hour < 24 && minute < 60 && second < 60;
    const ms = Date.parse(match[4] === undefined ? `${value}T00:00:00Z` : value);
    if (validDate && validTime && !Number.isNaN(ms)) return { kind: "time", ms };
  }
  throw new InvalidArgumentError(
    "expected earliest, latest, an offset (e.g. 120) or an ISO time with a zone (e.g. 2026-12-04T10:00:00Z or 2026-12-04)",
  );
}

/** A record's position in a topic. Offsets are decimal text (Kafka offsets are 64-bit). */
export interface Position {
  partition: number;
  offset: string;
}

/** `p:o[,p:o...]`, e.g. `0:12,0:15`: distinct positions, in the order given. */
export function parsePositions(text: string): Position[] {
  const positions: Position[] = [];
  const seen = new Set<string>();
  for (const item of text.split(",").map((s) => s.trim())) {
    const match = /^(\d+):(\d+)$/.exec(item);
    if (!match) {
      throw new InvalidArgumentError(
        `expected partition:offset[,partition:offset...], e.g. 0:12,0:15; got "${item}"`,
      );
    }
    const position = { partition: Number(match[1]), offset: BigInt(match[2] as string).toString() };
    const id = `${position.partition}:${position.offset}`;
    if (seen.has(id)) throw new InvalidArgumentError(`${id} is named twice`);
    seen.add(id);
    positions.push(position);
  }
  return positions;
}

export function parseLimit(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidArgumentError("expected a positive integer");
  }
  return value;
}

/**
 * `--key`: a value (`9000001`: a key with one field equal to it) or `field=value[,field=value]`
 * (every named field equal). Values compare as text, so `42` matches an int, a bigint or "42".
 */
export type KeyFilter = { kind: "value"; value: string } | { kind: "fields"; fields: Record<string, string> };

export function parseKeyFilter(text: string): KeyFilter {
  if (text === "") throw new InvalidArgumentError("expected a key value or field=value[,field=value]");
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(text)) return { kind: "value", value: text };
  const fields: Record<string, string> = {};
  for (const part of text.split(",")) {
    const eq = part.indexOf("=");
    const name = part.slice(0, eq).trim();
    if (eq <= 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new InvalidArgumentError(`expected field=value, got "${part}"`);
    }
    fields[name] = part.slice(eq + 1);
  }
  return { kind: "fields", fields };
}

export const CHANGE_OPS = ["c", "u", "d", "r", "t"] as const;
export type ChangeOpFilter = (typeof CHANGE_OPS)[number];
