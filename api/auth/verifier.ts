import { createVerifier, TOKEN_ERROR_CODES } from "fast-jwt";
import type { AuthConfig } from "../config.js";
import { ApiError, type ErrorCode } from "../errors.js";
import { createKeyStore, type KeyStore } from "./keys.js";
import { principalFromClaims, type Principal } from "./principal.js";

/** Verifies a bearer token and returns who is calling; throws ApiError with an AUTH_* code. */
export interface TokenVerifier {
  verify(token: string): Promise<Principal>;
}

const invalidToken = (code: ErrorCode, detail: string, cause?: unknown) =>
  new ApiError(code, detail, {
    cause,
    headers: { "WWW-Authenticate": `Bearer error="invalid_token", error_description="${detail}"` },
  });

/** fast-jwt's error codes -> ours (the causes a client can act on stay apart). */
const fromFastJwt: Record<string, ErrorCode> = {
  [TOKEN_ERROR_CODES.malformed]: "AUTH_TOKEN_MALFORMED",
  [TOKEN_ERROR_CODES.invalidType]: "AUTH_TOKEN_MALFORMED",
  [TOKEN_ERROR_CODES.invalidPayload]: "AUTH_TOKEN_MALFORMED",
  [TOKEN_ERROR_CODES.invalidCritHeader]: "AUTH_TOKEN_MALFORMED",
  [TOKEN_ERROR_CODES.invalidAlgorithm]: "AUTH_TOKEN_ALGORITHM",
  [TOKEN_ERROR_CODES.missingSignature]: "AUTH_TOKEN_ALGORITHM",
  [TOKEN_ERROR_CODES.invalidKey]: "AUTH_TOKEN_ALGORITHM",
  [TOKEN_ERROR_CODES.invalidSignature]: "AUTH_TOKEN_SIGNATURE",
  [TOKEN_ERROR_CODES.verifyError]: "AUTH_TOKEN_SIGNATURE",
  [TOKEN_ERROR_CODES.expired]: "AUTH_TOKEN_EXPIRED",
  [TOKEN_ERROR_CODES.inactive]: "AUTH_TOKEN_NOT_YET_VALID",
  [TOKEN_ERROR_CODES.missingRequiredClaim]: "AUTH_TOKEN_CLAIMS",
  [TOKEN_ERROR_CODES.invalidClaimType]: "AUTH_TOKEN_CLAIMS",
  [TOKEN_ERROR_CODES.invalidClaimValue]: "AUTH_TOKEN_CLAIMS",
};

const details: Partial<Record<ErrorCode, string>> = {
  AUTH_TOKEN_MALFORMED: "the token is not a well-formed JWS compact serialization",
  AUTH_TOKEN_ALGORITHM: "the signature algorithm is not accepted",
  AUTH_TOKEN_SIGNATURE: "the signature does not verify",
  AUTH_TOKEN_EXPIRED: "the token has expired",
  AUTH_TOKEN_NOT_YET_VALID: "the token is not valid yet (nbf)",
  AUTH_TOKEN_CLAIMS: "a required claim (exp, sub, iss, aud) is missing or has the wrong type",
};

function audiences(aud: unknown): string[] {
  if (typeof aud === "string") return [aud];
  return Array.isArray(aud) ? aud.filter((a): a is string => typeof a === "string") : [];
}

/**
 * RS256 (or the configured asymmetric algorithms) only: `alg: none` and HS* are refused before any
 * key is looked up, as are tokens from another issuer or for another audience (so foreign tokens
 * never cause a JWKS fetch). Then fast-jwt checks the signature with the kid's key, exp and nbf
 * (with the configured clock skew) and the required claims; the claims become a Principal.
 */
export function createTokenVerifier(config: AuthConfig, keys: KeyStore = keyStoreFor(config)): TokenVerifier {
  const verifyJwt = createVerifier({
    algorithms: config.algorithms,
    clockTolerance: config.clockSkewSeconds * 1000,
    requiredClaims: ["exp", "sub", "iss", "aud"],
    cache: 1000,
    cacheTTL: 60_000,
    key: async ({ header, payload }: { header: Record<string, unknown>; payload: unknown }) => {
      const alg = header.alg;
      if (typeof alg !== "string" || !(config.algorithms as string[]).includes(alg))
        throw invalidToken(
          "AUTH_TOKEN_ALGORITHM",
          `alg "${String(alg).slice(0, 16)}" is not accepted; use ${config.algorithms.join(", ")}`,
        );
      if (typeof header.kid !== "string" || header.kid === "")
        throw invalidToken("AUTH_TOKEN_MALFORMED", "the token header has no kid");
      const claims = (payload ?? {}) as Record<string, unknown>;
      if (claims.iss !== config.issuer)
        throw invalidToken("AUTH_TOKEN_ISSUER", "the token's iss is not the configured issuer");
      if (!audiences(claims.aud).includes(config.audience))
        throw invalidToken("AUTH_TOKEN_AUDIENCE", `the token's aud does not contain "${config.audience}"`);
      return keys.publicKey(header.kid, alg);
    },
  });

  return {
    async verify(token) {
      let payload: Record<string, unknown>;
      try {
        payload = (await verifyJwt(token)) as Record<string, unknown>;
      } catch (error) {
        const original = (error as { originalError?: unknown }).originalError;
        if (original instanceof ApiError) throw original;
        if (error instanceof ApiError) throw error;
        const code = fromFastJwt[(error as { code?: string }).code ?? ""];
        if (code) throw invalidToken(code, details[code] ?? "invalid token", error);
        throw error;
      }
      return principalFromClaims(payload);
    },
  };
}

export function keyStoreFor(config: AuthConfig, now?: () => number): KeyStore {
  return createKeyStore({
    jwksUrl: config.jwksUrl,
    refetchIntervalMs: config.jwksRefetchIntervalMs,
    cacheMs: config.jwksCacheMs,
    timeoutMs: config.jwksTimeoutMs,
    now,
  });
}
