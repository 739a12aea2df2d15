import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { bearer, startTestApi, type TestApi } from "../../test/harness/api-app.js";
import { TestIssuer } from "../../test/harness/jwt-issuer.js";
import { expectProblem, serverErrors } from "../../test/harness/problems.js";
import type { ErrorCode } from "../errors.js";

/**
 * Authentication and authorization against a local JWKS server: every refused token with its status
 * and code, key rotation with a bounded refetch, roles and the owner's view of other users.
 */
vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

let t: TestApi;
const report = "/reports/user/1?month=2024-02";
const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  t = await startTestApi();
});

afterAll(async () => {
  await t?.close();
});

const get = (url: string, headers: Record<string, string> = {}) =>
  t.app.inject({ method: "GET", url, headers });
const owner1 = (extra: Record<string, unknown> = {}) =>
  t.issuer.claims("owner-1", ["prosthesis_owner"], { crm_user_id: 1, ...extra });

describe("tokens the API refuses", () => {
  const cases: [string, () => Record<string, string>, ErrorCode][] = [
    ["no Authorization header", () => ({}), "AUTH_TOKEN_MISSING"],
    ["a Basic credential", () => ({ authorization: "Basic YWxpY2U6c2VjcmV0" }), "AUTH_TOKEN_MISSING"],
    ["an empty bearer token", () => ({ authorization: "Bearer " }), "AUTH_TOKEN_MALFORMED"],
    ["not a JWT", () => bearer("not-a-jwt"), "AUTH_TOKEN_MALFORMED"],
    [
      "a header that is not JSON",
      () => bearer(`bm90IGpzb24.${t.issuer.mint(owner1()).split(".").slice(1).join(".")}`),
      "AUTH_TOKEN_MALFORMED",
    ],
    [
      "a header without kid",
      () => bearer(t.issuer.mint(owner1(), { header: { kid: undefined } })),
      "AUTH_TOKEN_MALFORMED",
    ],
    ["alg: none", () => bearer(t.issuer.unsigned(owner1())), "AUTH_TOKEN_ALGORITHM"],
    [
      "HS256 signed with the RSA public key",
      () => bearer(t.issuer.hmacWithPublicKey(owner1())),
      "AUTH_TOKEN_ALGORITHM",
    ],
    [
      "an algorithm not configured (RS512)",
      () => bearer(t.issuer.mint(owner1(), { alg: "RS512" })),
      "AUTH_TOKEN_ALGORITHM",
    ],
    [
      "expired beyond the clock skew",
      () => bearer(t.issuer.mint(owner1({ exp: now() - 60 }))),
      "AUTH_TOKEN_EXPIRED",
    ],
    [
      "not valid yet (nbf)",
      () => bearer(t.issuer.mint(owner1({ nbf: now() + 60 }))),
      "AUTH_TOKEN_NOT_YET_VALID",
    ],
    [
      "another issuer",
      () => bearer(t.issuer.mint(owner1({ iss: "http://127.0.0.1:1/realms/evil" }))),
      "AUTH_TOKEN_ISSUER",
    ],
    [
      "another audience",
      () => bearer(t.issuer.mint(owner1({ aud: ["account", "billing-api"] }))),
      "AUTH_TOKEN_AUDIENCE",
    ],
    [
      "a kid the JWKS does not list",
      () => bearer(t.issuer.mint(owner1(), { key: TestIssuer.newKey("ghost-1") })),
      "AUTH_TOKEN_UNKNOWN_KEY",
    ],
    [
      "a listed kid but another key's signature",
      () => bearer(t.issuer.mint(owner1(), { key: TestIssuer.newKey("x"), kid: "key-1" })),
      "AUTH_TOKEN_SIGNATURE",
    ],
    [
      "a tampered payload (crm_user_id 2 -> 1)",
      () => bearer(t.issuer.tampered(owner1({ crm_user_id: 2 }), { crm_user_id: 1 })),
      "AUTH_TOKEN_SIGNATURE",
    ],
    ["an ID token (typ ID)", () => bearer(t.issuer.mint(owner1({ typ: "ID" }))), "AUTH_TOKEN_CLAIMS"],
    ["no exp", () => bearer(t.issuer.mint(owner1({ exp: undefined }))), "AUTH_TOKEN_CLAIMS"],
    ["no sub", () => bearer(t.issuer.mint(owner1({ sub: undefined }))), "AUTH_TOKEN_CLAIMS"],
    ["exp as a string", () => bearer(t.issuer.mint(owner1({ exp: "tomorrow" }))), "AUTH_TOKEN_CLAIMS"],
    [
      "crm_user_id that is not a number",
      () => bearer(t.issuer.mint(owner1({ crm_user_id: "abc" }))),
      "AUTH_TOKEN_CLAIMS",
    ],
    ["crm_user_id 0", () => bearer(t.issuer.mint(owner1({ crm_user_id: 0 }))), "AUTH_TOKEN_CLAIMS"],
    [
      "crm_user_id above 32 bits",
      () => bearer(t.issuer.mint(owner1({ crm_user_id: 2 ** 31 }))),
      "AUTH_TOKEN_CLAIMS",
    ],
    ["crm_user_id 1.5", () => bearer(t.issuer.mint(owner1({ crm_user_id: 1.5 }))), "AUTH_TOKEN_CLAIMS"],
  ];

  it.each(cases)("%s -> 401 with its code", async (_name, headers, code) => {
    const response = await get(report, headers());
    expectProblem(response, code);
    const challenge = String(response.headers["www-authenticate"]);
    expect(challenge).toMatch(/^Bearer /);
    if (code === "AUTH_TOKEN_MISSING") expect(challenge).not.toContain("error=");
    else expect(challenge).toContain('error="invalid_token"');
  });

  it("accepts a token expired within the configured clock skew (5 s)", async () => {
    expect((await get(report, bearer(t.issuer.mint(owner1({ exp: now() - 2 }))))).statusCode).toBe(200);
  });

  it("takes crm_user_id as a JSON number or a decimal string", async () => {
    const asString = await get(report, bearer(t.issuer.mint(owner1({ crm_user_id: "1" }))));
    const asNumber = await get(report, bearer(t.issuer.mint(owner1())));
    expect(asString.statusCode).toBe(200);
    expect(asString.json()).toEqual(asNumber.json());
  });

  it("logs no refusal as a server error", () => {
    expect(serverErrors(t.logs())).toEqual([]);
  });
});

describe("roles", () => {
  it("an owner reads their own report", async () => {
    expect((await get(report, bearer(t.issuer.owner(1)))).statusCode).toBe(200);
  });

  it("an owner asking for another user gets the very 404 of an unknown user", async () => {
    const foreign = expectProblem(
      await get("/reports/user/2?month=2024-02", bearer(t.issuer.owner(1))),
      "USER_NOT_FOUND",
    );
    const unknown = expectProblem(
      await get("/reports/user/999?month=2024-02", bearer(t.issuer.staff("support"))),
      "USER_NOT_FOUND",
    );
    expect(Object.keys(foreign).sort()).toEqual(Object.keys(unknown).sort());
    expect([foreign.title, foreign.status]).toEqual([unknown.title, unknown.status]);
    expectProblem(await get("/api/reports?user_id=2", bearer(t.issuer.owner(1))), "USER_NOT_FOUND");
    expectProblem(await get("/api/reports/summary?user_id=2", bearer(t.issuer.owner(1))), "USER_NOT_FOUND");
    expectProblem(
      await get("/api/reports/2024-02-05?user_id=2", bearer(t.issuer.owner(1))),
      "USER_NOT_FOUND",
    );
    expect((await get("/api/reports?user_id=1", bearer(t.issuer.owner(1)))).statusCode).toBe(200);
  });

  it("a deleted user is unknown, even to themselves", async () => {
    expectProblem(await get("/reports/user/4?month=2024-02", bearer(t.issuer.owner(4))), "USER_NOT_FOUND");
    expectProblem(
      await get("/reports/user/4?month=2024-02", bearer(t.issuer.staff("admin"))),
      "USER_NOT_FOUND",
    );
  });

  it("an owner token without crm_user_id is forbidden", async () => {
    const token = t.issuer.mint(t.issuer.claims("owner-x", ["prosthesis_owner"]));
    expectProblem(await get(report, bearer(token)), "CRM_USER_MISSING");
  });

  it("support and admin read any user, and must name the user on /api/reports*", async () => {
    for (const role of ["support", "admin"] as const) {
      const token = bearer(t.issuer.staff(role));
      const boris = await get("/reports/user/2?month=2024-02", token);
      expect(boris.statusCode).toBe(200);
      expect(boris.json().user_id).toBe(2);
      expectProblem(await get("/api/reports", token), "USER_ID_REQUIRED");
      expectProblem(await get("/api/reports/summary", token), "USER_ID_REQUIRED");
      expectProblem(await get("/api/reports/2024-02-05", token), "USER_ID_REQUIRED");
      expect((await get("/api/reports/summary?user_id=2", token)).json().user_id).toBe(2);
      expect((await get("/api/reports/2024-02-05?user_id=2", token)).json().summary.power_on_count).toBe(2);
    }
  });

  it("ml_engineer reads no report; everyone else is refused the SQL endpoint", async () => {
    expectProblem(await get(report, bearer(t.issuer.mlEngineer())), "FORBIDDEN_ROLE");
    const sql = { method: "POST" as const, url: "/api/sql", payload: { query: "SELECT 1" } };
    for (const token of [t.issuer.owner(1), t.issuer.staff("support"), t.issuer.staff("admin")])
      expectProblem(await t.app.inject({ ...sql, headers: bearer(token) }), "FORBIDDEN_ROLE");
    expect((await t.app.inject({ ...sql, headers: bearer(t.issuer.mlEngineer()) })).statusCode).toBe(200);
  });

  it("a token with none of the API's roles is forbidden", async () => {
    const token = t.issuer.mint(t.issuer.claims("nobody", [], { crm_user_id: 1 }));
    expectProblem(await get(report, bearer(token)), "FORBIDDEN_ROLE");
  });
});

describe("rate limiting", () => {
  it("limits per token subject, and callers without a valid token per address", async () => {
    const app = await t.variant({ BIONICPRO_API_RATE_LIMIT_MAX: "3" });
    const as = (token: string) =>
      app.inject({ method: "GET", url: "/api/reports/summary", headers: bearer(token) });
    const owner = t.issuer.owner(1);
    for (let i = 0; i < 3; i += 1) expect((await as(owner)).statusCode).toBe(200);
    const limited = await as(t.issuer.owner(1));
    expectProblem(limited, "RATE_LIMITED");
    expect(Number(limited.headers["retry-after"])).toBeGreaterThan(0);
    expect((await as(t.issuer.owner(2))).statusCode).toBe(200);
    for (let i = 0; i < 3; i += 1) expectProblem(await as("garbage"), "AUTH_TOKEN_MALFORMED");
    expectProblem(await as("garbage"), "RATE_LIMITED");
    expect((await app.inject({ method: "GET", url: "/health/live" })).statusCode).toBe(200);
  });
});

describe("signing keys", () => {
  it("a rotated key is accepted after one JWKS refetch; unknown kids refetch at most once per interval", async () => {
    let clock = 1_000_000;
    const app = await t.variant({ BIONICPRO_API_JWKS_REFETCH_MS: "10000" }, { keyClock: () => clock });
    const call = (token: string) => app.inject({ method: "GET", url: report, headers: bearer(token) });
    const hits = () => t.issuer.jwksHits;
    const start = hits();

    expect((await call(t.issuer.owner(1))).statusCode).toBe(200);
    expect(hits() - start).toBe(1);
    expect((await call(t.issuer.owner(1))).statusCode).toBe(200);
    expect(hits() - start).toBe(1);

    t.issuer.rotate("key-2");
    expect((await call(t.issuer.owner(1))).statusCode).toBe(200);
    expect(hits() - start).toBe(2);
    expect((await call(t.issuer.owner(1))).statusCode).toBe(200);
    expect(hits() - start).toBe(2);

    const ghost = (kid: string) => t.issuer.mint(owner1(), { key: TestIssuer.newKey(kid) });
    expectProblem(await call(ghost("ghost-a")), "AUTH_TOKEN_UNKNOWN_KEY");
    expect(hits() - start).toBe(3);
    expectProblem(await call(ghost("ghost-b")), "AUTH_TOKEN_UNKNOWN_KEY");
    expectProblem(await call(ghost("ghost-c")), "AUTH_TOKEN_UNKNOWN_KEY");
    expect(hits() - start).toBe(3);

    clock += 10_000;
    expectProblem(await call(ghost("ghost-d")), "AUTH_TOKEN_UNKNOWN_KEY");
    expect(hits() - start).toBe(4);
    expect((await call(t.issuer.owner(1))).statusCode).toBe(200);
    expect(hits() - start).toBe(4);
  });

  it("answers 503 when the identity provider's keys cannot be fetched", async () => {
    const app = await t.variant({
      BIONICPRO_API_JWKS_URL: "http://127.0.0.1:9/realms/x/protocol/openid-connect/certs",
    });
    const response = await app.inject({ method: "GET", url: report, headers: bearer(t.issuer.owner(1)) });
    expectProblem(response, "AUTH_KEYS_UNAVAILABLE");
  });
});
