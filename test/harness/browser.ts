import type { Browser, BrowserContext, CDPSession, Page } from "playwright-core";
import { chromium } from "playwright-core";

/**
 * Debian's Chromium (scripts/stack/host-packages.sh installs it) driven by playwright-core: never a
 * downloaded browser build. Each launch gets a fresh, empty profile of its own (playwright-core
 * creates and removes the temporary user data directory).
 */
export const CHROMIUM = "/usr/bin/chromium";

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Everything one page received: response headers and bodies, and every SSE message (through CDP). */
export interface PageCapture {
  responses: { url: string; status: number; headers: Record<string, string>; body: string }[];
  sse: { eventName: string; eventId: string; data: string }[];
  cspViolations: string[];
  cdp: CDPSession;
}

export async function capturePage(context: BrowserContext, page: Page): Promise<PageCapture> {
  const capture: PageCapture = {
    responses: [],
    sse: [],
    cspViolations: [],
    cdp: await context.newCDPSession(page),
  };
  await capture.cdp.send("Network.enable");
  capture.cdp.on("Network.eventSourceMessageReceived", (e) =>
    capture.sse.push({ eventName: e.eventName, eventId: e.eventId, data: e.data }),
  );
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) capture.cspViolations.push(message.text());
  });
  page.on("response", (response) => {
    const headers = response.headers();
    const entry = { url: response.url(), status: response.status(), headers, body: "" };
    capture.responses.push(entry);
    if ((headers["content-type"] ?? "").startsWith("text/event-stream")) return;
    if (response.status() >= 300 && response.status() < 400) return;
    void response
      .text()
      .then((body) => {
        entry.body = body;
      })
      .catch(() => undefined);
  });
  return capture;
}

/** The Keycloak login form as a person fills it in. */
export async function keycloakLogin(page: Page, username: string, password: string): Promise<void> {
  await page.waitForSelector("#username", { timeout: 60_000 });
  await page.fill("#username", username);
  await page.fill("#password", password);
  await page.click("#kc-login");
}
