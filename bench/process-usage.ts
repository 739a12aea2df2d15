import { existsSync, readFileSync } from "node:fs";
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

/** CPU seconds a process has used so far, from /proc/<pid>/stat (utime + stime). */
export function procCpuS(pid: number): number {
  // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
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
