import { describe, expect, it } from "vitest";
import { ApiError } from "../errors.js";
import { sqlFormat } from "./accept.js";
import { parseAst } from "./guard.js";
import { isAllowedRelation, isForbiddenFunction } from "./policy.js";
import { csvRecordCount } from "./runner.js";

describe("output format negotiation", () => {
  it("the format field wins, then Accept by q-value, JSON by default", () => {
    expect(sqlFormat("csv", "application/json")).toBe("csv");
    expect(sqlFormat(undefined, undefined)).toBe("json");
    expect(sqlFormat(undefined, "text/csv")).toBe("csv");
    expect(sqlFormat(undefined, "application/json;q=0.4, text/csv;q=0.9")).toBe("csv");
    expect(sqlFormat(undefined, "text/*")).toBe("csv");
    expect(sqlFormat(undefined, "*/*")).toBe("json");
    expect(sqlFormat(undefined, "text/html, */*;q=0.1")).toBe("json");
  });

  it("406 when neither JSON nor CSV is acceptable", () => {
    for (const accept of ["application/xml", "text/csv;q=0, application/json;q=0"]) {
      expect(() => sqlFormat(undefined, accept)).toThrow(ApiError);
    }
  });
});

describe("EXPLAIN AST text", () => {
  it("becomes a tree: types, names without alias and child counts", () => {
    const [root] = parseAst([
      "SelectWithUnionQuery (children 1)",
      " ExpressionList (children 1)",
      "  SelectQuery (children 2)",
      "   ExpressionList (children 1)",
      "    Function count (alias n) (children 1)",
      "     ExpressionList",
      "   TablesInSelectQuery (children 1)",
      "    TablesInSelectQueryElement (children 1)",
      "     TableExpression (children 1)",
      "      TableIdentifier reports.ml_users (alias u)",
    ]);
    const select = root?.children[0]?.children[0];
    expect(select?.type).toBe("SelectQuery");
    expect(select?.children[0]?.children[0]).toMatchObject({ type: "Function", name: "count" });
    expect(select?.children[1]?.children[0]?.children[0]?.children[0]).toEqual({
      type: "TableIdentifier",
      name: "reports.ml_users",
      children: [],
    });
  });
});

describe("what ML may read", () => {
  it("ml_* views and mart tables only", () => {
    expect(isAllowedRelation({ name: "ml_users", engine: "View" })).toBe(true);
    expect(isAllowedRelation({ name: "ml_users", engine: "MergeTree" })).toBe(false);
    // Only the declared views (clickhouse/access/ml-views.ts), not whatever is named ml_*.
    expect(isAllowedRelation({ name: "ml_users_with_email", engine: "View" })).toBe(false);
    expect(isAllowedRelation({ name: "user_payment_monthly", engine: "AggregatingMergeTree" })).toBe(true);
    expect(isAllowedRelation({ name: "dim_users", engine: "ReplacingMergeTree" })).toBe(false);
    expect(isAllowedRelation({ name: "payment_changes", engine: "MergeTree" })).toBe(false);
  });

  it("functions that reach outside the query, in any case", () => {
    for (const name of [
      "file",
      "FILE",
      "dictGet",
      "dictGetString",
      "joinGet",
      "hasColumnInTable",
      "filesystemFree",
    ])
      expect(isForbiddenFunction(name), name).toBe(true);
    for (const name of ["count", "sumMerge", "toStartOfMonth", "profile"])
      expect(isForbiddenFunction(name), name).toBe(false);
  });
});

describe("CSV records", () => {
  it("counts records, not line breaks inside quoted fields", () => {
    expect(csvRecordCount("")).toBe(0);
    expect(csvRecordCount('"a","b"\n1,2\n')).toBe(2);
    expect(csvRecordCount('"a"\n"x\ny"\n"say ""hi""\n"\n')).toBe(3);
    expect(csvRecordCount('"a"\n1')).toBe(2);
  });
});
