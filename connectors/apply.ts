import { setTimeout as sleep } from "node:timers/promises";

/** Kafka Connect REST: create-or-update a connector and wait until it and its task run. */
export class ConnectorError extends Error {
  readonly code = "CONNECTOR_FAILED";
  constructor(message: string) {
    super(message);
    this.name = "ConnectorError";
  }
}

interface ConnectorStatus {
  connector: { state: string; trace?: string };
  tasks: { id: number; state: string; trace?: string }[];
}

async function request(method: string, url: string, body?: unknown): Promise<Response> {
  return fetch(url, {
    method,
    headers: { "content-type": "application/json", accept: "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  });
}

export async function putConnector(
  connectUrl: string,
  name: string,
  config: Record<string, string>,
): Promise<void> {
  const response = await request(
    "PUT",
    `${connectUrl}/connectors/${encodeURIComponent(name)}/config`,
    config,
  );
  if (!response.ok) {
    throw new ConnectorError(
      `Kafka Connect refused connector ${name}: ${response.status} ${await response.text()}`,
    );
  }
  await response.arrayBuffer().catch(() => undefined);
}

export async function connectorStatus(
  connectUrl: string,
  name: string,
): Promise<ConnectorStatus | undefined> {
  const response = await request("GET", `${connectUrl}/connectors/${encodeURIComponent(name)}/status`);
  if (response.status === 404) return undefined;
  if (!response.ok)
    throw new ConnectorError(`status of ${name}: ${response.status} ${await response.text()}`);
  return (await response.json()) as ConnectorStatus;
}

/** One source partition's committed offset, as Kafka Connect's offsets API shows it (KIP-875). */
export interface SourceOffset {
  partition: Record<string, unknown>;
  offset: Record<string, unknown>;
}

/** A connector's committed source offsets (empty before its first commit). */
export async function connectorOffsets(connectUrl: string, name: string): Promise<SourceOffset[]> {
  const response = await request("GET", `${connectUrl}/connectors/${encodeURIComponent(name)}/offsets`);
  if (!response.ok)
    throw new ConnectorError(`offsets of ${name}: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { offsets: SourceOffset[] }).offsets;
}

/**
 * Rewrites a connector's source offsets the way Kafka Connect allows it (KIP-875): stops the
 * connector, waits until it is STOPPED, then deletes its offsets (`edit` returns null) or replaces them
 * with what `edit` makes of the current ones, and resumes it.
 */
export async function rewriteOffsets(
  connectUrl: string,
  name: string,
  edit: (current: SourceOffset[]) => SourceOffset[] | null,
  timeoutMs = 60_000,
): Promise<void> {
  const url = `${connectUrl}/connectors/${encodeURIComponent(name)}`;
  const call = async (method: string, path: string, body?: unknown): Promise<void> => {
    const response = await request(method, `${url}${path}`, body);
    if (!response.ok)
      throw new ConnectorError(`${method} ${path} of ${name}: ${response.status} ${await response.text()}`);
    await response.arrayBuffer().catch(() => undefined);
  };
  await call("PUT", "/stop");
  const deadline = Date.now() + timeoutMs;
  while ((await connectorStatus(connectUrl, name))?.connector.state !== "STOPPED") {
    if (Date.now() > deadline) throw new ConnectorError(`${name} did not stop within ${timeoutMs} ms`);
    await sleep(250);
  }
  const next = edit(await connectorOffsets(connectUrl, name));
  if (next === null) await call("DELETE", "/offsets");
  else await call("PATCH", "/offsets", { offsets: next });
  await call("PUT", "/resume");
}

/** Asks Kafka Connect to restart a connector's FAILED instances (connector and tasks). */
export async function restartFailed(connectUrl: string, name: string): Promise<boolean> {
  const response = await request(
    "POST",
    `${connectUrl}/connectors/${encodeURIComponent(name)}/restart?includeTasks=true&onlyFailed=true`,
  );
  await response.arrayBuffer().catch(() => undefined);
  return response.ok;
}

/**
 * Waits until the connector and every task run. A connector found FAILED is restarted once (it may
 * have failed while nothing supervised it — the registry down while `npm start` was not running —
 * and Connect keeps it FAILED across its own restarts); FAILED again after that is an error with
 * the task's trace.
 */
export async function waitForConnectorRunning(
  connectUrl: string,
  name: string,
  timeoutMs = 120_000,
  log: (line: string) => void = () => undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: ConnectorStatus | undefined;
  let restarted = false;
  while (Date.now() < deadline) {
    last = await connectorStatus(connectUrl, name);
    const failed = [last?.connector, ...(last?.tasks ?? [])].find((s) => s?.state === "FAILED");
    if (failed) {
      const reason = failed.trace?.split("\n")[0] ?? "no trace";
      if (restarted) throw new ConnectorError(`connector ${name} FAILED: ${reason}`);
      log(`connector ${name} was FAILED (${reason}): restarting it`);
      if (!(await restartFailed(connectUrl, name)))
        throw new ConnectorError(`connector ${name} FAILED and Connect refused a restart: ${reason}`);
      restarted = true;
      // A restart takes the FAILED state away at once; the next look sees the new instances.
      await sleep(1_000);
      continue;
    }
    if (
      last?.connector.state === "RUNNING" &&
      last.tasks.length > 0 &&
      last.tasks.every((t) => t.state === "RUNNING")
    ) {
      return;
    }
    await sleep(500);
  }
  throw new ConnectorError(
    `connector ${name} not RUNNING after ${timeoutMs / 1000}s: ${JSON.stringify(last)}`,
  );
}

export async function deleteConnector(connectUrl: string, name: string): Promise<void> {
  const response = await request("DELETE", `${connectUrl}/connectors/${encodeURIComponent(name)}`);
  if (!response.ok && response.status !== 404) {
    throw new ConnectorError(`delete ${name}: ${response.status} ${await response.text()}`);
  }
  await response.arrayBuffer().catch(() => undefined);
}

export async function listConnectors(connectUrl: string): Promise<string[]> {
  const response = await request("GET", `${connectUrl}/connectors`);
  if (!response.ok) throw new ConnectorError(`list connectors: ${response.status}`);
  return (await response.json()) as string[];
}

/** What `superviseConnectors` did, for logs, metrics and tests. */
export interface ConnectorSupervisor {
  /** Restarts asked of Kafka Connect so far, per connector. */
  readonly restarts: ReadonlyMap<string, number>;
  stop(): Promise<void>;
}

/**
 * When to restart a failing connector (pure: `superviseConnectors` feeds it the states it reads).
 * The first restart waits `firstDelayMs` after the failure is first seen, each next one twice as
 * long as the one before (at most `maxDelayMs`); `resetAfterMs` of uninterrupted RUNNING forgets
 * the failures, so a task that fails again soon after each restart keeps backing off.
 */
export class RestartBackoff {
  private readonly entries = new Map<string, { delayMs: number; notBefore: number; runningSince?: number }>();

  constructor(
    private readonly firstDelayMs = 5_000,
    private readonly maxDelayMs = 300_000,
    private readonly resetAfterMs = 60_000,
  ) {}

  /** One status read of `name` (its connector's and tasks' states): true when a restart is due now. */
  due(name: string, states: readonly string[], now: number): boolean {
    const entry = this.entries.get(name);
    if (!states.includes("FAILED")) {
      if (!entry) return false;
      if (states.every((s) => s === "RUNNING")) {
        entry.runningSince ??= now;
        if (now - entry.runningSince >= this.resetAfterMs) this.entries.delete(name);
      } else {
        entry.runningSince = undefined;
      }
      return false;
    }
    if (!entry) {
      this.entries.set(name, { delayMs: this.firstDelayMs, notBefore: now + this.firstDelayMs });
      return false;
    }
    entry.runningSince = undefined;
    return now >= entry.notBefore;
  }

  /** A restart was asked at `now` (whether Connect took it or not): the next waits twice as long. */
  asked(name: string, now: number): void {
    const delayMs = this.entries.get(name)?.delayMs ?? this.firstDelayMs;
    this.entries.set(name, { delayMs: Math.min(delayMs * 2, this.maxDelayMs), notBefore: now + delayMs });
  }
}

/**
 * Restarts the named connectors' FAILED tasks (and a FAILED connector), as an operator would:
 * Kafka Connect never restarts a failed task by itself. A task fails for good on an error it cannot
 * retry — the schema registry down when a new schema must be registered, or a registry connection
 * closed under a request — while the source it reads is fine again moments later; the restarted
 * task resumes from its last committed offset and the consumers drop what it emits twice. Reads
 * every `intervalMs`; restarts follow `RestartBackoff` (5 s, then doubling up to 5 minutes; a
 * minute of RUNNING resets it). A Connect that does not answer (restarting, say) is skipped until
 * it does.
 */
export function superviseConnectors(
  connectUrl: string,
  names: readonly string[],
  options: { intervalMs?: number; log: (line: string) => void },
): ConnectorSupervisor {
  const intervalMs = options.intervalMs ?? 5_000;
  const restarts = new Map<string, number>();
  const backoff = new RestartBackoff(intervalMs);
  let stopped = false;
  let wake: (() => void) | undefined;

  const check = async (name: string): Promise<void> => {
    const status = await connectorStatus(connectUrl, name);
    if (!status) return;
    const states = [status.connector, ...status.tasks];
    const now = Date.now();
    if (
      !backoff.due(
        name,
        states.map((s) => s.state),
        now,
      )
    )
      return;
    backoff.asked(name, now);
    if (!(await restartFailed(connectUrl, name))) {
      options.log(`connector ${name}: restart refused; trying again later`);
      return;
    }
    const count = (restarts.get(name) ?? 0) + 1;
    restarts.set(name, count);
    const reason = states.find((s) => s.state === "FAILED")?.trace?.split("\n")[0] ?? "no trace";
    options.log(`connector ${name}: FAILED (${reason}); restart ${count} asked`);
  };

  const loop = (async () => {
    while (!stopped) {
      for (const name of names) {
        if (stopped) break;
        await check(name).catch(() => undefined);
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, intervalMs).unref();
      });
    }
  })();

  return {
    restarts,
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}
