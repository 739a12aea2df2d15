import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { StackError } from "./errors.js";
import type { StackLayout } from "./layout.js";
import type { StackComponent } from "./stack.js";
import { requireCommand } from "./tools.js";
import { mavenDir } from "./versions.js";

/**
 * Resolves the native stack from Maven Central with the poms in scripts/stack/maven, into the state
 * dir. Each part has a marker holding the hash of its pom: a version bump re-resolves that part only,
 * a warm cache costs nothing.
 */
interface InstallStep {
  name: string;
  /** The component that runs it: `stack up <component>` installs only what it needs. */
  component: StackComponent;
  pom: string;
  target: (layout: StackLayout) => string;
  goal: (target: string) => string[];
}

const STEPS: InstallStep[] = [
  {
    name: "kafka",
    component: "kafka",
    pom: "kafka.pom.xml",
    target: (l) => path.join(l.installDir, "kafka", "libs"),
    goal: (t) => ["dependency:copy-dependencies", `-DoutputDirectory=${t}`],
  },
  {
    name: "connect",
    component: "connect",
    pom: "connect.pom.xml",
    target: (l) => path.join(l.installDir, "connect", "libs"),
    goal: (t) => ["dependency:copy-dependencies", `-DoutputDirectory=${t}`],
  },
  {
    name: "avro-converter",
    component: "connect",
    pom: "avro-converter.pom.xml",
    target: (l) => path.join(l.installDir, "connect", "plugins", "apicurio-converter"),
    // Connect's own API and logging come from the worker's class path, not the plugin's.
    goal: (t) => [
      "dependency:copy-dependencies",
      `-DoutputDirectory=${t}`,
      "-DexcludeGroupIds=org.apache.kafka,org.slf4j",
    ],
  },
  {
    name: "debezium",
    component: "connect",
    pom: "archives.pom.xml",
    target: (l) => path.join(l.installDir, "connect", "plugins"),
    goal: (t) => ["dependency:unpack@debezium", `-Dstack.dir=${t}`],
  },
  {
    name: "apicurio",
    component: "registry",
    pom: "archives.pom.xml",
    target: (l) => path.join(l.installDir, "apicurio"),
    goal: (t) => ["dependency:unpack@apicurio", `-Dstack.dir=${t}`],
  },
  {
    name: "keycloak",
    component: "keycloak",
    pom: "keycloak.pom.xml",
    target: (l) => path.join(l.installDir, "keycloak"),
    goal: (t) => ["dependency:unpack@keycloak", `-Dstack.dir=${t}`],
  },
];

function pomHash(pom: string): string {
  return createHash("sha256")
    .update(readFileSync(path.join(mavenDir, pom)))
    .digest("hex");
}

export async function installStack(
  layout: StackLayout,
  components: readonly StackComponent[],
  log: (line: string) => void,
): Promise<void> {
  const steps = STEPS.filter((step) => components.includes(step.component));
  if (steps.length === 0) return;
  const mvn = requireCommand("mvn", "install Apache Maven (`apt-get install maven`)");
  mkdirSync(path.join(layout.installDir, "markers"), { recursive: true });
  for (const step of steps) {
    const marker = path.join(layout.installDir, "markers", `${step.name}.sha256`);
    const hash = pomHash(step.pom);
    if (existsSync(marker) && readFileSync(marker, "utf8").trim() === hash) continue;
    const target = step.target(layout);
    if (step.name !== "debezium") rmSync(target, { recursive: true, force: true });
    log(`installing ${step.name} from Maven Central (cache: ${layout.m2}) ...`);
    const started = Date.now();
    const logPath = path.join(layout.logDir, `install-${step.name}.log`);
    mkdirSync(layout.logDir, { recursive: true });
    const result = spawnSync(
      mvn,
      [
        "-B",
        "-ntp",
        `-Dmaven.repo.local=${layout.m2}`,
        "-f",
        path.join(mavenDir, step.pom),
        ...step.goal(target),
      ],
      { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
    );
    writeFileSync(logPath, `${result.stdout ?? ""}${result.stderr ?? ""}`);
    if (result.status !== 0) {
      throw new StackError(
        "STACK_INSTALL_FAILED",
        "Maven could not resolve it; is Maven Central reachable?",
        {
          component: step.name,
          logFile: logPath,
        },
      );
    }
    writeFileSync(marker, `${hash}\n`);
    log(`installed ${step.name} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  }
}
