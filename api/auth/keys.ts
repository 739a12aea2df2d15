import buildGetJwks from "get-jwks";
import { ApiError } from "../errors.js";

export interface KeyStoreOptions {
  /** The only place keys come from (the configured issuer's JWKS), never a URL named by a token. */
  jwksUrl: string;
  /** A kid never resolved before may trigger a refetch at most once per this interval. */
  refetchIntervalMs: number;
  /** How long a fetched key stays cached (get-jwks TTL; a failed refresh falls back to the stale key). */
  cacheMs: number;
  timeoutMs: number;
  /** Clock of the refetch limiter. @default Date.now */
  now?: () => number;
}

export interface KeyStore {
  /** PEM public key for a token header's kid and alg. Throws ApiError AUTH_TOKEN_UNKNOWN_KEY / AUTH_KEYS_UNAVAILABLE. */
  publicKey(kid: string, alg: string): Promise<string>;
}

const unknownKey = (kid: string) =>
  new ApiError(
    "AUTH_TOKEN_UNKNOWN_KEY",
    `no signing key with kid "${kid.slice(0, 64)}" in the issuer's JWKS`,
    {
      headers: {
        "WWW-Authenticate": 'Bearer error="invalid_token", error_description="unknown signing key"',
      },
    },
  );

/**
 * Signing keys through get-jwks (fetch, cache, stale fallback), with key rotation bounded: a kid
 * seen before is looked up as usual (a cache miss after the TTL refetches); a kid never resolved
 * refetches the JWKS once, and such refetches are serialised and happen at most once per
 * `refetchIntervalMs`, so tokens with made-up kids cannot make the API hammer the identity provider.
 */
export function createKeyStore(options: KeyStoreOptions): KeyStore {
  const url = new URL(options.jwksUrl);
  const domain = `${url.origin}/`;
  const getJwks = buildGetJwks({
    issuersWhitelist: [domain],
    jwksPath: `${url.pathname}${url.search}`,
    ttl: options.cacheMs,
    max: 100,
  });
  const now = options.now ?? Date.now;
  const resolved = new Set<string>();
  let lastUnknown = Number.NEGATIVE_INFINITY;
  let unknownQueue: Promise<unknown> = Promise.resolve();

  const fetchKey = async (kid: string, alg: string): Promise<string> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new ApiError("AUTH_KEYS_UNAVAILABLE", `JWKS request timed out after ${options.timeoutMs} ms`),
          ),
        options.timeoutMs,
      );
    });
    try {
      const pem = await Promise.race([getJwks.getPublicKey({ domain, alg, kid }), timeout]);
      if (resolved.size > 1000) resolved.clear();
      resolved.add(kid);
      return pem;
    } catch (error) {
      if (error instanceof ApiError) throw error;
      if ((error as { code?: unknown }).code === "JWK_NOT_FOUND") throw unknownKey(kid);
      throw new ApiError("AUTH_KEYS_UNAVAILABLE", "the identity provider's JWKS could not be fetched", {
        cause: error,
      });
    } finally {
      clearTimeout(timer);
    }
  };

  const fetchUnknown = async (kid: string, alg: string): Promise<string> => {
    if (now() - lastUnknown < options.refetchIntervalMs) throw unknownKey(kid);
    try {
      return await fetchKey(kid, alg);
    } catch (error) {
      if (error instanceof ApiError && error.code === "AUTH_TOKEN_UNKNOWN_KEY") lastUnknown = now();
      throw error;
    }
  };

  return {
    publicKey(kid, alg) {
      const cached = getJwks.cache.get(getJwks.generateCacheKey(alg, kid, domain)) !== undefined;
      if (cached || resolved.has(kid)) return fetchKey(kid, alg);
      const turn = unknownQueue.then(() => fetchUnknown(kid, alg));
      unknownQueue = turn.catch(() => undefined);
      return turn;
    },
  };
}
