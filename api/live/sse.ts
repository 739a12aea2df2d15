/** The part of a Node response an SSE writer needs (http.ServerResponse, or a test double). */
export interface SseSink {
  write(chunk: string): boolean;
  /** Bytes accepted by write() but not yet handed to the socket. */
  readonly writableLength: number;
  end(): void;
  destroy(): void;
}

export interface SseEvent {
  id?: string;
  event?: string;
  data: unknown;
}

/**
 * One Server-Sent Events message: `id`, `event`, then `data` as JSON on one line (JSON has no raw
 * newline), ended by a blank line. Ids and names come from this code and never contain a newline;
 * they are checked anyway so a bug cannot inject fields.
 */
export function formatEvent(event: SseEvent): string {
  const field = (name: string, value: string) => {
    if (/[\r\n]/.test(value)) throw new Error(`SSE ${name} must not contain a newline`);
    return `${name}: ${value}\n`;
  };
  return (
    (event.id !== undefined ? field("id", event.id) : "") +
    (event.event !== undefined ? field("event", event.event) : "") +
    `data: ${JSON.stringify(event.data)}\n\n`
  );
}

/**
 * Writes events to one client with a bound on what may wait for it: when the bytes not yet taken
 * by the socket would exceed `maxBufferedBytes`, the client is too slow (or gone without a FIN) and
 * is dropped — the connection is destroyed — instead of letting the process's memory grow. A browser
 * then reconnects with Last-Event-ID and gets the current figures.
 */
export class SseWriter {
  private closed = false;

  constructor(
    private readonly sink: SseSink,
    private readonly maxBufferedBytes: number,
    private readonly onDrop: (bufferedBytes: number) => void = () => undefined,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** False when the writer is closed or the client was dropped. */
  private write(text: string): boolean {
    if (this.closed) return false;
    const pending = this.sink.writableLength + Buffer.byteLength(text);
    if (pending > this.maxBufferedBytes) {
      this.closed = true;
      this.onDrop(pending);
      this.sink.destroy();
      return false;
    }
    this.sink.write(text);
    return true;
  }

  send(event: SseEvent): boolean {
    return this.write(formatEvent(event));
  }

  /** A comment line: keeps proxies and the browser from timing the connection out. */
  comment(text: string): boolean {
    return this.write(`: ${text.replace(/[\r\n]/g, " ")}\n\n`);
  }

  /** How long the browser waits before reconnecting. */
  retry(ms: number): boolean {
    return this.write(`retry: ${Math.max(0, Math.floor(ms))}\n\n`);
  }

  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.sink.end();
  }
}
