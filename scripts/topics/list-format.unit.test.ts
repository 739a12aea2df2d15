import { describe, expect, it } from "vitest";
import { formatTopicListing } from "./list.js";
import { formatSchemaDiff, formatSchemaList } from "./schemas.js";
import { formatTable } from "./text-table.js";

describe("formatTable", () => {
  it("pads every column but the last to its widest cell", () => {
    expect(
      formatTable(
        ["A", "BB", "C"],
        [
          ["xxx", "y", ""],
          ["z", "", "end"],
        ],
      ),
    ).toEqual(["A    BB  C", "xxx  y", "z        end"]);
  });
});

describe("text output", () => {
  it("lists topics, then each group's lag", () => {
    const lines = formatTopicListing({
      topics: [
        {
          topic: "p.crm.crm_payments",
          cleanupPolicy: "delete",
          retentionMs: "-1",
          partitions: [{ partition: 0, low: "0", high: "5" }],
        },
      ],
      lag: [
        { group: "marts", topic: "p.crm.crm_payments", partition: 0, committed: "2", end: "5", lag: "3" },
      ],
    });
    expect(lines).toEqual([
      "TOPIC               PARTITION  LOW  HIGH  CLEANUP.POLICY  RETENTION.MS",
      "p.crm.crm_payments  0          0    5     delete          -1",
      "",
      "GROUP  TOPIC               PARTITION  COMMITTED  END  LAG",
      "marts  p.crm.crm_payments  0          2          5    3",
    ]);
    expect(formatTopicListing({ topics: [], lag: [] })).toEqual(["no topics"]);
  });

  it("lists subjects and prints a diff", () => {
    expect(
      formatSchemaList([
        {
          subject: "p.crm.crm_payments-value",
          versions: [
            { version: 1, id: 4 },
            { version: 2, id: 31 },
          ],
        },
      ]),
    ).toEqual(["SUBJECT                   VERSIONS  IDS", "p.crm.crm_payments-value  1,2       4,31"]);
    expect(
      formatSchemaDiff({
        subject: "p.crm.crm_payments-value",
        from: { version: 1, id: 4 },
        to: { version: 2, id: 31 },
        changes: [
          {
            change: "added",
            field: "Value.note",
            to: { field: "Value.note", type: "null | string", default: "null" },
          },
        ],
      }),
    ).toEqual([
      "p.crm.crm_payments-value: version 1 (id 4) -> version 2 (id 31)",
      "  + Value.note: null | string = null",
    ]);
  });
});
