import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The `bionicpro` realm: one JSON file (`bionicpro-realm.json`, a Keycloak realm representation)
 * is the single source for the native stack (applied through the admin REST API) and for
 * docker-compose (`--import-realm`). The names below are what the API, the BFF and the tests
 * refer to; `realm.unit.test.ts` checks that they match the file.
 */
export const REALM_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), "bionicpro-realm.json");

export const REALM_NAME = "bionicpro";

/** Every access token of the realm's clients carries this audience (`aud`). */
export const REPORTS_API_AUDIENCE = "reports-api";

export const CLIENT_IDS = {
  /** Public browser client: authorization code + PKCE (S256) required. */
  dashboard: "dashboard",
  /** Confidential server-side client of the BFF: authorization code + PKCE, client secret, refresh tokens. */
  bff: "reports-bff",
  /** Tests and demos only: the resource owner password grant (direct access grants). */
  tests: "reports-tests",
} as const;

export const REALM_ROLES = ["prosthesis_owner", "support", "admin", "ml_engineer"] as const;
export type RealmRole = (typeof REALM_ROLES)[number];

export interface DemoUser {
  username: string;
  /** A demo password, published on purpose (README, "Demo logins"): not a secret. */
  password: string;
  roles: readonly RealmRole[];
  /** `crm_db.crm_users.user_id` the owner's reports belong to; staff have none. */
  crmUserId?: number;
}

/**
 * The realm's demo users. Owners match the CRM users 1 and 2 that `npm run generate` (scale 1,
 * seed 42) creates, names and e-mail included.
 */
export const DEMO_USERS = {
  owner1: { username: "owner1", password: "owner1-demo", roles: ["prosthesis_owner"], crmUserId: 1 },
  owner2: { username: "owner2", password: "owner2-demo", roles: ["prosthesis_owner"], crmUserId: 2 },
  support1: { username: "support1", password: "support1-demo", roles: ["support"] },
  admin1: { username: "admin1", password: "admin1-demo", roles: ["admin"] },
  ml1: { username: "ml1", password: "ml1-demo", roles: ["ml_engineer"] },
} as const satisfies Record<string, DemoUser>;

/** Realm attribute holding the digest of the applied realm (see `renderRealm`). */
export const REALM_DIGEST_ATTRIBUTE = "bionicpro.realmSha256";

export interface RenderedRealm {
  /** The realm representation to POST to /admin/realms, digest attribute included. */
  representation: Record<string, unknown> & { realm: string; attributes?: Record<string, string> };
  /** sha256 of the file: equal digests mean the realm in Keycloak is this file. */
  digest: string;
}

/**
 * The realm file with its digest recorded as a realm attribute. The file's redirect and post-logout
 * URIs are loopback addresses without a port (`http://127.0.0.1/*`, `http://localhost/*`): Keycloak
 * then accepts any port on them (RFC 8252 §7.3, checked against Keycloak 26.7.5), so the realm does
 * not depend on BIONICPRO_API_PORT and a test serving the BFF on a free port does not change it.
 */
export function renderRealm(fileText: string): RenderedRealm {
  const digest = createHash("sha256").update(fileText).digest("hex");
  const representation = JSON.parse(fileText) as RenderedRealm["representation"];
  representation.attributes = { ...representation.attributes, [REALM_DIGEST_ATTRIBUTE]: digest };
  return { representation, digest };
}

export function loadRealm(): RenderedRealm {
  return renderRealm(readFileSync(REALM_FILE, "utf8"));
}
