import { describe, expect, it } from "vitest";
import { addMonths, rangeParams } from "./marts/range.js";
import { toDecimal2, toTimestamp } from "./marts/values.js";
import { splitStatements } from "./split-statements.js";
import { assertDatabaseName, bindParams, stringLiteral, uintLiteral, withDatabase } from "./sql.js";

describe("splitStatements", () => {
  it("splits at top-level semicolons only", () => {
    const script = `-- header; not a statement
CREATE TABLE a (s String DEFAULT 'x;y') ENGINE = Memory;
/* block; comment */
CREATE VIEW "b;c" AS SELECT 'it''s;' AS t, \`q;\` FROM a;
-- trailing comment only
`;
    expect(splitStatements(script)).toEqual([
      "-- header; not a statement\nCREATE TABLE a (s String DEFAULT 'x;y') ENGINE = Memory",
      "/* block; comment */\nCREATE VIEW \"b;c\" AS SELECT 'it''s;' AS t, `q;` FROM a",
    ]);
  });
});

describe("database names", () => {
  it("substitutes ${db} and rejects anything but identifiers", () => {
    expect(withDatabase("SELECT * FROM ${db}.t JOIN ${db}.u", "shadow_1")).toBe(
      "SELECT * FROM shadow_1.t JOIN shadow_1.u",
    );
    for (const bad of ["", "1abc", "a-b", "a;DROP", "a.b"])
      expect(() => assertDatabaseName(bad)).toThrow(/invalid/);
  });
});

describe("literals", () => {
  it("escapes quotes and backslashes in strings and accepts only unsigned integers", () => {
    expect(stringLiteral("a'b\\c")).toBe("'a\\'b\\\\c'");
    expect(stringLiteral("' OR 1 = 1 --")).toBe("'\\' OR 1 = 1 --'");
    expect(uintLiteral(0)).toBe("0");
    expect(uintLiteral(4294967295)).toBe("4294967295");
    expect(uintLiteral(18446744073709551615n)).toBe("18446744073709551615");
    for (const bad of [-1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1, -1n]) {
      expect(() => uintLiteral(bad)).toThrow(/not an unsigned integer/);
    }
  });
});

describe("bindParams (query parameters rendered in process)", () => {
  it("renders each typed placeholder as an escaped literal cast to its type", () => {
    expect(
      bindParams(
        "SELECT 1 FROM t WHERE user_id IN {ids:Array(Int32)} AND d >= {from:Date} AND s = {s:String} AND n < {n:UInt128} AND x = {ids2:Array(String)}",
        { ids: [1, -2], from: "2026-10-01", s: "it's \\ {x:String}", n: 10n, ids2: ["a'b"] },
      ),
    ).toBe(
      "SELECT 1 FROM t WHERE user_id IN CAST([1, -2] AS Array(Int32)) AND d >= CAST('2026-10-01' AS Date) AND s = CAST('it\\'s \\\\ {x:String}' AS String) AND n < CAST(10 AS UInt128) AND x = CAST(['a\\'b'] AS Array(String))",
    );
    expect(bindParams("SELECT {a:Int32}, {a:Int32}", { a: "7" })).toBe(
      "SELECT CAST(7 AS Int32), CAST(7 AS Int32)",
    );
    expect(bindParams("SELECT {e:Array(Int32)}", { e: [] })).toBe("SELECT CAST([] AS Array(Int32))");
  });

  it("refuses a missing value, a value of the wrong kind and a type it does not render", () => {
    expect(() => bindParams("SELECT {a:Int32}", {})).toThrow("query parameter a has no value");
    expect(() => bindParams("SELECT {a:Int32}", { a: "1 OR 1" })).toThrow("needs an integer");
    expect(() => bindParams("SELECT {a:Int32}", { a: 1.5 })).toThrow("needs an integer");
    expect(() => bindParams("SELECT {a:Array(Int32)}", { a: "[1]" })).toThrow("needs an array");
    expect(() => bindParams("SELECT {a:String}", { a: 1 })).toThrow("needs a string");
    expect(() => bindParams("SELECT {a:Identifier}", { a: "t" })).toThrow("type Identifier is not supported");
    expect(() => bindParams("SELECT {a:DateTime64(3, 'UTC')}", { a: "x" })).toThrow("is not supported");
  });
});

describe("month ranges and values", () => {
  it("adds months across years and derives query bounds", () => {
    expect(addMonths("2024-12", 1)).toBe("2025-01");
    expect(addMonths("2024-01", -1)).toBe("2023-12");
    expect(rangeParams({ from: "2023-12", to: "2024-02" })).toEqual({
      from: "2023-12-01",
      to: "2024-02-01",
      to_end: "2024-03-01",
    });
    expect(() => rangeParams({ from: "2024-03", to: "2024-02" })).toThrow(/empty/);
    expect(() => rangeParams({ from: "2024-13", to: "2024-02" })).toThrow(/YYYY-MM/);
  });

  it("normalises decimals to two fraction digits exactly", () => {
    expect(["2999", "8997.5", "0", "-12.5", "-0", "12345678901234567890.01"].map(toDecimal2)).toEqual([
      "2999.00",
      "8997.50",
      "0.00",
      "-12.50",
      "0.00",
      "12345678901234567890.01",
    ]);
    expect(() => toDecimal2("1.234")).toThrow();
    expect(toTimestamp("1970-01-01 00:00:00.000")).toBeNull();
  });
});
