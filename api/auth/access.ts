import { ApiError } from "../errors.js";
import { isStaff, type Principal, type Role } from "./principal.js";

/** What a route needs from its caller. */
export type Access = "public" | "reports" | "sql";

const allowedRoles: Record<Exclude<Access, "public">, readonly Role[]> = {
  reports: ["prosthesis_owner", "support", "admin"],
  sql: ["ml_engineer"],
};

export function assertAccess(principal: Principal, access: Exclude<Access, "public">): void {
  if (!allowedRoles[access].some((role) => principal.roles.has(role)))
    throw new ApiError(
      "FORBIDDEN_ROLE",
      access === "sql"
        ? "the SQL endpoint is for the ml_engineer role only"
        : "reports need the prosthesis_owner, support or admin role",
    );
}

/** The same answer for a user that does not exist and for one the caller may not see. */
export const userNotFound = (userId: number): ApiError =>
  new ApiError("USER_NOT_FOUND", `no user ${userId} among the users this caller may read`);

/**
 * Whose report a caller reads. Staff (support, admin) name any user and must name one (`everyone`
 * is not a report). An owner reads their own CRM user; naming anyone else answers exactly like an
 * unknown user (404), so ids cannot be probed. Existence is checked by the caller against the marts.
 */
export function reportUserFor(principal: Principal, requested: number | undefined): number {
  assertAccess(principal, "reports");
  if (isStaff(principal)) {
    if (requested === undefined)
      throw new ApiError("USER_ID_REQUIRED", "support and admin callers must name the user with user_id");
    return requested;
  }
  if (principal.crmUserId === null)
    throw new ApiError(
      "CRM_USER_MISSING",
      "the token has no crm_user_id claim; ask an administrator to link the account",
    );
  if (requested !== undefined && requested !== principal.crmUserId) throw userNotFound(requested);
  return principal.crmUserId;
}
