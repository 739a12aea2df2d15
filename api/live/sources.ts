import type { ChunkApplied, ChunkApplying } from "../../consumers/src/runtime/applied-events.js";
import { everything, type LiveFeed, type MartsChange } from "./feed.js";

/** What the embedded default passes: MartsPipeline.applied (consumers/src/runtime/applied-events.ts). */
export interface AppliedChunkSource {
  on(listener: (event: ChunkApplied) => void): () => void;
  /** Before a chunk's first write (what the report cache needs to stay exact). */
  onApplying?(listener: (event: ChunkApplying) => void): () => void;
}

/** A chunk's subjects as a change of the marts; null for chunks that change no figure (heartbeats). */
export function changeOfChunk(event: ChunkApplied): MartsChange | null {
  const { touched } = event;
  if (!touched.reset && touched.tables.length === 0) return null;
  return {
    users: new Set(touched.users),
    prosthetics: new Set(touched.prosthetics),
    chips: new Set(touched.chips),
    tables: new Set(touched.tables),
    all: touched.reset,
  };
}

/**
 * Embedded default: the consumers run in this process, so every chunk they record applied becomes a
 * change of the feed at once (no polling). Returns the function that stops listening.
 */
export function followPipeline(source: AppliedChunkSource, feed: LiveFeed): () => void {
  return source.on((event) => {
    const change = changeOfChunk(event);
    if (change) feed.publish(change);
  });
}

/**
 * Server mode: the consumers run elsewhere; the API polls their progress (`readMarker`, e.g.
 * clickhouse/freshness.ts readAppliedMarker) every `intervalMs` while streams are open, and
 * publishes a change that may touch everyone when it moved (each stream then re-reads its user).
 */
export function pollProgress(
  readMarker: () => Promise<string>,
  feed: LiveFeed,
  intervalMs: number,
  onError: (error: unknown) => void,
): () => void {
  let last: string | undefined;
  let reading = false;
  const timer = setInterval(() => {
    if (reading || feed.subscribers === 0) return;
    reading = true;
    readMarker()
      .then((marker) => {
        if (last !== undefined && marker !== last) feed.publish(everything);
        last = marker;
      })
      .catch(onError)
      .finally(() => {
        reading = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
