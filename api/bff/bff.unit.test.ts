import type { Session } from "fastify";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { bearer, startTestApi, type TestApi } from "../../test/harness/api-app.js";
import type { ChunkApplied, ChunkAppliedListener } from "../../consumers/src/runtime/applied-events.js";
import { ApiError } from "../errors.js";
import type { OidcRelyingParty, TokenSet } from "./oidc.js";
import { lastEventIds, safeReturnTo } from "./plugin.js";
import { BoundedSessionStore } from "./session-store.js";

vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

/** A relying party without Keycloak: tokens minted by the test issuer, state and nonce checked like openid-client does. */
class FakeIdp implements OidcRelyingParty {
  refreshes = 0;
  ended: string[] = [];
  lifetimeMs = 300_000;
  refuseRefresh = false;
  constructor(private readonly mint: () => string) {}
  private tokens(): TokenSet {
    return {
      accessToken: this.mint(),
      refreshToken: `refresh-${Math.random()}`,
      idToken: `id-${Math.random()}`,
      expiresAt: Date.now() + this.lifetimeMs,
    };
  }
  async startLogin(redirectUri: string) {
    const state = `s${Math.random()}`;
    return {
      url: `http://idp.test/auth?state=${state}&redirect_uri=${redirectUri}`,
      state,
      nonce: "n",
      codeVerifier: "v",
    };
  }
  async finishLogin(url: URL, login: { state: string }) {
    if (url.searchParams.get("state") !== login.state) throw new ApiError("LOGIN_FAILED", "state mismatch");
    return {
      tokens: this.tokens(),
      user: { subject: "owner-1", username: "anna", roles: ["prosthesis_owner"], crmUserId: 1 },
    };
  }
  async refresh() {
    this.refreshes += 1;
    await new Promise((r) => setTimeout(r, 20));
    if (this.refuseRefresh) throw new ApiError("SESSION_EXPIRED", "refused");
    return this.tokens();
  }
  async endSession(idToken: string) {
    this.ended.push(idToken);
  }
}

const listeners = new Set<ChunkAppliedListener>();
const chunks = {
  on(listener: ChunkAppliedListener) {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};
const applied = (touched: Partial<ChunkApplied["touched"]>) => {
  const event = {
    touched: { users: [], prosthetics: [], chips: [], tables: [], reset: false, ...touched },
  } as unknown as ChunkApplied;
  for (const l of listeners) l(event);
};

let t: TestApi;
let idp: FakeIdp;

beforeAll(async () => {
  let mint: () => string = () => "";
  idp = new FakeIdp(() => mint());
  t = await startTestApi({ oidc: idp, appliedChunks: chunks });
  mint = () => t.issuer.owner(1);
});

afterAll(async () => {
  await t?.close();
});

const cookieOf = (setCookie: string | string[] | undefined): string => {
  const line = (Array.isArray(setCookie) ? setCookie : [setCookie ?? ""]).find((l) =>
    l.startsWith("bionicpro_session="),
  );
  return line ? (line.split(";")[0] as string) : "";
};

/** Logs in through the fake IdP; returns the session cookie and the login's first cookie. */
async function login(): Promise<{ cookie: string; before: string; setCookie: string }> {
  const start = await t.app.inject({
    method: "GET",
    url: "/bff/login",
    headers: { host: "127.0.0.1:18000" },
  });
  expect(start.statusCode).toBe(302);
  const before = cookieOf(start.headers["set-cookie"]);
  const state = new URL(start.headers.location as string).searchParams.get("state");
  const back = await t.app.inject({
    method: "GET",
    url: `/bff/callback?code=c&state=${state}`,
    headers: { cookie: before, host: "127.0.0.1:18000" },
  });
  expect(back.statusCode).toBe(303);
  expect(back.headers.location).toBe("/");
  const setCookie = String(back.headers["set-cookie"]);
  return { cookie: cookieOf(back.headers["set-cookie"]), before, setCookie };
}

describe("BFF session handling", () => {
  it("sets no cookie before a login; the login cookie is HttpOnly, SameSite=Lax, not Secure over http", async () => {
    const anonymous = await t.app.inject({ method: "GET", url: "/bff/session" });
    expect(anonymous.json()).toEqual({ authenticated: false });
    expect(anonymous.headers["set-cookie"]).toBeUndefined();
    const start = await t.app.inject({
      method: "GET",
      url: "/bff/login",
      headers: { host: "127.0.0.1:18000" },
    });
    const line = String(start.headers["set-cookie"]);
    expect(line).toMatch(/^bionicpro_session=/);
    expect(line).toMatch(/HttpOnly/);
    expect(line).toMatch(/SameSite=Lax/);
    expect(line).not.toMatch(/Secure/);
    expect(new URL(start.headers.location as string).searchParams.get("redirect_uri")).toBe(
      "http://127.0.0.1:18000/bff/callback",
    );
  });

  it("refuses a callback with the wrong state or without a login in progress", async () => {
    const start = await t.app.inject({
      method: "GET",
      url: "/bff/login",
      headers: { host: "127.0.0.1:18000" },
    });
    const wrong = await t.app.inject({
      method: "GET",
      url: "/bff/callback?code=c&state=forged",
      headers: { cookie: cookieOf(start.headers["set-cookie"]), host: "127.0.0.1:18000" },
    });
    expect(wrong.headers.location).toBe("/?login=failed");
    const none = await t.app.inject({ method: "GET", url: "/bff/callback?code=c&state=x" });
    expect(none.headers.location).toBe("/?login=failed");
  });

  it("refuses a non-loopback Host unless a public URL is configured", async () => {
    const start = await t.app.inject({
      method: "GET",
      url: "/bff/login",
      headers: { host: "evil.example:80" },
    });
    expect(start.statusCode).toBe(400);
    expect(start.json().code).toBe("LOGIN_FAILED");
  });

  it("a login gives a new session id (no fixation), a session without tokens in it, and proxies under the API's gate", async () => {
    const { cookie, before } = await login();
    expect(cookie).not.toBe("");
    expect(cookie).not.toBe(before);
    const s = await t.app.inject({ method: "GET", url: "/bff/session", headers: { cookie } });
    const body = s.json();
    expect(body).toMatchObject({ authenticated: true, user: { username: "anna", crm_user_id: 1 } });
    expect(typeof body.csrf_token).toBe("string");
    expect(s.body).not.toMatch(/eyJ|refresh-|id-0\./);
    // The planted pre-login id is worth nothing.
    expect(
      (await t.app.inject({ method: "GET", url: "/bff/session", headers: { cookie: before } })).json(),
    ).toEqual({
      authenticated: false,
    });

    const viaBff = await t.app.inject({
      method: "GET",
      url: "/bff/reports/user/1?month=2024-02",
      headers: { cookie },
    });
    const direct = await t.app.inject({
      method: "GET",
      url: "/reports/user/1?month=2024-02",
      headers: bearer(t.issuer.owner(1)),
    });
    expect(viaBff.statusCode).toBe(200);
    expect({ ...viaBff.json(), lag_seconds: 0 }).toEqual({ ...direct.json(), lag_seconds: 0 });
    const other = await t.app.inject({
      method: "GET",
      url: "/bff/reports/user/2?month=2024-02",
      headers: { cookie },
    });
    expect(other.statusCode).toBe(404);
    expect(other.json().code).toBe("USER_NOT_FOUND");
    const sql = await t.app.inject({ method: "GET", url: "/bff/api/sql", headers: { cookie } });
    expect(sql.json().code).toBe("ROUTE_NOT_FOUND");
    const anonymous = await t.app.inject({ method: "GET", url: "/bff/api/reports/summary" });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json().code).toBe("SESSION_REQUIRED");
  });

  it("refreshes tokens about to expire once for concurrent calls; a refused refresh ends the session", async () => {
    idp.lifetimeMs = 10_000; // within the 30 s refresh margin
    const { cookie } = await login();
    const before = idp.refreshes;
    const calls = await Promise.all(
      [1, 2, 3].map(() =>
        t.app.inject({ method: "GET", url: "/bff/api/reports/summary", headers: { cookie } }),
      ),
    );
    expect(calls.map((c) => c.statusCode)).toEqual([200, 200, 200]);
    expect(idp.refreshes - before).toBe(1);
    idp.refuseRefresh = true;
    const expired = await t.app.inject({
      method: "GET",
      url: "/bff/api/reports/summary",
      headers: { cookie },
    });
    idp.refuseRefresh = false;
    idp.lifetimeMs = 300_000;
    expect(expired.statusCode).toBe(401);
    expect(expired.json().code).toBe("SESSION_EXPIRED");
    expect((await t.app.inject({ method: "GET", url: "/bff/session", headers: { cookie } })).json()).toEqual({
      authenticated: false,
    });
  });
});

describe("BFF CSRF and logout", () => {
  it("logout needs the session's CSRF token, ends the Keycloak session and the local one", async () => {
    const { cookie } = await login();
    const session = (await t.app.inject({ method: "GET", url: "/bff/session", headers: { cookie } })).json();
    const without = await t.app.inject({ method: "POST", url: "/bff/logout", headers: { cookie } });
    expect(without.statusCode).toBe(403);
    expect(without.json().code).toBe("CSRF_TOKEN_INVALID");
    const forged = await t.app.inject({
      method: "POST",
      url: "/bff/logout",
      headers: { cookie, "x-csrf-token": "forged" },
    });
    expect(forged.json().code).toBe("CSRF_TOKEN_INVALID");
    const ended = idp.ended.length;
    const out = await t.app.inject({
      method: "POST",
      url: "/bff/logout",
      headers: { cookie, "x-csrf-token": session.csrf_token },
    });
    expect(out.statusCode).toBe(200);
    expect(idp.ended.length).toBe(ended + 1);
    expect(String(out.headers["set-cookie"])).toMatch(/bionicpro_session=;/);
    expect((await t.app.inject({ method: "GET", url: "/bff/session", headers: { cookie } })).json()).toEqual({
      authenticated: false,
    });
    expect(
      (await t.app.inject({ method: "GET", url: "/bff/api/reports/summary", headers: { cookie } }))
        .statusCode,
    ).toBe(401);
  });

  it("return_to accepts local paths only (no open redirect)", () => {
    expect(safeReturnTo("/#user=2")).toBe("/#user=2");
    expect(safeReturnTo("//evil.example/")).toBe("/");
    expect(safeReturnTo("/\\evil.example")).toBe("/");
    expect(safeReturnTo("https://evil.example/")).toBe("/");
    expect(safeReturnTo(undefined)).toBe("/");
  });
});

describe("BoundedSessionStore", () => {
  const s = (n: number) => ({ n }) as unknown as Session;
  const get = (store: BoundedSessionStore, id: string) =>
    new Promise<unknown>((resolve) => store.get(id, (_e, v) => resolve(v ?? null)));

  it("evicts the least recently used beyond the bound", async () => {
    const store = new BoundedSessionStore({ maxSessions: 2, idleMs: 60_000, maxAgeMs: 600_000 });
    store.set("a", s(1), () => undefined);
    store.set("b", s(2), () => undefined);
    await get(store, "a"); // a is now the most recent
    store.set("c", s(3), () => undefined);
    expect(store.size).toBe(2);
    expect(await get(store, "b")).toBeNull();
    expect(await get(store, "a")).toEqual({ n: 1 });
  });

  it("forgets a session after the idle timeout and after its absolute lifetime", async () => {
    let now = 0;
    const store = new BoundedSessionStore({ maxSessions: 10, idleMs: 100, maxAgeMs: 250, now: () => now });
    store.set("a", s(1), () => undefined);
    now = 90;
    expect(await get(store, "a")).toEqual({ n: 1 });
    now = 180;
    expect(await get(store, "a")).toEqual({ n: 1 });
    now = 260; // used 80 ms ago, but 260 ms old
    expect(await get(store, "a")).toBeNull();
    store.set("b", s(2), () => undefined);
    now = 400;
    expect(await get(store, "b")).toBeNull();
  });
});

describe("live stream through the BFF", () => {
  it("sends the month, today and the daily usage, then only the caller's changes; resumes by Last-Event-ID", async () => {
    const { cookie } = await login();
    const abort = new AbortController();
    const response = await t.app.inject({
      method: "GET",
      url: "/bff/api/reports/stream",
      headers: { cookie },
      payloadAsStream: true,
      signal: abort.signal,
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toMatch(/^text\/event-stream/);
    let text = "";
    const reader = (async () => {
      for await (const chunk of response.stream()) text += (chunk as Buffer).toString();
    })().catch(() => undefined);
    const events = () => [...text.matchAll(/(?:id: (\S+)\n)?event: (\w[\w-]*)\ndata: (.*)\n\n/g)];
    const until = async (what: string, ok: () => boolean) => {
      for (let i = 0; i < 200 && !ok(); i += 1) await new Promise((r) => setTimeout(r, 50));
      expect(ok(), what).toBe(true);
    };
    await until("the first three sections", () =>
      ["month", "today", "days"].every((n) => events().some((e) => e[2] === n)),
    );
    const month = JSON.parse(events().find((e) => e[2] === "month")?.[3] ?? "{}");
    expect(month).toMatchObject({ user_id: 1, period: "2024-03" });
    const count = events().length;
    applied({ users: [2], tables: ["payment_changes"] });
    applied({ prosthetics: [20], tables: ["telemetry_event_changes"] });
    await new Promise((r) => setTimeout(r, 500));
    expect(events().filter((e) => e[2] !== "freshness").length).toBe(
      count -
        events()
          .slice(0, count)
          .filter((e) => e[2] === "freshness").length,
    );
    applied({ users: [1], tables: ["payment_changes"] });
    await until("a month event after user 1's change", () =>
      events()
        .slice(count)
        .some((e) => e[2] === "month"),
    );
    expect(
      events()
        .slice(count)
        .some((e) => e[2] === "today"),
    ).toBe(false);
    expect(text).not.toMatch(/"user_id":2/);
    const lastId = events()
      .filter((e) => e[1])
      .at(-1)?.[1];
    abort.abort();
    await reader;

    // Resume: only what changed since the last id (a chip of user 1: today and days), not the month.
    applied({ chips: ["CHIP-10"], tables: ["raw_telemetry_changes"] });
    const resumed = await t.app.inject({
      method: "GET",
      url: "/bff/api/reports/stream",
      headers: { cookie, "last-event-id": lastId ?? "" },
      payloadAsStream: true,
      signal: AbortSignal.timeout(3000),
    });
    let again = "";
    await (async () => {
      for await (const chunk of resumed.stream()) again += (chunk as Buffer).toString();
    })().catch(() => undefined);
    const names = [...again.matchAll(/event: ([\w-]+)/g)].map((m) => m[1]);
    expect(names).toContain("today");
    expect(names).toContain("days");
    expect(names).not.toContain("month");
  });

  it("lastEventIds finds ids of complete events across chunk boundaries", () => {
    const a = lastEventIds("", "id: e.1\nevent: month\ndata: {}\n\nid: e.2\nev");
    expect(a.ids).toEqual(["e.1"]);
    const b = lastEventIds(a.carry, "ent: today\ndata: {}\n\nevent: token-expired\ndata: {}\n\n");
    expect(b.ids).toEqual(["e.2"]);
    expect(b.tokenExpired).toBe(true);
  });
});
