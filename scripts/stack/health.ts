import { setTimeout as sleep } from "node:timers/promises";
import net from "node:net";
import { StackError } from "./errors.js";

/** Polls `probe` until it returns true; on timeout throws naming the component and its log. */
export async function waitUntilHealthy(
  component: string,
  probe: () => Promise<boolean>,
  options: { timeoutS: number; logFile?: string; alive?: () => boolean },
): Promise<void> {
  const deadline = Date.now() + options.timeoutS * 1000;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (options.alive && !options.alive()) {
      throw new StackError("STACK_START_FAILED", "process exited during start-up; read its log", {
        component,
        ...(options.logFile ? { logFile: options.logFile } : {}),
      });
    }
    try {
      if (await probe()) return;
    } catch (error) {
      lastError = error;
    }
    await sleep(500);
  }
  throw new StackError("STACK_HEALTH_TIMEOUT", `not healthy after ${options.timeoutS}s`, {
    component,
    ...(options.logFile ? { logFile: options.logFile } : {}),
    cause: lastError,
  });
}

export async function httpOk(url: string, timeoutMs = 3000): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  await response.arrayBuffer();
  return response.ok;
}

export function portInUse(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
