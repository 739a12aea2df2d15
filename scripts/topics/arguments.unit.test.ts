import { InvalidArgumentError } from "commander";
import { describe, expect, it } from "vitest";
import { parseKeyFilter, parseLimit, parsePositions, parseSince } from "./arguments.js";

describe("parseSince", () => {
  it("reads earliest, latest and offsets", () => {
    expect(parseSince("earliest")).toEqual({ kind: "earliest" });
    expect(parseSince("latest")).toEqual({ kind: "latest" });
    expect(parseSince("0")).toEqual({ kind: "offset", offset: 0n });
    expect(parseSince("9007199254740993")).toEqual({ kind: "offset", offset: 9007199254740993n });
  });

  it("reads ISO times with a zone, and a bare date as UTC midnight", () => {
    expect(parseSince("2026-12-04T10:00:00Z")).toEqual({ kind: "time", ms: Date.UTC(2026, 11, 4, 10) });
    expect(parseSince("2026-12-04T10:00:00.250Z")).toEqual({
      kind: "time",
      ms: Date.UTC(2026, 11, 4, 10, 0, 0, 250),
    });
    expect(parseSince("2026-12-04T12:30+02:00")).toEqual({ kind: "time", ms: Date.UTC(2026, 11, 4, 10, 30) });
    expect(parseSince("2026-12-04")).toEqual({ kind: "time", ms: Date.UTC(2026, 11, 4) });
  });

  it("refuses times without a zone, impossible dates and anything else", () => {
    for (const bad of [
      "2026-12-04T10:00:00",
      "2026-02-30",
      "2026-12-04T24:00:00Z",
      "-1",
      "1.5",
      "yesterday",
      "",
    ]) {
      expect(() => parseSince(bad), bad).toThrow(InvalidArgumentError);
    }
  });
});

describe("parsePositions", () => {
  it("reads partition:offset lists in order", () => {
    expect(parsePositions("0:12, 1:3,0:9007199254740993")).toEqual([
      { partition: 0, offset: "12" },
      { partition: 1, offset: "3" },
      { partition: 0, offset: "9007199254740993" },
    ]);
  });

  it("refuses malformed and repeated positions", () => {
    expect(() => parsePositions("12")).toThrow(
      'expected partition:offset[,partition:offset...], e.g. 0:12,0:15; got "12"',
    );
    expect(() => parsePositions("0:-1")).toThrow(InvalidArgumentError);
    expect(() => parsePositions("0:1,")).toThrow(InvalidArgumentError);
    expect(() => parsePositions("0:01,0:1")).toThrow("0:1 is named twice");
  });
});

describe("parseLimit", () => {
  it("takes positive integers only", () => {
    expect(parseLimit("25")).toBe(25);
    for (const bad of ["0", "-3", "2.5", "ten", ""])
      expect(() => parseLimit(bad), bad).toThrow(InvalidArgumentError);
  });
});

describe("parseKeyFilter", () => {
  it("reads a bare value or field=value pairs", () => {
    expect(parseKeyFilter("9000001")).toEqual({ kind: "value", value: "9000001" });
    expect(parseKeyFilter("a=b=c")).toEqual({ kind: "fields", fields: { a: "b=c" } });
    expect(parseKeyFilter("user_id=7,day=20000")).toEqual({
      kind: "fields",
      fields: { user_id: "7", day: "20000" },
    });
    expect(parseKeyFilter("=7")).toEqual({ kind: "value", value: "=7" });
  });

  it("refuses an empty key and a malformed pair", () => {
    expect(() => parseKeyFilter("")).toThrow(InvalidArgumentError);
    expect(() => parseKeyFilter("user_id=7,9")).toThrow('expected field=value, got "9"');
  });
});
