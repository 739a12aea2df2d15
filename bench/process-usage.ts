import { existsSync, readdirSync, readFileSync } from "node:fs";
import { postgresPid } from "../scripts/stack/components/postgres.js";
import { pidFile, stackLayout } from "../scripts/stack/layout.js";

/** What one phase of a bench cost the bench process. */
export interface PhaseUsage {
  wallS: number;
  /** User + system CPU of the whole process (the embedded ClickHouse's threads included). */
  cpuS: number;
  /** Highest RSS sampled during the phase (every 200 ms). */
  peakRssMiB: number;
  /** CPU of the native stack's JVMs over the phase, by component (from /proc; other users of the stack count too). */
  stackCpuS: Record<string, number>;
}

/** The native stack's JVMs whose CPU and memory a bench reports. */
export const STACK_COMPONENTS = ["kafka", "connect", "registry"] as const;

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ: 100 on Linux). */
const USER_HZ = 100;

function stackPid(stateDir: string, component: string): number | undefined {
  const file = pidFile(stackLayout(stateDir), component);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, "utf8").trim());
  return existsSync(`/proc/${pid}/stat`) ? pid : undefined;
}

/** A /proc stat line: the command name and the fields after it (utime is [11], stime [12], cutime [13], cstime [14], ppid [1]). */
function readStat(file: string): { name: string; fields: string[] } {
  // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
  const stat = readFileSync(file, "utf8");
  const close = stat.lastIndexOf(")");
  return { name: stat.slice(stat.indexOf("(") + 1, close), fields: stat.slice(close + 2).split(" ") };
}

/** CPU seconds a process has used so far, from /proc/<pid>/stat (utime + stime). */
export function procCpuS(pid: number): number {
  const { fields } = readStat(`/proc/${pid}/stat`);
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
}

/**
 * CPU seconds the threads of a process have used so far, summed by thread name
 * (/proc/<pid>/task/<tid>/stat): the embedded ClickHouse names its pools (`ThreadPool`: queries and
 * inserts, `MergeMutate`: merges, `BgSchPool`: background tasks), Node's threads are `node` apart
 * from the main thread, reported as `main`. A thread that ended between two readings takes its
 * CPU with it: compare the sum with procCpuS.
 */
export function threadCpuS(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: { name: string; fields: string[] };
    try {
      stat = readStat(`/proc/${pid}/task/${tid}/stat`);
    } catch {
      continue; // ended meanwhile
    }
    const name = tid === String(pid) ? "main" : stat.name;
    const cpu = (Number(stat.fields[11]) + Number(stat.fields[12])) / USER_HZ;
    byName.set(name, (byName.get(name) ?? 0) + cpu);
  }
  return byName;
}

/**
 * CPU seconds of a process and its children so far: its own, its ended children's (cutime +
 * cstime) and its living children's (PostgreSQL's backends are the postmaster's children).
 */
export function treeCpuS(pid: number): number {
  const own = readStat(`/proc/${pid}/stat`).fields;
  let cpu = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const { fields } = readStat(`/proc/${entry}/stat`);
      if (Number(fields[1]) === pid) cpu += Number(fields[11]) + Number(fields[12]);
    } catch {
      // ended meanwhile: its CPU is in the parent's cutime once reaped
    }
  }
  return cpu / USER_HZ;
}

/** CPU seconds so far of the stack's JVMs (STACK_COMPONENTS, Keycloak) and of PostgreSQL with its backends. */
export function stackProcessesCpuS(stateDir: string): Record<string, number> {
  const cpu = stackCpu(stateDir);
  const keycloak = stackPid(stateDir, "keycloak");
  if (keycloak !== undefined) cpu.keycloak = procCpuS(keycloak);
  const postgres = postgresPid(stackLayout(stateDir));
  if (postgres !== undefined && existsSync(`/proc/${postgres}/stat`)) cpu.postgres = treeCpuS(postgres);
  return cpu;
}

function stackCpu(stateDir: string): Record<string, number> {
  const cpu: Record<string, number> = {};
  for (const component of STACK_COMPONENTS) {
    const pid = stackPid(stateDir, component);
    if (pid !== undefined) cpu[component] = procCpuS(pid);
  }
  return cpu;
}

/** A memory figure of /proc/<pid>/status (VmHWM: peak RSS, VmRSS: current) in MiB; NaN when absent. */
export function procStatusMiB(pid: number, key: "VmHWM" | "VmRSS"): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Math.round(Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) / 1024);
}

/**
 * Peak (VmHWM, over the process's life) and current RSS of the stack's JVMs, in MiB, read from
 * /proc/<pid>/status; a component without a pid file (the stack runs elsewhere) is left out.
 */
export function stackMemory(stateDir: string): Record<string, { peakMiB: number; rssMiB: number }> {
  const memory: Record<string, { peakMiB: number; rssMiB: number }> = {};
  for (const component of STACK_COMPONENTS) {
    const pid = stackPid(stateDir, component);
    if (pid === undefined) continue;
    memory[component] = { peakMiB: procStatusMiB(pid, "VmHWM"), rssMiB: procStatusMiB(pid, "VmRSS") };
  }
  return memory;
}

/**
 * Samples the process's RSS every 200 ms; `phase()` starts a phase and returns its end, which
 * reports the phase's wall time, CPU (process.cpuUsage delta), peak RSS and the stack's CPU.
 */
export function usageMeter(stateDir: string): { phase: () => () => PhaseUsage; stop: () => void } {
  const rssMiB = () => Math.round(process.memoryUsage().rss / 1024 / 1024);
  let phasePeak = rssMiB();
  const timer = setInterval(() => {
    phasePeak = Math.max(phasePeak, rssMiB());
  }, 200);
  return {
    phase: () => {
      const started = Date.now();
      const cpu = process.cpuUsage();
      const stack = stackCpu(stateDir);
      phasePeak = rssMiB();
      return () => {
        const used = process.cpuUsage(cpu);
        const stackNow = stackCpu(stateDir);
        return {
          wallS: (Date.now() - started) / 1000,
          cpuS: (used.user + used.system) / 1e6,
          peakRssMiB: Math.max(phasePeak, rssMiB()),
          stackCpuS: Object.fromEntries(
            Object.entries(stackNow).map(([k, v]) => [k, Math.round((v - (stack[k] ?? v)) * 100) / 100]),
          ),
        };
      };
    },
    stop: () => clearInterval(timer),
  };
}

/** CPU seconds per million records. */
export const cpuPerMillion = (cpuS: number, records: number): number =>
  Math.round((cpuS / records) * 1e6 * 10) / 10;
