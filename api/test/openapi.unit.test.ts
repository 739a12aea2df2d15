import { compileErrors, validate } from "@readme/openapi-parser";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { bearer, startTestApi, type TestApi } from "../../test/harness/api-app.js";
import { errorCodes } from "../errors.js";

/** The OpenAPI 3.1 document, Swagger UI served locally, security headers and CORS. */
vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

let t: TestApi;

beforeAll(async () => {
  t = await startTestApi({ env: { BIONICPRO_API_CORS_ORIGIN: "http://127.0.0.1:18010" } });
});

afterAll(async () => {
  await t?.close();
});

describe("OpenAPI document", () => {
  it("is a valid OpenAPI 3.1 document listing every route", async () => {
    const response = await t.app.inject({ method: "GET", url: "/openapi.json" });
    expect(response.statusCode).toBe(200);
    const document = response.json();
    expect(document.openapi).toBe("3.1.0");
    const result = await validate(structuredClone(document));
    expect(result.valid, result.valid ? "" : compileErrors(result)).toBe(true);
    const operations = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual(
      [
        "GET /reports/user/{user_id}",
        "GET /api/reports",
        "GET /api/reports/summary",
        "GET /api/reports/days",
        "GET /api/reports/stream",
        "GET /api/reports/{date}",
        "POST /api/sql",
        "GET /health",
        "GET /health/live",
        "GET /health/ready",
      ].sort(),
    );
  });

  it("documents bearer auth, the parameters and every error code", async () => {
    const document = (await t.app.inject({ method: "GET", url: "/openapi.json" })).json();
    expect(document.components.securitySchemes.bearerAuth).toEqual({
      type: "http",
      scheme: "bearer",
      bearerFormat: "JWT",
    });
    const report = document.paths["/reports/user/{user_id}"].get;
    expect(report.security).toEqual([{ bearerAuth: [] }]);
    expect(report.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`).sort()).toEqual([
      "path:user_id",
      "query:month",
    ]);
    const problem = report.responses["404"].content["application/problem+json"].schema;
    expect([...problem.properties.code.enum].sort()).toEqual([...errorCodes].sort());
    expect(Object.keys(document.paths["/api/sql"].post.responses["200"].content).sort()).toEqual([
      "application/json",
      "text/csv",
    ]);
  });
});

describe("Swagger UI", () => {
  it("renders at /docs from assets served by the API itself", async () => {
    const page = await t.app.inject({ method: "GET", url: "/docs" });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.body).toContain('<div id="swagger-ui">');
    const scripts = [...page.body.matchAll(/src="([^"]+)"/g)].map((m) => m[1] as string);
    expect(scripts.length).toBeGreaterThan(0);
    for (const src of scripts) {
      expect(src.startsWith("/docs/")).toBe(true);
      expect((await t.app.inject({ method: "GET", url: src })).statusCode).toBe(200);
    }
  });
});

describe("HTTP hardening", () => {
  it("sends security headers", async () => {
    const response = await t.app.inject({
      method: "GET",
      url: "/api/reports/summary",
      headers: bearer(t.issuer.owner(1)),
    });
    expect(response.headers).toMatchObject({
      "x-content-type-options": "nosniff",
      "x-frame-options": "SAMEORIGIN",
      "strict-transport-security": expect.stringContaining("max-age="),
      "content-security-policy": expect.stringContaining("default-src 'self'"),
    });
    expect(response.headers["x-powered-by"]).toBeUndefined();
  });

  it("allows CORS for the configured dashboard origin only", async () => {
    const preflight = (origin: string) =>
      t.app.inject({
        method: "OPTIONS",
        url: "/api/reports/summary",
        headers: {
          origin,
          "access-control-request-method": "GET",
          "access-control-request-headers": "authorization",
        },
      });
    const allowed = await preflight("http://127.0.0.1:18010");
    expect(allowed.headers["access-control-allow-origin"]).toBe("http://127.0.0.1:18010");
    expect(String(allowed.headers["access-control-allow-headers"]).toLowerCase()).toContain("authorization");
    const other = await preflight("http://evil.example");
    expect(other.headers["access-control-allow-origin"]).toBeUndefined();
    const simple = await t.app.inject({
      method: "GET",
      url: "/api/reports/summary",
      headers: { ...bearer(t.issuer.owner(1)), origin: "http://evil.example" },
    });
    expect(simple.headers["access-control-allow-origin"]).toBeUndefined();
  });
});
