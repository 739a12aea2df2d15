import { describe, expect, it } from "vitest";
import { ClaimMirror, type Claim } from "./pipeline-state.js";

const at = { topic: "bionicpro.crm.crm_payments", partition: 0 };
const claim = (epoch: bigint, member: string, where = at): Claim => ({ ...where, epoch, member });

describe("ClaimMirror: the fence of the embedded engine, without a query", () => {
  it("holds only the newest claim of a partition, ordered as partition_claims orders them", () => {
    const mirror = new ClaimMirror();
    const a = claim(1n, "member-a");
    expect(mirror.holds("reports", "g", a)).toBe(false);
    mirror.made("reports", "g", a);
    expect(mirror.holds("reports", "g", a)).toBe(true);
    // A later claim (the next join's owner) fences the earlier one off.
    const b = claim(2n, "member-b");
    mirror.made("reports", "g", b);
    expect(mirror.holds("reports", "g", a)).toBe(false);
    expect(mirror.holds("reports", "g", b)).toBe(true);
    // Two members computing the same epoch in a race: the larger member wins, as max((epoch, member)).
    const c = claim(2n, "member-c");
    mirror.made("reports", "g", c);
    expect(mirror.holds("reports", "g", b)).toBe(false);
    expect(mirror.holds("reports", "g", c)).toBe(true);
    mirror.made("reports", "g", claim(2n, "member-a"));
    expect(mirror.holds("reports", "g", c)).toBe(true);
    expect(mirror.holds("reports", "g", claim(2n, "member-a"))).toBe(false);
  });

  it("follows the table when it was emptied: a claim below the known one is the newest there", () => {
    const mirror = new ClaimMirror();
    mirror.made("shadow", "g", claim(5n, "member-a"));
    const again = claim(1n, "member-b");
    mirror.made("shadow", "g", again);
    expect(mirror.holds("shadow", "g", again)).toBe(true);
    expect(mirror.holds("shadow", "g", claim(5n, "member-a"))).toBe(false);
  });

  it("keeps partitions, groups and databases apart", () => {
    const mirror = new ClaimMirror();
    const mine = claim(3n, "member-a");
    mirror.made("reports", "g", mine);
    expect(mirror.holds("reports", "other-group", mine)).toBe(false);
    expect(mirror.holds("shadow", "g", mine)).toBe(false);
    const otherPartition = claim(3n, "member-a", { ...at, partition: 1 });
    expect(mirror.holds("reports", "g", otherPartition)).toBe(false);
    mirror.made("reports", "g", claim(4n, "member-b", { ...at, partition: 1 }));
    expect(mirror.holds("reports", "g", mine)).toBe(true);
  });
});
