import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { StackError } from "./errors.js";
import type { StackLayout } from "./layout.js";
import type { StackComponent } from "./stack.js";
import { findJdk, requireCommand } from "./tools.js";
import { repoRoot } from "../config.js";
import { mavenDir } from "./versions.js";

/**
 * Resolves the native stack from Maven Central with the poms in scripts/stack/maven, into the state
 * dir, and builds the project's own Connect parts from their sources. Each part has a marker holding
 * the hash of its pom or sources: a version bump re-resolves that part only, a warm cache costs nothing.
 */
interface InstallStep {
  name: string;
  /** The component that runs it: `stack up <component>` installs only what it needs. */
  component: StackComponent;
  /** What Maven resolves (with `goal`); a step without one only runs `then`. */
  pom?: string;
  goal?: (target: string) => string[];
  /** Files of the repository, besides poms, whose content decides whether the step runs again. */
  sources?: () => readonly string[];
  target: (layout: StackLayout) => string;
  /** Steps whose results this one works on: when they run (a new pom of theirs, say), this one runs too. */
  over?: readonly string[];
  /** Run after Maven has resolved the step (if it has a pom), before its marker is written. */
  then?: (layout: StackLayout, target: string) => void;
}

const SNAPSHOTTER_DIR = path.join("connectors", "snapshotter");
/** Every file of the snapshotter's sources (Java under src/, ServiceLoader manifests under resources/), sorted. */
const snapshotterFiles = (): string[] =>
  readdirSync(path.join(repoRoot, SNAPSHOTTER_DIR), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(repoRoot, path.join(entry.parentPath, entry.name)))
    .sort();

const debeziumPluginDir = (layout: StackLayout): string =>
  path.join(layout.installDir, "connect", "plugins", "debezium-connector-postgres");

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
    // Debezium's initial snapshot from a replication slot made for it (connectors/snapshotter,
    // docs/consumers.md "Resets"), compiled against the Debezium and Kafka jars installed above, into
    // the Postgres connector's plugin directory (its class loader finds it by ServiceLoader).
    name: "debezium-snapshotter",
    component: "connect",
    sources: snapshotterFiles,
    target: (l) => path.join(debeziumPluginDir(l), "bionicpro-snapshotter.jar"),
    over: ["connect", "debezium"],
    then: buildSnapshotter,
  },
  {
    // Kafka's connect-plugin-path tool writes ServiceLoader manifests into the plugins that lack them
    // (the Apicurio converter; Debezium ships its own), so the worker starts with
    // plugin.discovery=service_load: no reflective scan of every plugin jar at each start (9 s of a
    // 12 s start on an idle 2-core host, 15-30 s under load).
    name: "connect-manifests",
    component: "connect",
    pom: "connect-tools.pom.xml",
    target: (l) => path.join(l.installDir, "connect", "tools"),
    goal: (t) => ["dependency:copy-dependencies", `-DoutputDirectory=${t}`, "-DexcludeTransitive=true"],
    over: ["avro-converter", "debezium"],
    then: syncPluginManifests,
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

/** The step's pom and sources, and the poms of the steps it works on. */
function stepHash(step: InstallStep): string {
  const poms = [step.pom, ...(step.over ?? []).map((name) => stepNamed(name).pom)];
  const hash = createHash("sha256");
  for (const pom of poms) if (pom) hash.update(readFileSync(path.join(mavenDir, pom)));
  for (const source of step.sources?.() ?? []) hash.update(readFileSync(path.join(repoRoot, source)));
  return hash.digest("hex");
}

function stepNamed(name: string): InstallStep {
  const step = STEPS.find((s) => s.name === name);
  if (!step) throw new Error(`no install step ${name}`);
  return step;
}

/** javac + jar of the JDK that runs Connect, over the connector's and Connect's jars. */
function buildSnapshotter(layout: StackLayout, jarPath: string): void {
  // The JDK tools beside the Java that runs Connect, else those on PATH.
  const { java } = findJdk(17);
  const bin = java === "java" ? undefined : path.dirname(realpathSync(java));
  const tool = (name: string): string =>
    bin && existsSync(path.join(bin, name))
      ? path.join(bin, name)
      : requireCommand(name, "install a JDK 17+ (`apt-get install openjdk-17-jdk-headless`)");
  const classes = path.join(layout.installDir, "connect", "snapshotter-classes");
  rmSync(classes, { recursive: true, force: true });
  mkdirSync(classes, { recursive: true });
  const classPath = [
    path.join(debeziumPluginDir(layout), "*"),
    path.join(layout.installDir, "connect", "libs", "*"),
  ];
  const logPath = path.join(layout.logDir, "install-debezium-snapshotter.log");
  const run = (command: string, args: string[]): void => {
    const result = spawnSync(command, args, { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
    writeFileSync(logPath, `${result.stdout ?? ""}${result.stderr ?? ""}`, { flag: "a" });
    if (result.status !== 0) {
      throw new StackError("STACK_INSTALL_FAILED", `${path.basename(command)} failed`, {
        component: "debezium-snapshotter",
        logFile: logPath,
      });
    }
  };
  writeFileSync(logPath, "");
  run(tool("javac"), [
    "--release",
    "17",
    "-d",
    classes,
    "-cp",
    classPath.join(path.delimiter),
    ...snapshotterFiles()
      .filter((file) => file.endsWith(".java"))
      .map((file) => path.join(repoRoot, file)),
  ]);
  run(tool("jar"), [
    "--create",
    "--file",
    jarPath,
    "-C",
    classes,
    ".",
    "-C",
    path.join(repoRoot, SNAPSHOTTER_DIR, "resources"),
    ".",
  ]);
  rmSync(classes, { recursive: true, force: true });
}

/** `connect-plugin-path sync-manifests` over Connect's plugin path, on Connect's own libraries. */
function syncPluginManifests(layout: StackLayout, tools: string): void {
  const connectDir = path.join(layout.installDir, "connect");
  const classPath = [path.join(connectDir, "libs", "*"), path.join(tools, "*")].join(path.delimiter);
  const result = spawnSync(
    findJdk(17).java,
    [
      "-cp",
      classPath,
      "org.apache.kafka.tools.ConnectPluginPath",
      "sync-manifests",
      "--plugin-path",
      path.join(connectDir, "plugins"),
    ],
    { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 },
  );
  const logPath = path.join(layout.logDir, "install-connect-manifests-sync.log");
  writeFileSync(logPath, `${result.stdout ?? ""}${result.stderr ?? ""}`);
  if (result.status !== 0) {
    throw new StackError("STACK_INSTALL_FAILED", "Kafka's connect-plugin-path tool failed", {
      component: "connect-manifests",
      logFile: logPath,
    });
  }
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
  /** Steps run by this install: a step working on their results runs again too. */
  const ran = new Set<string>();
  for (const step of steps) {
    const marker = path.join(layout.installDir, "markers", `${step.name}.sha256`);
    const hash = stepHash(step);
    const upToDate = existsSync(marker) && readFileSync(marker, "utf8").trim() === hash;
    if (upToDate && !(step.over ?? []).some((name) => ran.has(name))) continue;
    ran.add(step.name);
    const target = step.target(layout);
    if (step.name !== "debezium") rmSync(target, { recursive: true, force: true });
    const started = Date.now();
    mkdirSync(layout.logDir, { recursive: true });
    if (step.pom && step.goal) {
      log(`installing ${step.name} from Maven Central (cache: ${layout.m2}) ...`);
      mavenStep(mvn, layout, step.name, step.pom, step.goal(target));
    }
    step.then?.(layout, target);
    writeFileSync(marker, `${hash}\n`);
    log(`installed ${step.name} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  }
}

function mavenStep(mvn: string, layout: StackLayout, name: string, pom: string, goal: string[]): void {
  const logPath = path.join(layout.logDir, `install-${name}.log`);
  const result = spawnSync(
    mvn,
    ["-B", "-ntp", `-Dmaven.repo.local=${layout.m2}`, "-f", path.join(mavenDir, pom), ...goal],
    { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
  );
  writeFileSync(logPath, `${result.stdout ?? ""}${result.stderr ?? ""}`);
  if (result.status !== 0) {
    throw new StackError("STACK_INSTALL_FAILED", "Maven could not resolve it; is Maven Central reachable?", {
      component: name,
      logFile: logPath,
    });
  }
}
