import { createVerifier, type DecodedJwt } from "fast-jwt";
import buildGetJwks from "get-jwks";
import { beforeAll, describe, expect, it } from "vitest";
import { DEMO_USERS } from "../keycloak/realm.js";
import { waitFor } from "./harness/cdc.js";
import {
  authorizationCode,
  authorizationUrl,
  keycloak,
  passwordGrant,
  tokenRequest,
  type TokenResponse,
} from "./harness/keycloak.js";

/**
 * The realm `bionicpro` as the reports API and the BFF will meet it: tokens verified the way the
 * API verifies them (fast-jwt + get-jwks against the realm's JWKS), and the client rules the
 * dashboard and the BFF rely on.
 */
interface Jwk {
  kid: string;
  kty: string;
  alg: string;
  use: string;
}
interface AccessToken {
  iss: string;
  aud: string | string[];
  azp: string;
  sub: string;
  iat: number;
  exp: number;
  preferred_username: string;
  realm_access?: { roles: string[] };
  crm_user_id?: unknown;
}

// Loopback redirects are registered without a port: any port is accepted (keycloak/README.md).
const redirectUri = "http://127.0.0.1:18777/auth/callback";
const getJwks = buildGetJwks({ providerDiscovery: true, issuersWhitelist: [keycloak.issuer] });
const verify = createVerifier({
  key: async ({ header }: DecodedJwt) =>
    getJwks.getPublicKey({ kid: header.kid as string, alg: header.alg as string, domain: keycloak.issuer }),
  algorithms: ["RS256"],
  allowedIss: keycloak.issuer,
  allowedAud: keycloak.audience,
  complete: true,
});

let jwks: Jwk[];

beforeAll(async () => {
  const discovery = await waitFor(
    `discovery of ${keycloak.issuer}`,
    async () => {
      const response = await fetch(`${keycloak.issuer}/.well-known/openid-configuration`);
      return response.ok ? ((await response.json()) as Record<string, unknown>) : undefined;
    },
    120_000,
  );
  expect(discovery).toMatchObject({
    issuer: keycloak.issuer,
    jwks_uri: keycloak.jwksUrl,
    token_endpoint: keycloak.tokenUrl,
    authorization_endpoint: keycloak.authorizationUrl,
    end_session_endpoint: keycloak.endSessionUrl,
  });
  jwks = ((await (await fetch(keycloak.jwksUrl)).json()) as { keys: Jwk[] }).keys;
});

describe("Keycloak realm bionicpro", () => {
  const expectations = [
    { user: DEMO_USERS.owner1, roles: ["prosthesis_owner"], crmUserId: 1 },
    { user: DEMO_USERS.owner2, roles: ["prosthesis_owner"], crmUserId: 2 },
    { user: DEMO_USERS.support1, roles: ["support"], crmUserId: undefined },
    { user: DEMO_USERS.admin1, roles: ["admin"], crmUserId: undefined },
    { user: DEMO_USERS.ml1, roles: ["ml_engineer"], crmUserId: undefined },
  ];

  it.each(expectations)(
    "$user.username: a password grant yields a verified RS256 token with roles $roles",
    async ({ user, roles, crmUserId }) => {
      const token = await passwordGrant(user.username, user.password);
      const { header, payload } = (await verify(token)) as unknown as {
        header: { alg: string; kid: string; typ: string };
        payload: AccessToken;
      };
      expect(header.alg).toBe("RS256");
      expect(jwks.filter((key) => key.kid === header.kid)).toEqual([
        expect.objectContaining({ kid: header.kid, kty: "RSA", alg: "RS256", use: "sig" }),
      ]);
      expect(payload.iss).toBe(keycloak.issuer);
      // One audience: Keycloak writes it as a string, not a one-element array.
      expect(payload.aud).toBe("reports-api");
      expect(payload.azp).toBe("reports-tests");
      expect(payload.preferred_username).toBe(user.username);
      expect(payload.exp - payload.iat).toBe(300);
      expect(payload.realm_access).toEqual({ roles });
      if (crmUserId === undefined) {
        expect(Object.keys(payload)).not.toContain("crm_user_id");
      } else {
        expect(payload.crm_user_id).toBe(crmUserId);
        expect(typeof payload.crm_user_id).toBe("number");
      }
    },
  );

  it("gives the same token again within its lifetime (one grant per user per test file)", async () => {
    const { username, password } = DEMO_USERS.owner1;
    expect(await passwordGrant(username, password)).toBe(await passwordGrant(username, password));
  });

  it("refuses a wrong password and an unknown user alike", async () => {
    const refusal = { error: "invalid_grant", error_description: "Invalid user credentials" };
    for (const [username, password] of [
      [DEMO_USERS.owner1.username, "wrong-password"],
      ["nobody", "owner1-demo"],
    ] as const) {
      expect(
        await tokenRequest({ grant_type: "password", client_id: keycloak.clients.tests, username, password }),
      ).toEqual({ status: 400, body: refusal });
    }
  });

  it("dashboard requires PKCE with S256: without a code challenge the request comes back as invalid_request", async () => {
    const state = "no-pkce";
    const response = await fetch(authorizationUrl(keycloak.clients.dashboard, redirectUri, { state }), {
      redirect: "manual",
    });
    await response.arrayBuffer();
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get("location") ?? "");
    expect(`${location.origin}${location.pathname}`).toBe(redirectUri);
    expect(Object.fromEntries(location.searchParams)).toEqual({
      error: "invalid_request",
      error_description: "Missing parameter: code_challenge_method",
      state,
      iss: keycloak.issuer,
    });

    const plain = await fetch(
      authorizationUrl(keycloak.clients.dashboard, redirectUri, {
        code_challenge: "a".repeat(43),
        code_challenge_method: "plain",
      }),
      { redirect: "manual" },
    );
    await plain.arrayBuffer();
    expect(new URL(plain.headers.get("location") ?? "").searchParams.get("error_description")).toBe(
      "Invalid parameter: code challenge method is not matching the configured one",
    );

    const withChallenge = await fetch(
      authorizationUrl(keycloak.clients.dashboard, redirectUri, {
        code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        code_challenge_method: "S256",
      }),
      { redirect: "manual" },
    );
    expect(withChallenge.status).toBe(200);
    expect(await withChallenge.text()).toContain('id="kc-form-login"');
  });

  it("dashboard may not use the password grant", async () => {
    const { username, password } = DEMO_USERS.owner1;
    expect(
      await tokenRequest({
        grant_type: "password",
        client_id: keycloak.clients.dashboard,
        username,
        password,
      }),
    ).toEqual({
      status: 400,
      body: {
        error: "unauthorized_client",
        error_description: "Client not allowed for direct access grants",
      },
    });
  });

  it("reports-bff is confidential: the token endpoint refuses it without its secret", async () => {
    const exchange = {
      grant_type: "authorization_code",
      client_id: keycloak.clients.bff,
      code: "not-a-code",
    };
    const unauthenticated = {
      status: 401,
      body: {
        error: "unauthorized_client",
        error_description: "Invalid client or Invalid client credentials",
      },
    };
    expect(await tokenRequest({ ...exchange, redirect_uri: redirectUri })).toEqual(unauthenticated);
    expect(await tokenRequest({ ...exchange, redirect_uri: redirectUri, client_secret: "wrong" })).toEqual(
      unauthenticated,
    );
    // With the secret the client is authenticated and only the made-up code is refused.
    expect(
      await tokenRequest({ ...exchange, redirect_uri: redirectUri, client_secret: keycloak.bffClientSecret }),
    ).toEqual({ status: 400, body: { error: "invalid_grant", error_description: "Code not valid" } });
  });

  it("reports-bff logs a user in with code + PKCE + secret and refreshes the tokens", async () => {
    const { username, password } = DEMO_USERS.owner2;
    const { code, pkce } = await authorizationCode(keycloak.clients.bff, redirectUri, username, password);
    const sent = Math.floor(Date.now() / 1000);
    const exchanged = await tokenRequest({
      grant_type: "authorization_code",
      client_id: keycloak.clients.bff,
      client_secret: keycloak.bffClientSecret,
      code,
      code_verifier: pkce.verifier,
      redirect_uri: redirectUri,
    });
    const answered = Math.floor(Date.now() / 1000);
    expect(exchanged.status).toBe(200);
    const tokens = exchanged.body as unknown as TokenResponse;
    expect(tokens.refresh_token).toEqual(expect.any(String));
    const first = (await verify(tokens.access_token)) as unknown as { payload: AccessToken };
    // The token lives 300 s; expires_in is its exp less Keycloak's clock when it answers, which can
    // be a second past the iat (a CI run saw 299), so it is checked against the request's own window.
    expect(first.payload.exp - first.payload.iat).toBe(300);
    expect(tokens.expires_in).toBeLessThanOrEqual(first.payload.exp - sent);
    expect(tokens.expires_in).toBeGreaterThanOrEqual(first.payload.exp - answered);
    expect(first.payload).toMatchObject({
      azp: "reports-bff",
      aud: "reports-api",
      crm_user_id: 2,
      realm_access: { roles: ["prosthesis_owner"] },
    });

    const refreshed = await tokenRequest({
      grant_type: "refresh_token",
      client_id: keycloak.clients.bff,
      client_secret: keycloak.bffClientSecret,
      refresh_token: tokens.refresh_token ?? "",
    });
    expect(refreshed.status).toBe(200);
    const second = (await verify((refreshed.body as unknown as TokenResponse).access_token)) as unknown as {
      payload: AccessToken;
    };
    expect(second.payload).toMatchObject({ azp: "reports-bff", sub: first.payload.sub, crm_user_id: 2 });
  });
});
