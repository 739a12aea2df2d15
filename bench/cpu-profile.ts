import { mkdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import path from "node:path";
import { repoRoot } from "../scripts/config.js";

/**
 * A V8 CPU profile of this process's main thread over one phase of a benchmark (node:inspector's
 * Profiler, so only the phase is sampled), saved as a .cpuprofile under .state/bench/ (open it in
 * Chrome DevTools or speedscope) and summarised: self time per function and per area, the share of
 * the main thread left idle (waiting on the engine's threads, Kafka, timers) and spent collecting
 * garbage.
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  sampledMs: number;
  idleShare: number;
  gcShare: number;
  /** Self time per function, largest first: [label, share of the sampled time]. */
  functions: [string, number][];
  /** Self time per area (our directories, each package, the runtime), largest first. */
  areas: [string, number][];
}

const shortUrl = (url: string): string => {
  const inModules = url.lastIndexOf("node_modules/");
  if (inModules >= 0) return url.slice(inModules + "node_modules/".length);
  const root = `${repoRoot}/`;
  const at = url.indexOf(root);
  return at >= 0 ? url.slice(at + root.length) : url.replace(/^file:\/\//, "");
};

/** `kafkajs/src/...` -> `kafkajs`, `@clickhouse/client/...` -> `@clickhouse/client`, ours by directory. */
function areaOf(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)";
  if (url.startsWith("node:")) return "(node runtime)";
  const short = shortUrl(url);
  if (url.includes("node_modules/")) {
    const parts = short.split("/");
    return short.startsWith("@") ? `${parts[0]}/${parts[1]}` : (parts[0] as string);
  }
  const parts = short.split("/");
  return parts.length > 2 ? `${parts.slice(0, -1).join("/")}/` : short;
}

export function summariseProfile(profile: Profile, file: string, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    self.set(id, (self.get(id) ?? 0) + dt);
    total += dt;
  });
  const functions = new Map<string, number>();
  const areas = new Map<string, number>();
  let idle = 0;
  let gc = 0;
  for (const [id, us] of self) {
    const node = byId.get(id) as ProfileNode;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === "(idle)") idle += us;
    if (functionName === "(garbage collector)") gc += us;
    const name = functionName || "(anonymous)";
    const label = url === "" ? name : `${name} ${shortUrl(url)}:${lineNumber + 1}`;
    functions.set(label, (functions.get(label) ?? 0) + us);
    const area = areaOf(node);
    areas.set(area, (areas.get(area) ?? 0) + us);
  }
  const ranked = (m: Map<string, number>, n: number): [string, number][] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => [k, total > 0 ? v / total : 0]);
  return {
    file,
    sampledMs: total / 1000,
    idleShare: total > 0 ? idle / total : 0,
    gcShare: total > 0 ? gc / total : 0,
    functions: ranked(functions, top),
    areas: ranked(areas, 15),
  };
}

/** Starts sampling; the returned function stops, saves the profile as `<name>-<time>.cpuprofile` and summarises it. */
export async function startCpuProfile(name: string): Promise<() => Promise<ProfileSummary>> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 500 });
  await session.post("Profiler.start");
  return async () => {
    const { profile } = (await session.post("Profiler.stop")) as { profile: Profile };
    session.disconnect();
    const dir = path.join(repoRoot, ".state", "bench");
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${name}-${new Date().toISOString().replace(/[:.]/g, "-")}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    return summariseProfile(profile, path.relative(repoRoot, file));
  };
}

const pct = (share: number): string => `${(share * 100).toFixed(1)} %`;

/** The summary as Markdown: the phase's main-thread split, then the areas and functions by self time. */
export function profileMarkdown(title: string, s: ProfileSummary): string[] {
  return [
    `### CPU profile: ${title}`,
    "",
    `Main thread sampled ${(s.sampledMs / 1000).toFixed(1)} s: idle ${pct(s.idleShare)} (waiting on the engine's threads, Kafka, timers), garbage collection ${pct(s.gcShare)}. Profile: \`${s.file}\`.`,
    "",
    "| area (self time) | share |",
    "|---|---|",
    ...s.areas.map(([area, share]) => `| ${area} | ${pct(share)} |`),
    "",
    "| function (self time) | share |",
    "|---|---|",
    ...s.functions.map(([fn, share]) => `| \`${fn.replaceAll("|", "\\|")}\` | ${pct(share)} |`),
    "",
  ];
}
