import { setTimeout as sleep } from "node:timers/promises";
import { isTransient } from "../errors.js";

/**
 * Retries `work` while it fails with a transient error, with full-jitter exponential backoff
 * (100 ms .. 10 s). Programming errors and permanent failures are thrown at once.
 */
export async function retryTransient<T>(
  what: string,
  work: () => Promise<T>,
  options: { maxMs: number; signal?: AbortSignal; onRetry?: (attempt: number, error: unknown) => void },
): Promise<T> {
  const deadline = Date.now() + options.maxMs;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await work();
    } catch (error) {
      if (!isTransient(error) || Date.now() > deadline || options.signal?.aborted) {
        throw new Error(`${what} failed after ${attempt} attempt(s): ${(error as Error).message}`, {
          cause: error,
        });
      }
      options.onRetry?.(attempt, error);
      const cap = Math.min(10_000, 100 * 2 ** Math.min(attempt, 10));
      await sleep(Math.random() * cap);
    }
  }
}
