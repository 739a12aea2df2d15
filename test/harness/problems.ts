import type { LightMyRequestResponse } from "fastify";
import { expect } from "vitest";
import { errorDefinitions, problemType, type ErrorCode } from "../../api/errors.js";

/** Asserts an RFC 9457 problem response with the given stable code; returns its body. */
export function expectProblem(response: LightMyRequestResponse, code: ErrorCode): Record<string, unknown> {
  const body = response.json() as Record<string, unknown>;
  expect({ status: response.statusCode, code: body.code }, response.body).toEqual({
    status: errorDefinitions[code].status,
    code,
  });
  expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
  expect(body).toMatchObject({
    type: problemType(code),
    title: errorDefinitions[code].title,
    status: errorDefinitions[code].status,
    instance: expect.stringMatching(/^\//),
    detail: expect.any(String),
    request_id: expect.any(String),
  });
  return body;
}

/** Log lines at error level or above (pino: 50 = error, 60 = fatal). */
export const serverErrors = (logs: readonly Record<string, unknown>[]) =>
  logs.filter((l) => typeof l.level === "number" && l.level >= 50);
