import { REALM_DIGEST_ATTRIBUTE, type RenderedRealm } from "./realm.js";

/**
 * Brings a running Keycloak's realm to exactly the realm file, through the admin REST API:
 * created when missing, left alone when its digest attribute equals the file's, otherwise
 * deleted and created again. Recreating (rather than `--import-realm`, which skips an existing
 * realm, or a partial import, which neither removes what the file dropped nor covers realm
 * settings and the user profile) makes the realm equal the file; the price, paid only when the
 * file changed, is new signing keys and the end of every session of that realm.
 */
export class RealmApplyError extends Error {
  readonly code = "REALM_APPLY_FAILED";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RealmApplyError";
  }
}

export interface KeycloakAdmin {
  username: string;
  password?: string;
}

export type RealmApplyResult = "created" | "replaced" | "unchanged";

async function call(
  method: string,
  url: string,
  init: { token?: string; json?: unknown; form?: Record<string, string> } = {},
): Promise<Response> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  let body: string | undefined;
  if (init.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(init.json);
  } else if (init.form) {
    headers["content-type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(init.form).toString();
  }
  return fetch(url, { method, headers, body, signal: AbortSignal.timeout(60_000) });
}

async function failure(what: string, response: Response, hint: string): Promise<RealmApplyError> {
  return new RealmApplyError(
    `${what}: HTTP ${response.status} ${(await response.text()).slice(0, 300)}; ${hint}`,
  );
}

/** An access token of the master realm's admin (password grant on `admin-cli`). */
export async function adminToken(baseUrl: string, admin: KeycloakAdmin): Promise<string> {
  const response = await call("POST", `${baseUrl}/realms/master/protocol/openid-connect/token`, {
    form: {
      grant_type: "password",
      client_id: "admin-cli",
      username: admin.username,
      password: admin.password ?? "",
    },
  });
  if (!response.ok) {
    throw await failure(
      `Keycloak refused the admin login of "${admin.username}"`,
      response,
      "the bootstrap admin is created on the first start only: use the credentials of that start " +
        "(BIONICPRO_KEYCLOAK_ADMIN, BIONICPRO_KEYCLOAK_ADMIN_PASSWORD) or `stack down --purge`",
    );
  }
  return ((await response.json()) as { access_token: string }).access_token;
}

export async function applyRealm(
  baseUrl: string,
  admin: KeycloakAdmin,
  realm: RenderedRealm,
): Promise<RealmApplyResult> {
  const token = await adminToken(baseUrl, admin);
  const name = realm.representation.realm;
  const realmUrl = `${baseUrl}/admin/realms/${encodeURIComponent(name)}`;
  const existing = await call("GET", realmUrl, { token });
  let result: RealmApplyResult = "created";
  if (existing.ok) {
    const current = (await existing.json()) as { attributes?: Record<string, string> };
    if (current.attributes?.[REALM_DIGEST_ATTRIBUTE] === realm.digest) return "unchanged";
    const deleted = await call("DELETE", realmUrl, { token });
    if (!deleted.ok) throw await failure(`deleting realm ${name}`, deleted, "read the Keycloak log");
    result = "replaced";
  } else if (existing.status === 404) {
    await existing.arrayBuffer();
  } else {
    throw await failure(`reading realm ${name}`, existing, "read the Keycloak log");
  }
  const created = await call("POST", `${baseUrl}/admin/realms`, { token, json: realm.representation });
  if (!created.ok) {
    throw await failure(
      `creating realm ${name} from keycloak/bionicpro-realm.json`,
      created,
      "fix the realm file (Keycloak's message above) and run `npm run stack -- up keycloak` again",
    );
  }
  await created.arrayBuffer();
  return result;
}
