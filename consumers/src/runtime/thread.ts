import { Worker } from "node:worker_threads";
import type { MetricsJson } from "../../../observability/registry.js";
import type { ConsumerConfig } from "../config.js";
import type { Registry } from "prom-client";
import type { ConsumerLog } from "../logging.js";
import { runReplay, type ReplayOptions, type ReplayResult } from "../replay/replay.js";
import { AppliedChunks, type ChunkApplied, type ChunkApplying } from "./applied-events.js";
import { noPipelineStats, type MartsPipeline, type PipelineStats } from "./pipeline.js";
import { startPipeline } from "./run.js";

/** What the main thread asks the consumers' thread. */
export type ThreadRequest =
  { kind: "metrics" } | { kind: "replay"; oracle: ReplayOracle } | { kind: "close" };

/** The oracle a replay reconciles its shadow with. */
export type ReplayOracle = ReplayOptions["oracle"];

/** Messages between the threads (structured clone: bigint offsets cross as they are). */
export type ToMain =
  | { type: "started" }
  | { type: "start-failed"; message: string }
  | { type: "applying"; id: number; event: ChunkApplying }
  | { type: "applied"; event: ChunkApplied; stats: PipelineStats }
  | { type: "failed"; message: string; stats: PipelineStats }
  | { type: "reply"; id: number; value?: unknown; error?: string };

export type ToWorker =
  { type: "heard"; id: number } | { type: "request"; id: number; request: ThreadRequest };

/**
 * The consumers of `npm start`, in a worker thread of the process (startPipelineThread) or on the
 * calling one (startPipelineHere): what the API and the progress line need of them.
 */
export interface RunningConsumers {
  /**
   * The chunks the consumers apply, heard on the calling thread: an "applying" listener runs before
   * the chunk's first write (which waits for it), an "applied" one after it is recorded applied.
   */
  readonly applied: AppliedChunks;
  /** The pipeline's counters as of its last applied chunk (PipelineStats). */
  readonly stats: PipelineStats;
  /** The pipeline's fatal error, once it has one. */
  readonly error: Error | undefined;
  /** Resolves with the fatal error once the pipeline cannot go on (or the thread died). */
  readonly failed: Promise<Error>;
  /** The consumers' metrics when they are not on the caller's registry (their thread's). */
  metrics?: () => Promise<MetricsJson>;
  /** A replay of the marts (docs/replay.md) in the consumers' thread, next to the live pipeline. */
  replay(oracle: ReplayOracle): Promise<Pick<ReplayResult, "runId" | "records" | "changesPerSecond">>;
  /** Stops the pipeline (in-flight chunks end), then the thread. */
  close(): Promise<void>;
}

/**
 * The worker's entry. This project runs its TypeScript through tsx, whose loader a worker thread
 * does not inherit on Node 20 (`--import` hooks stay on the main thread): the worker registers it
 * first, then imports the entry.
 */
function workerEntry(): string {
  const entry = new URL("./thread-worker.ts", import.meta.url).href;
  const tsx = import.meta.resolve("tsx/esm/api");
  return `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`;
}

/**
 * Starts the consumers (migrations, then the group; runtime/run.ts startPipeline) in a worker thread
 * of this process, on the same embedded data directory: their decode, map and serialisation never
 * hold this thread's event loop (the API's, in `npm start`). Resolves once they consume; rejects
 * with their start error. Log lines go to the process's stdout as before.
 */
export async function startPipelineThread(config: ConsumerConfig): Promise<RunningConsumers> {
  const worker = new Worker(workerEntry(), { eval: true, workerData: { config } });
  const applied = new AppliedChunks((error) =>
    console.error(`[consumers] a chunk-applied listener failed: ${(error as Error).message}`),
  );
  let stats = noPipelineStats();
  let failure: Error | undefined;
  let onFailure: (error: Error) => void = () => undefined;
  const failed = new Promise<Error>((resolve) => {
    onFailure = resolve;
  });
  const fail = (error: Error) => {
    if (failure) return;
    failure = error;
    onFailure(error);
  };
  let nextId = 0;
  const waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  const request = <T>(req: ThreadRequest): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = ++nextId;
      waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage({ type: "request", id, request: req } satisfies ToWorker);
    });
  let exited = false;
  let closing = false;
  const started = new Promise<void>((resolve, reject) => {
    worker.on("message", (message: ToMain) => {
      switch (message.type) {
        case "started":
          resolve();
          break;
        case "start-failed":
          reject(new Error(message.message));
          break;
        case "applying": {
          // Answered whatever the listeners do: the chunk's write waits for this.
          const heard = applied.emitApplying(message.event);
          const answer = () => {
            if (!exited) worker.postMessage({ type: "heard", id: message.id } satisfies ToWorker);
          };
          if (heard) void heard.then(answer);
          else answer();
          break;
        }
        case "applied":
          stats = message.stats;
          applied.emit(message.event);
          break;
        case "failed":
          stats = message.stats;
          fail(new Error(message.message));
          break;
        case "reply": {
          const waiter = waiting.get(message.id);
          waiting.delete(message.id);
          if (message.error !== undefined) waiter?.reject(new Error(message.error));
          else waiter?.resolve(message.value);
          break;
        }
      }
    });
    worker.on("error", (error: Error) => {
      reject(error);
      fail(error);
    });
    worker.on("exit", (code) => {
      exited = true;
      const error = new Error(`the consumers' thread exited (code ${code})`);
      reject(error);
      for (const waiter of waiting.values()) waiter.reject(error);
      waiting.clear();
      if (!closing) fail(error);
    });
  });
  try {
    await started;
  } catch (error) {
    await worker.terminate();
    throw error;
  }
  return {
    applied,
    get stats() {
      return stats;
    },
    get error() {
      return failure;
    },
    failed,
    metrics: () => request<MetricsJson>({ kind: "metrics" }),
    replay: (oracle) => request({ kind: "replay", oracle }),
    close: async () => {
      if (closing || exited) return;
      closing = true;
      await request({ kind: "close" });
      await worker.terminate();
    },
  };
}

/** The consumers on the calling thread (CONSUMER_THREAD=main), their metrics on `metrics`. */
export async function startPipelineHere(
  config: ConsumerConfig,
  log: ConsumerLog,
  metrics: Registry,
): Promise<RunningConsumers> {
  const running = await startPipeline(config, log, { metrics });
  const { pipeline } = running;
  return {
    applied: pipeline.applied,
    get stats() {
      return pipeline.stats;
    },
    get error() {
      return pipeline.error;
    },
    failed: pipeline.failed,
    replay: (oracle) => replayNextTo(pipeline, config, oracle),
    close: () => running.close(),
  };
}

/** A replay of the marts next to the live pipeline of this thread; its log lines say `[replay]`. */
export async function replayNextTo(
  live: MartsPipeline,
  config: ConsumerConfig,
  oracle: ReplayOracle,
): Promise<Pick<ReplayResult, "runId" | "records" | "changesPerSecond">> {
  const result = await runReplay({
    clickhouse: config.clickhouse,
    consumer: config,
    oracle,
    live,
    log: (line) => console.log(`[replay] ${line}`),
  });
  return { runId: result.runId, records: result.records, changesPerSecond: result.changesPerSecond };
}
