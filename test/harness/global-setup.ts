import { spawnSync } from "node:child_process";
import type { TestProject } from "vitest/node";
import { repoRoot } from "../../scripts/config.js";
import { loadStackConfig } from "../../scripts/stack/config.js";
import { STACK_COMPONENTS, stackUp } from "../../scripts/stack/stack.js";

/**
 * Finds the services the integration tests talk to, once per run:
 * 1. environment variables naming running services (KAFKA_BROKERS, CONNECT_URL, SCHEMA_REGISTRY_URL,
 *    PGHOST/PGPORT; KEYCLOAK_URL) are used as they are;
 * 2. else, where a Docker engine answers, testcontainers starts docker-compose.yml;
 * 3. else the native stack (`npm run stack -- up`, idempotent: reuses a running one).
 * Keycloak is found on its own: KEYCLOAK_URL names a running one; without it the native Keycloak
 * is started with the rest, or alone when the other services are external.
 * Every test then isolates itself with its own database names, topic prefix and slot names.
 */
export type StackMode = "external" | "docker" | "native";

declare module "vitest" {
  export interface ProvidedContext {
    stackMode: StackMode;
  }
}

const EXTERNAL_VARS = ["KAFKA_BROKERS", "CONNECT_URL", "SCHEMA_REGISTRY_URL", "PGHOST"] as const;

function dockerAnswers(): boolean {
  return spawnSync("docker", ["info"], { stdio: "ignore", timeout: 10_000 }).status === 0;
}

/**
 * The stack found or started for the projects set up so far: the two integration projects share one.
 * Vitest loads this file once per project, in its own process: the share lives on globalThis.
 */
interface SharedStack {
  found: Promise<StackMode> | undefined;
  projects: number;
  teardown: (() => Promise<void>) | undefined;
}
const shared: SharedStack = ((globalThis as { bionicproStack?: SharedStack }).bionicproStack ??= {
  found: undefined,
  projects: 0,
  teardown: undefined,
});

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  shared.projects += 1;
  shared.found ??= findStack();
  project.provide("stackMode", await shared.found);
  return async () => {
    shared.projects -= 1;
    if (shared.projects > 0) return;
    shared.found = undefined;
    const teardown = shared.teardown;
    shared.teardown = undefined;
    await teardown?.();
  };
}

async function findStack(): Promise<StackMode> {
  const log = (line: string): void => console.log(`[harness] ${line}`);
  let mode: StackMode;
  const keycloakUrl = process.env.KEYCLOAK_URL;
  if (keycloakUrl) log(`using the Keycloak named by KEYCLOAK_URL (${keycloakUrl})`);
  if (EXTERNAL_VARS.every((name) => process.env[name])) {
    mode = "external";
    log(`using the services named by ${EXTERNAL_VARS.join(", ")}`);
    if (!keycloakUrl) {
      log("KEYCLOAK_URL not set: starting the native Keycloak only (npm run stack -- up keycloak)");
      await stackUp(loadStackConfig(), { components: ["keycloak"], log });
    }
  } else if (dockerAnswers()) {
    mode = "docker";
    const { DockerComposeEnvironment, Wait } = await import("testcontainers");
    log("Docker engine found: starting docker-compose.yml with testcontainers");
    const environment = await new DockerComposeEnvironment(repoRoot, "docker-compose.yml")
      .withWaitStrategy("connect-1", Wait.forHttp("/connector-plugins", 8083))
      .withWaitStrategy("keycloak-1", Wait.forHttp("/health/ready", 9000))
      .up();
    process.env.PGPASSWORD ??= "postgres";
    process.env.CONNECT_PG_HOST = "postgres";
    process.env.CONNECT_PG_PORT = "5432";
    process.env.CONNECT_REGISTRY_URL = "http://registry:8080/apis/registry/v2";
    shared.teardown = async () => {
      await environment.down();
    };
  } else {
    mode = "native";
    log("no Docker engine: starting the native stack (npm run stack -- up --no-connectors)");
    const components = STACK_COMPONENTS.filter((name) => !(keycloakUrl && name === "keycloak"));
    await stackUp(loadStackConfig(), { components, sourceConnectors: false, log });
  }
  return mode;
}
