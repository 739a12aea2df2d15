import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadApiConfig } from "../api/config.js";
import { startApi, type RunningApi } from "../api/start.js";
import { createClickHouseClient } from "../clickhouse/client.js";
import { repoRoot } from "../scripts/config.js";
import { DEMO_USERS } from "../keycloak/realm.js";
import { capturePage, keycloakLogin, launchChromium, type PageCapture } from "./harness/browser.js";
import { keycloak, passwordGrant, temporaryBffClient } from "./harness/keycloak.js";
import {
  openPipelineRun,
  sourceQuery,
  waitForDrain,
  type PipelineRun,
  type TestPipeline,
} from "./harness/pipeline.js";

/**
 * The dashboard in a real headless Chromium: log in through Keycloak's own form as a demo owner
 * (CRM users 1 and 2 of the demo data, scale 1 seed 42), see this month's figures equal the API's,
 * change PostgreSQL and see the page follow without a reload, log out. The data goes the real way:
 * PostgreSQL -> Debezium -> Kafka -> a MartsPipeline in this process -> embedded ClickHouse; the app
 * (API + BFF + dashboard) listens on a free port with its own chDB connection to the same directory
 * and hears the pipeline's applied chunks.
 */

const ARTIFACTS = path.join(repoRoot, ".state", "test-artifacts", "dashboard");
const JWT = /eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\./;
const TOKEN_WORDS = /access_token|refresh_token|id_token/;

let pr: PipelineRun;
let tp: TestPipeline;
let api: RunningApi;
let browser: Browser;
const month = new Date().toISOString().slice(0, 7);

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  pr = await openPipelineRun({ telemetryDensity: 0.02 });
  tp = await pr.startPipeline();
  await waitForDrain(pr.run, pr.config.group, { pipelines: [tp] });
  api = await startApi({
    config: loadApiConfig({
      CLICKHOUSE_PATH: pr.dataDir,
      CLICKHOUSE_DATABASE: pr.database,
      BIONICPRO_API_PORT: "0",
      BIONICPRO_API_LOG_LEVEL: "warn",
    }),
    clickhouse: () => createClickHouseClient(pr.config.clickhouse),
    appliedChunks: tp.pipeline.applied,
  });
  browser = await launchChromium();
}, 900_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await api?.close().catch(() => undefined);
  await pr?.close();
});

let nextId = 900_000_000;
/** A payment of `userId` in the current month, committed now. */
async function insertPayment(userId: number, amount: string): Promise<void> {
  const [sub] = await sourceQuery<{ subscription_id: number }>(
    pr.run,
    "crm",
    "SELECT subscription_id FROM crm_subscriptions WHERE user_id = $1 ORDER BY subscription_id LIMIT 1",
    [userId],
  );
  await sourceQuery(
    pr.run,
    "crm",
    `INSERT INTO crm_payments (payment_id, user_id, subscription_id, payment_date, amount, payment_method, status, description, created_at)
     VALUES ($1, $2, $3, now(), $4, 'card', 'success', 'dashboard test', now())`,
    [(nextId += 1), userId, sub?.subscription_id, amount],
  );
}

/** `count` movement samples of the user's first chip, in the last minutes (today, UTC). */
async function insertMovements(userId: number, count: number): Promise<void> {
  const [device] = await sourceQuery<{ chip_id: string }>(
    pr.run,
    "crm",
    "SELECT chip_id FROM crm_prosthetics WHERE user_id = $1 ORDER BY prosthetic_id LIMIT 1",
    [userId],
  );
  await sourceQuery(
    pr.run,
    "telemetry",
    `INSERT INTO raw_telemetry (sample_id, chip_id, event_time, response_time_ms, battery_level, error_code)
     SELECT (SELECT coalesce(max(sample_id), 0) FROM raw_telemetry) + i, $1,
            greatest(date_trunc('day', now()), now() - i * interval '1 second'), 120, 80, 0
     FROM generate_series(1, $2::int) AS i`,
    [device?.chip_id, count],
  );
}

const kpi = (page: Page, name: string) => page.locator(`[data-kpi="${name}"]`).first().textContent();

async function apiMonth(username: keyof typeof DEMO_USERS, userId: number) {
  const user = DEMO_USERS[username];
  const token = await passwordGrant(user.username, user.password);
  const response = await fetch(`${api.url}/reports/user/${userId}?month=${month}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(response.status).toBe(200);
  return (await response.json()) as {
    financial: Record<string, string | number | null>;
    usage: Record<string, number | null>;
  };
}

/** Opens the dashboard (of `base`, default the test's app) in a new context and logs in through the Keycloak form. */
async function loggedIn(
  username: "owner1" | "owner2",
  base = api.url,
): Promise<{
  context: BrowserContext;
  page: Page;
  capture: PageCapture;
}> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const capture = await capturePage(context, page);
  await page.goto(`${base}/`);
  await page.locator("#login").click();
  await keycloakLogin(page, DEMO_USERS[username].username, DEMO_USERS[username].password);
  await page.waitForURL(`${base}/`, { timeout: 60_000 });
  await page.waitForFunction(
    () => document.querySelector('[data-kpi="total_payments"]')?.textContent !== "—",
    undefined,
    { timeout: 60_000 },
  );
  return { context, page, capture };
}

/** Milliseconds from now until `predicate` holds in the page (checked every animation frame). */
async function timeUntil(
  page: Page,
  predicate: (arg: number) => boolean,
  arg: number,
  timeoutMs = 30_000,
): Promise<number> {
  const started = Date.now();
  await page.waitForFunction(predicate, arg, { timeout: timeoutMs, polling: "raf" });
  return Date.now() - started;
}

const money = (text: string | null) => Number((text ?? "").replace(/[^0-9.-]/g, ""));

describe("dashboard in headless Chromium", () => {
  it("logs in through Keycloak, shows the API's figures, follows PostgreSQL live, never holds a token, logs out", async () => {
    const { context, page, capture } = await loggedIn("owner1");
    const report = await apiMonth("owner1", 1);
    expect(await kpi(page, "total_payments")).toBe(`${report.financial.total_payments} ₽`);
    expect(await kpi(page, "successful_payments")).toBe(`${report.financial.successful_payments} ₽`);
    expect(await kpi(page, "monthly_cost")).toBe(`${report.financial.monthly_cost} ₽`);
    expect(await kpi(page, "arr")).toBe(`${report.financial.arr} ₽`);
    expect(await kpi(page, "power_on_count")).toBe(String(report.usage.power_on_count));
    expect(await page.locator("#period").textContent()).toContain(month);

    // A payment: the month's total moves by its amount, without a reload.
    const before = money(await kpi(page, "total_payments"));
    const navigations: string[] = [];
    page.on("framenavigated", (frame) => navigations.push(frame.url()));
    await insertPayment(1, "123.45");
    const paymentMs = await timeUntil(
      page,
      (expected: number) =>
        Number(
          (document.querySelector('[data-kpi="total_payments"]')?.textContent ?? "").replace(/[^0-9.-]/g, ""),
        ) === expected,
      Math.round((before + 123.45) * 100) / 100,
    );
    // A telemetry burst: today's movements grow by the burst.
    const movementsBefore = Number(await kpi(page, "today_movements"));
    await insertMovements(1, 25);
    const burstMs = await timeUntil(
      page,
      (expected: number) =>
        Number(document.querySelector('[data-kpi="today_movements"]')?.textContent) === expected,
      movementsBefore + 25,
    );
    console.log(`page followed PostgreSQL: payment in ${paymentMs} ms, telemetry burst in ${burstMs} ms`);
    expect(navigations).toEqual([]);
    expect((await apiMonth("owner1", 1)).financial.total_payments).toBe(
      (await kpi(page, "total_payments"))?.split(" ")[0],
    );
    expect(await page.locator("#data-as-of").textContent()).toMatch(/UTC/);
    await page.screenshot({ path: path.join(ARTIFACTS, "dashboard.png"), fullPage: true });

    // No token ever reached the browser: cookies, storage, every response and every SSE message.
    const cookies = await context.cookies(api.url);
    expect(cookies.map((c) => c.name)).toEqual(["bionicpro_session"]);
    expect(cookies[0]).toMatchObject({ httpOnly: true, sameSite: "Lax" });
    const storage = await page.evaluate(
      () => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }),
    );
    expect(storage).toBe("{}{}");
    const appResponses = capture.responses.filter((r) => r.url.startsWith(api.url));
    expect(appResponses.length).toBeGreaterThan(5);
    for (const r of appResponses) {
      const text = `${JSON.stringify(r.headers)}\n${r.body}`;
      expect(text, r.url).not.toMatch(JWT);
      expect(text, r.url).not.toMatch(TOKEN_WORDS);
    }
    expect(capture.responses.some((r) => r.url.startsWith(keycloak.tokenUrl))).toBe(false);
    expect(capture.sse.length).toBeGreaterThan(3);
    for (const m of capture.sse) expect(m.data).not.toMatch(JWT);
    expect(capture.cspViolations).toEqual([]);

    // Logout ends the local session and Keycloak's: a new login shows Keycloak's form again.
    await page.locator("#logout").click();
    await page.waitForSelector("#logged-out:not([hidden])");
    const session = await page.evaluate(async () => (await fetch("/bff/session")).json());
    expect(session).toEqual({ authenticated: false });
    await page.locator("#login").click();
    await page.waitForSelector("#username", { timeout: 60_000 });
    expect(page.url().startsWith(keycloak.issuer)).toBe(true);
    await context.close();
  });

  it("two owners at once: each stream carries only its own user's figures", async () => {
    const one = await loggedIn("owner1");
    const two = await loggedIn("owner2");
    const seenBefore = [one.capture.sse.length, two.capture.sse.length];
    const total1 = money(await kpi(one.page, "total_payments"));
    const total2 = money(await kpi(two.page, "total_payments"));
    await insertPayment(2, "7.77");
    await insertPayment(1, "1.11");
    await insertMovements(2, 5);
    const wait = (page: Page, expected: number) =>
      timeUntil(
        page,
        (e: number) =>
          Number(
            (document.querySelector('[data-kpi="total_payments"]')?.textContent ?? "").replace(
              /[^0-9.-]/g,
              "",
            ),
          ) === e,
        Math.round(expected * 100) / 100,
      );
    await Promise.all([wait(one.page, total1 + 1.11), wait(two.page, total2 + 7.77)]);
    await new Promise((r) => setTimeout(r, 2000));
    const figures = (capture: PageCapture) =>
      capture.sse
        .filter((m) => m.eventName !== "freshness")
        .map((m) => JSON.parse(m.data) as { user_id?: number });
    const ones = figures(one.capture);
    const twos = figures(two.capture);
    expect(ones.length).toBeGreaterThan(3);
    expect(twos.length).toBeGreaterThan(3);
    expect(ones.every((m) => m.user_id === 1)).toBe(true);
    expect(twos.every((m) => m.user_id === 2)).toBe(true);
    // Owner 2's movement burst touched only owner 2: owner 1's stream sent no 'today' for it.
    expect(one.capture.sse.length).toBeGreaterThan(seenBefore[0] as number);
    expect(two.capture.sse.slice(seenBefore[1]).some((m) => m.eventName === "today")).toBe(true);
    await one.context.close();
    await two.context.close();
  });
  it("keeps the live page through access-token expiry: the BFF refreshes and resumes the stream", async () => {
    // Tokens of 20 s (a temporary copy of the BFF client): the API ends each stream at the token's
    // exp, the BFF refreshes and reopens it from the last event id; the browser's one connection
    // stays open and keeps following PostgreSQL.
    const LIFESPAN_S = 20;
    const client = await temporaryBffClient(LIFESPAN_S);
    const shortApi = await startApi({
      config: loadApiConfig({
        CLICKHOUSE_PATH: pr.dataDir,
        CLICKHOUSE_DATABASE: pr.database,
        BIONICPRO_API_PORT: "0",
        BIONICPRO_API_LOG_LEVEL: "warn",
        KEYCLOAK_BFF_CLIENT_ID: client.clientId,
        BIONICPRO_BFF_REFRESH_BEFORE_MS: "3000",
      }),
      clickhouse: () => createClickHouseClient(pr.config.clickhouse),
      appliedChunks: tp.pipeline.applied,
    });
    try {
      const { context, page, capture } = await loggedIn("owner1", shortApi.url);
      const streams = () =>
        capture.responses.filter((r) => r.url.startsWith(`${shortApi.url}/bff/api/reports/stream`));
      const expiries = () => capture.sse.filter((m) => m.eventName === "token-expired").length;
      // Two token lifetimes pass: two upstream streams ended at exp and were resumed.
      await expect.poll(expiries, { timeout: (LIFESPAN_S * 3 + 20) * 1000, interval: 500 }).toBe(2);
      // Each resume sent Last-Event-ID: nothing changed for owner 1 meanwhile, so no figures were re-sent.
      const firstExpiry = capture.sse.findIndex((m) => m.eventName === "token-expired");
      const figureEvents = new Set(["month", "today", "days"]);
      expect(capture.sse.slice(firstExpiry).filter((m) => figureEvents.has(m.eventName))).toEqual([]);
      const before = money(await kpi(page, "total_payments"));
      await insertPayment(1, "2.22");
      await timeUntil(
        page,
        (expected: number) =>
          Number(
            (document.querySelector('[data-kpi="total_payments"]')?.textContent ?? "").replace(
              /[^0-9.-]/g,
              "",
            ),
          ) === expected,
        Math.round((before + 2.22) * 100) / 100,
      );
      expect(streams().length).toBe(1);
      expect(await page.locator("#expired").isHidden()).toBe(true);
      expect(await page.evaluate(async () => (await fetch("/bff/session")).json())).toMatchObject({
        authenticated: true,
      });
      await context.close();
    } finally {
      await shortApi.close().catch(() => undefined);
      await client.remove();
    }
  });
  it("a login without reports (an ML engineer) sees 'no access' with the API's code, not an endless reconnect", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${api.url}/`);
    await page.locator("#login").click();
    await keycloakLogin(page, DEMO_USERS.ml1.username, DEMO_USERS.ml1.password);
    await page.waitForURL(`${api.url}/`, { timeout: 60_000 });
    await page.waitForSelector("#no-access:not([hidden])", { timeout: 30_000 });
    expect(await page.locator("#no-access-code").textContent()).toBe("FORBIDDEN_ROLE");
    expect(await page.locator("#dashboard").isHidden()).toBe(true);
    await context.close();
  });
});
