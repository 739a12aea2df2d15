import { readlinkSync } from "node:fs";
import { getPriority, setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import { Registry } from "prom-client";
import type { ConsumerConfig } from "../config.js";
import { consumerLog } from "../logging.js";
import type { MartsPipeline } from "./pipeline.js";
import { startPipeline, type RunningPipeline } from "./run.js";
import { replayNextTo, type ThreadRequest, type ToMain, type ToWorker } from "./thread.js";

/**
 * The consumers' worker thread (runtime/thread.ts startPipelineThread): the pipeline with its
 * metrics on a registry of this thread (the process metrics stay the main thread's), every chunk
 * event posted to the main thread, an "applying" one waited for until the main thread has heard it.
 */
const port = parentPort;
if (!port) throw new Error("thread-worker.ts runs as a worker thread (runtime/thread.ts)");
const config = (workerData as { config: ConsumerConfig }).config;
const log = consumerLog(config);
if (config.threadNice > 0) {
  // Linux: this thread's id is the last part of /proc/thread-self; setpriority on it renices this
  // thread only (the API's thread keeps its nice).
  const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
  setPriority(tid, config.threadNice);
  log(`consumers' thread ${tid} at nice ${getPriority(tid)}`);
}
const registry = new Registry();
const post = (message: ToMain) => port.postMessage(message);

let nextId = 0;
const heard = new Map<number, () => void>();
let running: RunningPipeline | undefined;

async function answer(request: ThreadRequest, pipeline: MartsPipeline): Promise<unknown> {
  switch (request.kind) {
    case "metrics":
      return registry.getMetricsAsJSON();
    case "replay":
      return replayNextTo(pipeline, config, request.oracle);
    case "close":
      // Waits for the chunks in flight; their "applying" events are still answered meanwhile.
      await running?.close();
      return undefined;
  }
}

port.on("message", (message: ToWorker) => {
  if (message.type === "heard") {
    heard.get(message.id)?.();
    heard.delete(message.id);
    return;
  }
  const pipeline = running?.pipeline;
  if (!pipeline) return post({ type: "reply", id: message.id, error: "the consumers have not started" });
  answer(message.request, pipeline).then(
    (value) => post({ type: "reply", id: message.id, value }),
    (error: unknown) => post({ type: "reply", id: message.id, error: (error as Error).message }),
  );
});

try {
  running = await startPipeline(config, log, { metrics: registry });
} catch (error) {
  post({ type: "start-failed", message: (error as Error).message });
  port.close();
}
if (running) {
  const { pipeline } = running;
  pipeline.applied.onApplying(
    (event) =>
      new Promise<void>((resolve) => {
        const id = ++nextId;
        heard.set(id, resolve);
        post({ type: "applying", id, event });
      }),
  );
  pipeline.applied.on((event) => post({ type: "applied", event, stats: { ...pipeline.stats } }));
  void pipeline.failed.then((error) =>
    post({ type: "failed", message: error.message, stats: { ...pipeline.stats } }),
  );
  post({ type: "started" });
}
