import * as oidc from "openid-client";
import { ApiError } from "../errors.js";

/** What the BFF keeps of a token response, server-side only. */
export interface TokenSet {
  accessToken: string;
  refreshToken: string | null;
  idToken: string | null;
  /** Epoch ms when the access token expires. */
  expiresAt: number;
}

/** The caller as the dashboard shows it: from the verified ID token and the access token's roles. */
export interface SessionUser {
  subject: string;
  username: string | null;
  roles: string[];
  crmUserId: number | null;
}

export interface LoginRequest {
  url: string;
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** The OpenID Connect relying party of the BFF (confidential client, code flow + PKCE S256). */
export interface OidcRelyingParty {
  /** The authorization request: fresh state, nonce and PKCE verifier (kept in the session). */
  startLogin(redirectUri: string): Promise<LoginRequest>;
  /**
   * Exchanges the code of the callback URL; openid-client checks `state`, `iss`, the PKCE verifier,
   * the ID token's signature, audience, expiry and `nonce`.
   */
  finishLogin(
    callbackUrl: URL,
    login: { state: string; nonce: string; codeVerifier: string },
  ): Promise<{
    tokens: TokenSet;
    user: SessionUser;
  }>;
  refresh(tokens: TokenSet): Promise<TokenSet>;
  /**
   * Ends the Keycloak session at the end-session endpoint with id_token_hint, called server-side so
   * no token passes through the browser (Keycloak logs the session out by the token's sid).
   */
  endSession(idToken: string): Promise<void>;
}

const now = () => Date.now();

function tokenSet(
  response: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers,
  previous?: TokenSet,
): TokenSet {
  return {
    accessToken: response.access_token,
    // Keycloak rotates refresh tokens; keep the old one if a response has none.
    refreshToken: response.refresh_token ?? previous?.refreshToken ?? null,
    idToken: response.id_token ?? previous?.idToken ?? null,
    expiresAt: now() + (response.expiresIn() ?? 60) * 1000,
  };
}

/** Claims of the access token the dashboard shows (roles, CRM user); the API verifies it on every call. */
export function accessTokenClaims(accessToken: string): { roles: string[]; crmUserId: number | null } {
  const payload = accessToken.split(".")[1] ?? "";
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
  } catch {
    claims = {};
  }
  const realmAccess = claims.realm_access as { roles?: unknown } | undefined;
  const roles = Array.isArray(realmAccess?.roles)
    ? realmAccess.roles.filter((r): r is string => typeof r === "string")
    : [];
  const crm = Number(claims.crm_user_id);
  return { roles, crmUserId: Number.isInteger(crm) && crm > 0 ? crm : null };
}

const unavailable = (cause: unknown) =>
  new ApiError("IDENTITY_PROVIDER_UNAVAILABLE", "the login service cannot be reached; retry shortly", {
    cause,
  });

/**
 * The relying party over openid-client 6: discovery of the issuer on first use (retried on the next
 * call after a failure), `http:` allowed only for loopback issuers (the local Keycloak).
 */
export function openIdRelyingParty(options: {
  issuer: string;
  clientId: string;
  clientSecret: string;
}): OidcRelyingParty {
  let configuration: Promise<oidc.Configuration> | null = null;
  const issuer = new URL(options.issuer);
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(issuer.hostname);
  const configure = (): Promise<oidc.Configuration> => {
    configuration ??= oidc
      .discovery(
        issuer,
        options.clientId,
        options.clientSecret,
        oidc.ClientSecretBasic(options.clientSecret),
        {
          execute: issuer.protocol === "http:" && loopback ? [oidc.allowInsecureRequests] : [],
          timeout: 10,
        },
      )
      .catch((error: unknown) => {
        configuration = null;
        throw unavailable(error);
      });
    return configuration;
  };

  return {
    async startLogin(redirectUri) {
      const config = await configure();
      const codeVerifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        scope: "openid",
        code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: "S256",
        state,
        nonce,
      });
      return { url: url.href, state, nonce, codeVerifier };
    },

    async finishLogin(callbackUrl, login) {
      const config = await configure();
      let response: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
      try {
        response = await oidc.authorizationCodeGrant(config, callbackUrl, {
          pkceCodeVerifier: login.codeVerifier,
          expectedState: login.state,
          expectedNonce: login.nonce,
          idTokenExpected: true,
        });
      } catch (error) {
        if (error instanceof TypeError || (error as { code?: string }).code === "OAUTH_TIMEOUT")
          throw unavailable(error);
        throw new ApiError(
          "LOGIN_FAILED",
          "the login response was refused (state, nonce, code or token check)",
          {
            cause: error,
          },
        );
      }
      const claims = response.claims();
      if (!claims) throw new ApiError("LOGIN_FAILED", "the login response carried no ID token");
      const tokens = tokenSet(response);
      const fromAccess = accessTokenClaims(tokens.accessToken);
      return {
        tokens,
        user: {
          subject: claims.sub,
          username: typeof claims.preferred_username === "string" ? claims.preferred_username : null,
          roles: fromAccess.roles,
          crmUserId: fromAccess.crmUserId,
        },
      };
    },

    async refresh(tokens) {
      const config = await configure();
      try {
        if (!tokens.refreshToken) throw new ApiError("SESSION_EXPIRED", "no refresh token; log in again");
        return tokenSet(await oidc.refreshTokenGrant(config, tokens.refreshToken), tokens);
      } catch (error) {
        if (error instanceof oidc.ResponseBodyError)
          throw new ApiError("SESSION_EXPIRED", "the login session has ended; log in again", {
            cause: error,
          });
        throw unavailable(error);
      }
    },

    async endSession(idToken) {
      const config = await configure();
      const url = oidc.buildEndSessionUrl(config, { id_token_hint: idToken, client_id: options.clientId });
      const response = await fetch(url, { redirect: "manual", signal: AbortSignal.timeout(10_000) });
      await response.arrayBuffer();
      if (response.status >= 400)
        throw unavailable(new Error(`end-session answered HTTP ${response.status}`));
    },
  };
}
