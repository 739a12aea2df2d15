import { ApiError } from "../errors.js";

/** Realm roles the API knows (Keycloak `realm_access.roles`); others are ignored. */
export const roles = ["prosthesis_owner", "support", "admin", "ml_engineer"] as const;
export type Role = (typeof roles)[number];

/** Who is calling, as far as authorization needs: no name, email or other personal claim. */
export interface Principal {
  /** The token's `sub`: the rate-limit key, never logged with personal data. */
  subject: string;
  roles: ReadonlySet<Role>;
  /** The CRM user the token speaks for (`crm_user_id`), or null when the token names none. */
  crmUserId: number | null;
  /** When the token expires (its `exp`, epoch ms): a live stream opened with it ends then. */
  expiresAt?: number;
}

const maxInt32 = 2_147_483_647;

function invalidClaim(detail: string): ApiError {
  return new ApiError("AUTH_TOKEN_CLAIMS", detail, {
    headers: { "WWW-Authenticate": `Bearer error="invalid_token", error_description="${detail}"` },
  });
}

/**
 * `crm_user_id` as Keycloak emits a user attribute: a JSON number, or a decimal string (the
 * attribute mapper's default type is String). Either must be a positive 32-bit integer
 * (1..2147483647, crm_users.user_id); absent means the token names no CRM user.
 */
export function parseCrmUserId(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  const n =
    typeof value === "number"
      ? value
      : typeof value === "string" && /^[1-9][0-9]{0,9}$/.test(value)
        ? Number(value)
        : NaN;
  if (!Number.isInteger(n) || n < 1 || n > maxInt32)
    throw invalidClaim("crm_user_id must be a positive 32-bit integer (a JSON number or a decimal string)");
  return n;
}

/** The roles of `realm_access.roles` this API knows; anything malformed counts as no role. */
export function realmRoles(payload: Record<string, unknown>): Set<Role> {
  const access = payload.realm_access;
  const list = access && typeof access === "object" ? (access as { roles?: unknown }).roles : undefined;
  if (!Array.isArray(list)) return new Set();
  return new Set(list.filter((r): r is Role => (roles as readonly string[]).includes(r as string)));
}

/**
 * The caller of a verified token. Keycloak marks access tokens `typ: "Bearer"`; an ID or refresh
 * token (`typ` "ID", "Refresh") is refused even when its audience matches.
 */
export function principalFromClaims(payload: Record<string, unknown>): Principal {
  if (payload.typ !== undefined && payload.typ !== "Bearer")
    throw invalidClaim("typ must be Bearer: send an access token, not an ID or refresh token");
  const subject = payload.sub;
  if (typeof subject !== "string" || subject === "") throw invalidClaim("sub must be a non-empty string");
  const principal: Principal = {
    subject,
    roles: realmRoles(payload),
    crmUserId: parseCrmUserId(payload.crm_user_id),
  };
  if (typeof payload.exp === "number" && Number.isFinite(payload.exp))
    principal.expiresAt = payload.exp * 1000;
  return principal;
}

export const isStaff = (p: Principal): boolean => p.roles.has("support") || p.roles.has("admin");
