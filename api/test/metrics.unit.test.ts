import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startTestApi, type TestApi } from "../../test/harness/api-app.js";
import { expectProblem } from "../../test/harness/problems.js";
import { parseExposition, sampleValue } from "../../test/harness/prometheus-text.js";
import { loadApiConfig } from "../config.js";

/** GET /metrics of the API over the report fixture (embedded ClickHouse, no network). */
vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

let t: TestApi;

beforeAll(async () => {
  t = await startTestApi();
});

afterAll(async () => {
  await t?.close();
});

describe("GET /metrics", () => {
  it("is public, Prometheus text, with request durations by route pattern and the freshness of the fixture", async () => {
    await t.app.inject({ method: "GET", url: "/reports/user/1?month=2026-10" });
    await t.app.inject({ method: "GET", url: "/reports/user/2?month=2026-10" });
    const response = await t.app.inject({ method: "GET", url: "/metrics" });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
    const samples = parseExposition(response.body);
    expect(
      sampleValue(samples, "bionicpro_http_request_duration_seconds_count", {
        method: "GET",
        route: "/reports/user/:user_id",
        status_code: "401",
      }),
    ).toBe(2);
    expect(sampleValue(samples, "bionicpro_freshness_seconds")).toBeGreaterThanOrEqual(0);
    expect(sampleValue(samples, "bionicpro_process_resident_memory_bytes")).toBeGreaterThan(0);
    // No consumers in this app: their series are absent, not zero.
    expect(samples.some((s) => s.name.startsWith("bionicpro_consumer_"))).toBe(false);
    const openapi = (await t.app.inject({ method: "GET", url: "/openapi.json" })).json() as { paths: object };
    expect(Object.keys(openapi.paths)).not.toContain("/metrics");
  });

  it("with BIONICPRO_METRICS_TOKEN: 401 METRICS_TOKEN_INVALID unless Bearer <token>", async () => {
    const app = await t.variant({ BIONICPRO_METRICS_TOKEN: "scrape-me" });
    const missing = await app.inject({ method: "GET", url: "/metrics" });
    expectProblem(missing, "METRICS_TOKEN_INVALID");
    expect(missing.headers["www-authenticate"]).toBe("Bearer");
    const wrong = await app.inject({
      method: "GET",
      url: "/metrics",
      headers: { authorization: "Bearer x" },
    });
    expectProblem(wrong, "METRICS_TOKEN_INVALID");
    const ok = await app.inject({
      method: "GET",
      url: "/metrics",
      headers: { authorization: "Bearer scrape-me" },
    });
    expect(ok.statusCode).toBe(200);
  });

  it("BIONICPRO_API_METRICS=false: no /metrics", async () => {
    const app = await t.variant({ BIONICPRO_API_METRICS: "false" });
    expectProblem(await app.inject({ method: "GET", url: "/metrics" }), "ROUTE_NOT_FOUND");
  });

  it("config: enabled by default, the token non-enumerable", () => {
    const config = loadApiConfig({ BIONICPRO_METRICS_TOKEN: "tok-s3cret" });
    expect(config.metrics.enabled).toBe(true);
    expect(config.metrics.token).toBe("tok-s3cret");
    expect(JSON.stringify(config)).not.toContain("tok-s3cret");
    expect(loadApiConfig({ BIONICPRO_API_METRICS: "0" }).metrics.enabled).toBe(false);
    expect(() => loadApiConfig({ BIONICPRO_API_METRICS: "maybe" })).toThrow(/BIONICPRO_API_METRICS/);
  });
});
