import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { bearer, startTestApi, type TestApi } from "../../test/harness/api-app.js";
import { fixturePersonalData } from "../../test/harness/report-fixture.js";

/**
 * What the API writes to its log: one request line in, one out, refusals with their code, the ML
 * statement's shape. Never a token, an email, a name or a phone number — checked on the captured
 * output of a session that sends tokens full of personal claims, good and bad, to every route.
 */
vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

let t: TestApi;

beforeAll(async () => {
  t = await startTestApi({ env: { BIONICPRO_API_LOG_LEVEL: "trace" } });
});

afterAll(async () => {
  await t?.close();
});

describe("log lines", () => {
  it("carry no token, email, name or phone", async () => {
    const personal = {
      name: "Anna Ivanova",
      email: "anna@example.org",
      phone_number: "+79990000001",
      given_name: "Anna",
    };
    const good = t.issuer.owner(1, personal);
    const expired = t.issuer.mint(
      t.issuer.claims("owner-1", ["prosthesis_owner"], {
        ...personal,
        crm_user_id: 1,
        exp: Math.floor(Date.now() / 1000) - 600,
      }),
    );
    const tampered = t.issuer.tampered(
      t.issuer.claims("owner-1", ["prosthesis_owner"], { ...personal, crm_user_id: 2 }),
      {
        crm_user_id: 1,
      },
    );
    const ml = t.issuer.mlEngineer();
    const support = t.issuer.staff("support");
    const tokens = [good, expired, tampered, ml, support];
    const requests = [
      { url: "/reports/user/1?month=2024-02", token: good },
      { url: "/reports/user/1?month=2024-02", token: expired },
      { url: "/reports/user/1?month=2024-02", token: tampered },
      { url: "/reports/user/2?month=2024-02", token: good },
      { url: "/api/reports", token: good },
      { url: "/api/reports/summary?user_id=1", token: support },
      { url: "/api/reports/2024-02-02", token: good },
      { url: "/api/reports/2024-02-30", token: good },
      { url: "/health", token: good },
    ];
    for (const { url, token } of requests) {
      await t.app.inject({ method: "GET", url, headers: { ...bearer(token), cookie: `session=${token}` } });
    }
    for (const query of [
      "SELECT count() AS n FROM ml_users WHERE user_uuid = '00000000-0000-4000-8000-000000000001'",
      "SELECT * FROM dim_users WHERE email = 'anna@example.org'",
      "SELECT 'Anna Ivanova' AS name, '+79990000001' AS phone",
    ]) {
      await t.app.inject({ method: "POST", url: "/api/sql", headers: bearer(ml), payload: { query } });
    }

    const log = t.logText();
    expect(t.logs().length).toBeGreaterThan(20);
    for (const token of tokens) {
      for (const part of token.split(".")) expect(log).not.toContain(part);
    }
    for (const value of [...fixturePersonalData, ...Object.values(personal), "anna-login", "owner-1-login"]) {
      expect(log, value).not.toContain(value);
    }
    expect(log).not.toMatch(/authorization|cookie/i);
  });

  it("name refusals by code at info level and ML statements by shape", () => {
    const logs = t.logs();
    const refusals = logs.filter((l) => l.msg === "request refused").map((l) => [l.level, l.code]);
    expect(refusals).toEqual(
      expect.arrayContaining([
        [30, "AUTH_TOKEN_EXPIRED"],
        [30, "AUTH_TOKEN_SIGNATURE"],
        [30, "USER_NOT_FOUND"],
        [30, "INVALID_DATE"],
      ]),
    );
    const statements = logs.filter((l) => l.msg === "ml sql").map((l) => l.sql);
    expect(statements).toEqual([
      "SELECT count() AS n FROM ml_users WHERE user_uuid = ?",
      "SELECT ? AS name, ? AS phone",
    ]);
    expect(logs.filter((l) => l.msg === "ml sql refused").map((l) => l.code)).toEqual([
      "SQL_FORBIDDEN_RELATION",
    ]);
  });
});
