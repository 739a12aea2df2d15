import { describe, expect, it } from "vitest";
import { ApiError } from "../errors.js";
import { reportUserFor } from "./access.js";
import { parseCrmUserId, principalFromClaims, type Principal, type Role } from "./principal.js";

const principal = (roles: Role[], crmUserId: number | null = null): Principal => ({
  subject: "s",
  roles: new Set(roles),
  crmUserId,
});
const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ApiError) return error.code;
    throw error;
  }
  return null;
};

describe("crm_user_id claim", () => {
  it("a JSON number or a decimal string, 1..2147483647", () => {
    expect(parseCrmUserId(7)).toBe(7);
    expect(parseCrmUserId("7")).toBe(7);
    expect(parseCrmUserId("2147483647")).toBe(2147483647);
    expect(parseCrmUserId(undefined)).toBeNull();
    for (const bad of [0, -1, 1.5, 2147483648, "07", "7 ", "1e3", "", "abc", true, [7], { id: 7 }])
      expect(
        codeOf(() => parseCrmUserId(bad)),
        JSON.stringify(bad),
      ).toBe("AUTH_TOKEN_CLAIMS");
  });

  it("roles come from realm_access.roles; unknown roles and odd shapes count as none", () => {
    const p = principalFromClaims({
      sub: "x",
      realm_access: { roles: ["support", "offline_access", 5] },
      resource_access: { "reports-api": { roles: ["admin"] } },
    });
    expect([...p.roles]).toEqual(["support"]);
    expect([...principalFromClaims({ sub: "x", realm_access: "admin" }).roles]).toEqual([]);
    expect(codeOf(() => principalFromClaims({ realm_access: { roles: [] } }))).toBe("AUTH_TOKEN_CLAIMS");
  });
});

describe("whose report", () => {
  it("an owner reads their own user; any other id answers like an unknown user", () => {
    const owner = principal(["prosthesis_owner"], 5);
    expect(reportUserFor(owner, undefined)).toBe(5);
    expect(reportUserFor(owner, 5)).toBe(5);
    expect(codeOf(() => reportUserFor(owner, 6))).toBe("USER_NOT_FOUND");
    expect(codeOf(() => reportUserFor(principal(["prosthesis_owner"]), undefined))).toBe("CRM_USER_MISSING");
  });

  it("staff name any user and must name one; other roles read no report", () => {
    expect(reportUserFor(principal(["support"]), 9)).toBe(9);
    expect(reportUserFor(principal(["admin", "prosthesis_owner"], 5), 9)).toBe(9);
    expect(codeOf(() => reportUserFor(principal(["admin"]), undefined))).toBe("USER_ID_REQUIRED");
    expect(codeOf(() => reportUserFor(principal(["ml_engineer"]), 1))).toBe("FORBIDDEN_ROLE");
    expect(codeOf(() => reportUserFor(principal([]), 1))).toBe("FORBIDDEN_ROLE");
  });
});
