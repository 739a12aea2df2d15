import { setTimeout as sleep } from "node:timers/promises";
import type { SourceDatabases } from "../generate/checksum.js";
import { simulate } from "../simulate/index.js";

/**
 * `simulate` running in the background for as long as a chaos scenario needs it. A fault may break
 * its connections (a PostgreSQL restart): it then starts again after a short pause, so the sources
 * keep changing through every fault.
 */
export class LiveStream {
  private stop: AbortController | undefined;
  private running: Promise<void> | undefined;
  private round = 0;
  /** Changes the stream made, over all its runs. */
  changes = 0;
  /** Runs that ended with an error (a fault broke a connection). */
  interruptions = 0;

  constructor(
    private readonly dbs: SourceDatabases,
    private readonly rate: number,
    private readonly seed: number,
    private readonly log: (line: string) => void,
  ) {}

  start(): void {
    if (this.running) return;
    const stop = new AbortController();
    this.stop = stop;
    this.running = (async () => {
      while (!stop.signal.aborted) {
        this.round += 1;
        try {
          const summary = await simulate({
            ...this.dbs,
            rate: this.rate,
            seed: this.seed + this.round,
            signal: stop.signal,
          });
          this.changes += summary.total;
        } catch (error) {
          this.interruptions += 1;
          this.log(`simulate interrupted (${(error as Error).message}); starting again in 1 s`);
          await sleep(1_000);
        }
      }
    })();
  }

  /** Stops the stream and waits until its last transaction is done. */
  async halt(): Promise<void> {
    this.stop?.abort();
    await this.running;
    this.running = undefined;
  }
}
