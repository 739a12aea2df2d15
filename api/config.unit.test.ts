import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadApiConfig } from "./config.js";
import { errorCodes, errorDefinitions } from "./errors.js";

describe("API configuration", () => {
  it("defaults: 127.0.0.1:18000, the local Keycloak realm, RS256, reports-api", () => {
    const config = loadApiConfig({});
    expect(config).toMatchObject({
      host: "127.0.0.1",
      port: 18000,
      corsOrigin: null,
      auth: {
        issuer: "http://127.0.0.1:18080/realms/bionicpro",
        audience: "reports-api",
        algorithms: ["RS256"],
        clockSkewSeconds: 5,
        jwksUrl: "http://127.0.0.1:18080/realms/bionicpro/protocol/openid-connect/certs",
      },
      rateLimit: { max: 300, windowMs: 60_000, sqlMax: 30 },
      sql: { maxExecutionSeconds: 10, maxResultRows: 100_000 },
    });
  });

  it("reads overrides and refuses bad values by name", () => {
    const config = loadApiConfig({
      BIONICPRO_API_PORT: "0",
      BIONICPRO_API_ALGORITHMS: "RS256, ES256",
      BIONICPRO_API_CORS_ORIGIN: "http://127.0.0.1:18010/",
    });
    expect([config.port, config.auth.algorithms, config.corsOrigin]).toEqual([
      0,
      ["RS256", "ES256"],
      "http://127.0.0.1:18010",
    ]);
    expect(() => loadApiConfig({ BIONICPRO_API_ALGORITHMS: "HS256" })).toThrow(/BIONICPRO_API_ALGORITHMS/);
    expect(() => loadApiConfig({ BIONICPRO_API_ALGORITHMS: "none" })).toThrow(/BIONICPRO_API_ALGORITHMS/);
    expect(() => loadApiConfig({ BIONICPRO_API_PORT: "70000" })).toThrow(/BIONICPRO_API_PORT/);
    expect(() => loadApiConfig({ BIONICPRO_API_CLOCK_SKEW_S: "3600" })).toThrow(/BIONICPRO_API_CLOCK_SKEW_S/);
    expect(() => loadApiConfig({ BIONICPRO_API_ISSUER: "ftp://x" })).toThrow(/BIONICPRO_API_ISSUER/);
  });
});

describe("error codes", () => {
  it("are declared once each, with a 4xx/5xx status and a title", () => {
    expect(new Set(errorCodes).size).toBe(errorCodes.length);
    for (const code of errorCodes) {
      const { status, title } = errorDefinitions[code];
      expect(status >= 400 && status < 600, code).toBe(true);
      expect(title.length, code).toBeGreaterThan(5);
    }
  });

  it("are all in the tables of docs/api.md (with status and title) and README.md", () => {
    const doc = readFileSync(new URL("../docs/api.md", import.meta.url), "utf8");
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    for (const code of errorCodes) expect(readme, code).toContain(`\`${code}\``);
    for (const code of errorCodes)
      expect(doc, code).toContain(
        `| \`${code}\` | ${errorDefinitions[code].status} | ${errorDefinitions[code].title} |`,
      );
  });
});
