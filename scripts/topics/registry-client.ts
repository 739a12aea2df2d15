import { START_THE_STACK, TopicsError } from "./errors.js";

/** One version of a subject as the registry's Confluent-compatible API returns it. */
export interface SubjectVersion {
  subject: string;
  version: number;
  /** Global schema id (what the wire format's 4 bytes carry). */
  id: number;
  /** The Avro schema, parsed. */
  schema: unknown;
}

/** The few calls of the Confluent-compatible REST API (`/apis/ccompat/v7` on Apicurio) the commands need. */
export class RegistryClient {
  constructor(
    private readonly url: string,
    private readonly timeoutMs = 10_000,
  ) {}

  subjects(): Promise<string[]> {
    return this.get<string[]>("/subjects");
  }

  versions(subject: string): Promise<number[]> {
    return this.get<number[]>(`/subjects/${encodeURIComponent(subject)}/versions`);
  }

  async version(subject: string, version: number | "latest"): Promise<SubjectVersion> {
    const body = await this.get<{ subject: string; version: number; id: number; schema: string }>(
      `/subjects/${encodeURIComponent(subject)}/versions/${version}`,
    );
    return { subject: body.subject, version: body.version, id: body.id, schema: JSON.parse(body.schema) };
  }

  private async get<T>(path: string): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.url.replace(/\/+$/, "")}${path}`, {
        headers: { accept: "application/json" },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new TopicsError(
        "REGISTRY_UNAVAILABLE",
        `schema registry at ${this.url} is unreachable (${cause?.code ?? cause?.message ?? (error as Error).message}): ${START_THE_STACK}, or point SCHEMA_REGISTRY_URL at a running registry (Confluent-compatible API)`,
        { cause: error },
      );
    }
    const text = await response.text();
    if (response.ok) return JSON.parse(text) as T;
    let problem: { message?: string; error_code?: number } = {};
    try {
      problem = JSON.parse(text) as typeof problem;
    } catch {
      problem = { message: text };
    }
    const message = problem.message ?? text;
    // Confluent's error codes: 40401 subject not found, 40402 version not found.
    if (problem.error_code === 40401) {
      throw new TopicsError(
        "SUBJECT_NOT_FOUND",
        `${message} (list the subjects with: npm run topics -- schemas)`,
      );
    }
    if (problem.error_code === 40402) throw new TopicsError("VERSION_NOT_FOUND", message);
    throw new TopicsError(
      "REGISTRY_ERROR",
      `schema registry answered ${response.status} to GET ${path}: ${message}`,
    );
  }
}
