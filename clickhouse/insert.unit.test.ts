import { describe, expect, it } from "vitest";
import { insertStatement } from "./insert.js";
import { stringLiteral } from "./sql.js";

describe("insertStatement", () => {
  it("writes every dedup setting into the INSERT and the rows as one JSON array", () => {
    expect(
      insertStatement(
        "reports.payment_changes",
        [{ payment_id: 1, amount: "10.50", note: null }],
        "g:t:0:1-2:x",
      ),
    ).toBe(
      "INSERT INTO reports.payment_changes SETTINGS insert_deduplicate = 1, " +
        "insert_deduplication_token = 'g:t:0:1-2:x', deduplicate_blocks_in_dependent_materialized_views = 1 " +
        'FORMAT JSONEachRow\n[{"payment_id":1,"amount":"10.50","note":null}]',
    );
  });

  it("turns deduplication off for an empty token", () => {
    expect(insertStatement("db.t", [{ a: 1 }], "")).toBe(
      "INSERT INTO db.t SETTINGS insert_deduplicate = 0, insert_deduplication_token = '', " +
        'deduplicate_blocks_in_dependent_materialized_views = 0 FORMAT JSONEachRow\n[{"a":1}]',
    );
  });

  it("escapes a token's quotes and backslashes, refuses a table name that is not db.table", () => {
    expect(stringLiteral("a'b\\c")).toBe("'a\\'b\\\\c'");
    expect(() => insertStatement("t; DROP TABLE x", [{ a: 1 }], "")).toThrow(/invalid table name/);
  });
});
