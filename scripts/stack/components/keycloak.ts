import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { applyRealm, type KeycloakAdmin } from "../../../keycloak/apply.js";
import { REALM_NAME, type RenderedRealm } from "../../../keycloak/realm.js";
import { StackError } from "../errors.js";
import { httpOk, waitUntilHealthy } from "../health.js";
import type { StackLayout } from "../layout.js";
import { adoptPid, childPids, isAlive, runToLog, runningPid, startDaemon, stopDaemon } from "../processes.js";
import { findJdk } from "../tools.js";
import { assertPortFree, daemonOf } from "./java-daemon.js";
import type { ComponentStatus } from "./status.js";

/**
 * Keycloak (Quarkus distribution) on Java 17, in production mode on a distribution built once per
 * version (`kc.sh build`, kept in the install dir), so every start is `start --optimized` with no
 * build step. The dev-file (H2) store lives in the data dir and keeps the realm, its signing keys
 * and sessions across restarts. The hostname is pinned to http://127.0.0.1:<port> because Keycloak
 * derives every token's `iss` from it. After each start (or `stack up` on a running one) the realm
 * file is applied through the admin REST API (keycloak/apply.ts).
 */
const COMPONENT = "keycloak";

/** Build-time options baked into the distribution; `start --optimized` runs with exactly these. */
const BUILD_OPTIONS = ["--db=dev-file", "--health-enabled=true"];

interface KeycloakPorts {
  keycloak: number;
  keycloakManagement: number;
}

export const keycloakUrls = (ports: KeycloakPorts) => ({
  base: `http://127.0.0.1:${ports.keycloak}`,
  ready: `http://127.0.0.1:${ports.keycloakManagement}/health/ready`,
  realm: `http://127.0.0.1:${ports.keycloak}/realms/${REALM_NAME}/.well-known/openid-configuration`,
});

const keycloakHome = (layout: StackLayout, version: string): string =>
  path.join(layout.installDir, "keycloak", `keycloak-${version}`);

/** `kc.sh build` once per unpacked version (a version bump unpacks a fresh directory). */
async function ensureBuilt(
  home: string,
  java: string,
  layout: StackLayout,
  log: (line: string) => void,
): Promise<void> {
  const marker = path.join(home, ".bionicpro-build");
  const wanted = BUILD_OPTIONS.join(" ");
  if (existsSync(marker) && readFileSync(marker, "utf8").trim() === wanted) return;
  const logPath = path.join(layout.logDir, "install-keycloak-build.log");
  log(`building Keycloak's optimized distribution, once per version (log: ${logPath}) ...`);
  const started = Date.now();
  const status = await runToLog(
    path.join(home, "bin", "kc.sh"),
    ["build", ...BUILD_OPTIONS],
    { JAVA: java },
    logPath,
  );
  if (status !== 0) {
    throw new StackError("STACK_INSTALL_FAILED", `\`kc.sh build\` exited with ${status}`, {
      component: COMPONENT,
      logFile: logPath,
    });
  }
  writeFileSync(marker, `${wanted}\n`);
  log(`built Keycloak in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

export async function startKeycloak(
  layout: StackLayout,
  ports: KeycloakPorts,
  options: {
    timeoutS: number;
    log: (line: string) => void;
    version: string;
    admin: KeycloakAdmin;
    realm: RenderedRealm;
  },
): Promise<void> {
  const daemon = daemonOf(layout, COMPONENT);
  const urls = keycloakUrls(ports);
  const ready = (): Promise<boolean> => httpOk(urls.ready);
  const running = runningPid(daemon);
  if (running !== undefined) {
    // Already started from this state dir (maybe still starting): wait for it, never start a second.
    await waitUntilHealthy(COMPONENT, ready, {
      timeoutS: options.timeoutS,
      logFile: daemon.logFile,
      alive: () => isAlive(running),
    });
  } else {
    await assertPortFree(daemon, ports.keycloak);
    await assertPortFree(daemon, ports.keycloakManagement);
    const jdk = findJdk(17);
    const home = keycloakHome(layout, options.version);
    await ensureBuilt(home, jdk.java, layout, options.log);
    const dbFile = path.join(layout.dataDir, COMPONENT, "h2", "keycloakdb");
    mkdirSync(path.dirname(dbFile), { recursive: true });
    const launcher = startDaemon(
      daemon,
      path.join(home, "bin", "kc.sh"),
      [
        "start",
        "--optimized",
        "--http-enabled=true",
        "--http-host=127.0.0.1",
        `--http-port=${ports.keycloak}`,
        `--http-management-port=${ports.keycloakManagement}`,
        `--hostname=${urls.base}`,
        "--cache=local",
        `--db-url=jdbc:h2:file:${dbFile};NON_KEYWORDS=VALUE`,
        "--log-console-color=false",
        // A starting server logs every failed readiness probe at INFO.
        "--log-level=info,io.smallrye.health:warn",
      ],
      {
        extraEnv: {
          JAVA: jdk.java,
          KC_BOOTSTRAP_ADMIN_USERNAME: options.admin.username,
          KC_BOOTSTRAP_ADMIN_PASSWORD: options.admin.password ?? "",
        },
      },
    );
    await waitUntilHealthy(COMPONENT, ready, {
      timeoutS: options.timeoutS,
      logFile: daemon.logFile,
      alive: () => isAlive(launcher),
    });
    // kc.sh only forwards SIGTERM to its Java child: track the server itself, so that the SIGKILL
    // after stop's grace period cannot leave it orphaned.
    const server = childPids(launcher)[0];
    if (server !== undefined) adoptPid(daemon, server);
  }
  try {
    const result = await applyRealm(urls.base, options.admin, options.realm);
    options.log(`realm ${REALM_NAME}: ${result} (digest ${options.realm.digest.slice(0, 12)})`);
  } catch (error) {
    throw new StackError("STACK_REALM_FAILED", (error as Error).message, {
      component: COMPONENT,
      logFile: daemon.logFile,
      cause: error,
    });
  }
}

export const stopKeycloak = (layout: StackLayout): Promise<boolean> =>
  stopDaemon(daemonOf(layout, COMPONENT), 60_000);

export async function keycloakStatus(
  layout: StackLayout,
  ports: KeycloakPorts,
  version: string,
): Promise<ComponentStatus> {
  const daemon = daemonOf(layout, COMPONENT);
  const urls = keycloakUrls(ports);
  const healthy =
    (await httpOk(urls.ready).catch(() => false)) && (await httpOk(urls.realm).catch(() => false));
  return {
    component: COMPONENT,
    version,
    endpoint: `127.0.0.1:${ports.keycloak}/realms/${REALM_NAME}`,
    healthy,
    pid: runningPid(daemon),
    logFile: daemon.logFile,
  };
}
