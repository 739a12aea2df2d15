import type { FastifyInstance, FastifyRequest } from "fastify";
import { ApiError } from "../errors.js";
import { assertAccess, type Access } from "./access.js";
import type { Principal } from "./principal.js";
import type { TokenVerifier } from "./verifier.js";

declare module "fastify" {
  interface FastifyRequest {
    /** The verified caller; null on public routes and when verification failed. */
    principal: Principal | null;
    /** Why the bearer token was refused; answered by `requireAccess`, after rate limiting. */
    authError: ApiError | null;
  }
  interface FastifyContextConfig {
    access?: Access;
  }
}

const realm = 'Bearer realm="bionicpro-reports"';

function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization;
  const match = header === undefined ? null : /^Bearer[ ]+(\S*)[ ]*$/i.exec(header);
  if (!match) {
    throw new ApiError("AUTH_TOKEN_MISSING", "send an access token as Authorization: Bearer <token>", {
      headers: { "WWW-Authenticate": realm },
    });
  }
  const token = match[1] ?? "";
  if (token === "" || token.length > 16_384)
    throw new ApiError("AUTH_TOKEN_MALFORMED", "the bearer token is empty or too long", {
      headers: { "WWW-Authenticate": `${realm}, error="invalid_token"` },
    });
  return token;
}

/**
 * Verifies the bearer token of every non-public route in onRequest, before the rate limiter (which
 * keys by the verified subject). A refusal is kept on the request and answered in preValidation by
 * `requireAccess`, so refused requests are rate limited too (by client address) and a 401 comes
 * before any 400 about parameters.
 */
export function registerAuthentication(app: FastifyInstance, verifier: TokenVerifier): void {
  app.decorateRequest("principal", null);
  app.decorateRequest("authError", null);
  app.addHook("onRequest", async (request) => {
    if ((request.routeOptions.config?.access ?? "public") === "public") return;
    try {
      request.principal = await verifier.verify(bearerToken(request));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      request.authError = error;
    }
  });
}

/** preValidation hook of a route: the verified caller must have a role the route's access allows. */
export function requireAccess(access: Exclude<Access, "public">) {
  return async (request: FastifyRequest): Promise<void> => {
    if (request.authError) throw request.authError;
    if (!request.principal)
      throw new ApiError("AUTH_TOKEN_MISSING", "send an access token", {
        headers: { "WWW-Authenticate": realm },
      });
    assertAccess(request.principal, access);
  };
}
