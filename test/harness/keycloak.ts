import { createHash, randomBytes } from "node:crypto";
import { adminToken } from "../../keycloak/apply.js";
import { loadKeycloakConfig, type KeycloakConfig } from "../../scripts/config.js";
import { loadStackConfig } from "../../scripts/stack/config.js";

/**
 * Talks to the realm `bionicpro` the way its clients do. Tokens come from the test-only client
 * `reports-tests` (password grant). A grant costs ~1.5 s (password hashing), so `passwordGrant`
 * caches the access token per user and password for the test file (vitest isolates modules per
 * file) and asks again only when less than 30 s of its 5-minute lifetime is left.
 */
export const keycloak: KeycloakConfig = loadKeycloakConfig();

export interface TokenResponse {
  access_token: string;
  expires_in: number;
  refresh_token?: string;
  refresh_expires_in?: number;
  id_token?: string;
  token_type: string;
  scope: string;
}

/** What the token endpoint answered, success or not (the refusals are what some tests check). */
export async function tokenRequest(
  form: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(keycloak.tokenUrl, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: new URLSearchParams(form).toString(),
    signal: AbortSignal.timeout(30_000),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function grant(username: string, password: string): Promise<{ token: string; expiresAtMs: number }> {
  const requestedAt = Date.now();
  const { status, body } = await tokenRequest({
    grant_type: "password",
    client_id: keycloak.clients.tests,
    username,
    password,
  });
  if (status !== 200) {
    throw new Error(`password grant for ${username} refused: ${status} ${JSON.stringify(body)}`);
  }
  const token = body as unknown as TokenResponse;
  return { token: token.access_token, expiresAtMs: requestedAt + token.expires_in * 1000 };
}

const cache = new Map<string, Promise<{ token: string; expiresAtMs: number }>>();

/** An access token of `username` from `reports-tests`; throws when Keycloak refuses. */
export async function passwordGrant(username: string, password: string): Promise<string> {
  const key = JSON.stringify([username, password]);
  const cached = await cache.get(key)?.catch(() => undefined);
  if (cached && cached.expiresAtMs - Date.now() > 30_000) return cached.token;
  const pending = grant(username, password);
  cache.set(key, pending);
  try {
    return (await pending).token;
  } catch (error) {
    cache.delete(key);
    throw error;
  }
}

export interface Pkce {
  verifier: string;
  challenge: string;
}

export function newPkce(): Pkce {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

/** The authorization endpoint's URL for a client; `extra` adds or overrides parameters. */
export function authorizationUrl(
  clientId: string,
  redirectUri: string,
  extra: Record<string, string> = {},
): string {
  const params = new URLSearchParams({
    client_id: clientId,
    response_type: "code",
    scope: "openid",
    redirect_uri: redirectUri,
    state: randomBytes(8).toString("hex"),
    ...extra,
  });
  return `${keycloak.authorizationUrl}?${params.toString()}`;
}

function cookieHeader(jar: Map<string, string>, response: Response): string {
  for (const line of response.headers.getSetCookie()) {
    const [pair = ""] = line.split(";");
    const at = pair.indexOf("=");
    if (at > 0) jar.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
  }
  return [...jar].map(([name, value]) => `${name}=${value}`).join("; ");
}

/**
 * The browser's part of the authorization code flow with PKCE S256, without a browser: open the
 * login page, post the login form, take the code from the redirect. Returns the code and verifier
 * for the client to exchange at the token endpoint.
 */
export async function authorizationCode(
  clientId: string,
  redirectUri: string,
  username: string,
  password: string,
): Promise<{ code: string; pkce: Pkce }> {
  const pkce = newPkce();
  const jar = new Map<string, string>();
  const page = await fetch(
    authorizationUrl(clientId, redirectUri, {
      code_challenge: pkce.challenge,
      code_challenge_method: "S256",
    }),
    { redirect: "manual", signal: AbortSignal.timeout(30_000) },
  );
  const cookies = cookieHeader(jar, page);
  const html = await page.text();
  const action = /<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"/.exec(html)?.[1];
  if (page.status !== 200 || !action) throw new Error(`no login form (HTTP ${page.status})`);
  const submitted = await fetch(action.replaceAll("&amp;", "&"), {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: cookies },
    body: new URLSearchParams({ username, password, credentialId: "" }).toString(),
    signal: AbortSignal.timeout(30_000),
  });
  await submitted.arrayBuffer();
  const location = submitted.headers.get("location");
  const code = location ? new URL(location).searchParams.get("code") : null;
  if (submitted.status !== 302 || !code) {
    throw new Error(`login of ${username} gave HTTP ${submitted.status}, location ${location ?? "none"}`);
  }
  return { code, pkce };
}

/**
 * A temporary copy of the realm's confidential BFF client whose access tokens live `lifespanSeconds`
 * (Keycloak's per-client `access.token.lifespan`), created through the admin REST API so a test can
 * run past a token's lifetime in seconds instead of the realm's 5 minutes. `remove()` deletes it.
 */
export async function temporaryBffClient(
  lifespanSeconds: number,
): Promise<{ clientId: string; remove: () => Promise<void> }> {
  const token = await adminToken(keycloak.url, loadStackConfig().keycloakAdmin);
  const clients = `${keycloak.url}/admin/realms/${encodeURIComponent(keycloak.realm)}/clients`;
  const headers = { authorization: `Bearer ${token}`, accept: "application/json" };
  const found = await fetch(`${clients}?clientId=${encodeURIComponent(keycloak.clients.bff)}`, { headers });
  const [original] = (await found.json()) as Record<string, unknown>[];
  if (!found.ok || !original)
    throw new Error(`client ${keycloak.clients.bff} not found (HTTP ${found.status})`);
  const clientId = `${keycloak.clients.bff}-short-${randomBytes(4).toString("hex")}`;
  const {
    id: _id,
    protocolMappers,
    attributes,
    ...rest
  } = original as {
    id: string;
    protocolMappers?: Record<string, unknown>[];
    attributes?: Record<string, string>;
  };
  const copy = {
    ...rest,
    clientId,
    secret: keycloak.bffClientSecret,
    attributes: { ...attributes, "access.token.lifespan": String(lifespanSeconds) },
    protocolMappers: (protocolMappers ?? []).map(({ id: _mapperId, ...mapper }) => mapper),
  };
  const created = await fetch(clients, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify(copy),
  });
  const location = created.headers.get("location");
  if (created.status !== 201 || !location)
    throw new Error(`creating ${clientId} failed: HTTP ${created.status} ${await created.text()}`);
  // Realm roles reach the token through the client's scope mappings (fullScopeAllowed is false).
  const roles = await fetch(`${clients}/${(original as { id: string }).id}/scope-mappings/realm`, {
    headers,
  });
  const mapped = await fetch(`${location}/scope-mappings/realm`, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: await roles.text(),
  });
  if (!roles.ok || !mapped.ok) throw new Error(`copying the realm roles of ${keycloak.clients.bff} failed`);
  return {
    clientId,
    remove: async () => {
      const again = await adminToken(keycloak.url, loadStackConfig().keycloakAdmin);
      await fetch(location, { method: "DELETE", headers: { authorization: `Bearer ${again}` } });
    },
  };
}
