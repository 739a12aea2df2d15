import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DEFAULT_DAYS, historyWindow } from "../scripts/generate/calendar.js";
import { buildPopulation } from "../scripts/generate/population.js";
import { targetVolumes } from "../scripts/generate/volumes.js";
import { DEMO_BFF_CLIENT_SECRET, loadKeycloakConfig } from "../scripts/config.js";
import {
  CLIENT_IDS,
  DEMO_USERS,
  REALM_DIGEST_ATTRIBUTE,
  REALM_FILE,
  REALM_NAME,
  REALM_ROLES,
  renderRealm,
  REPORTS_API_AUDIENCE,
} from "./realm.js";

/** The realm file, statically: what the integration test cannot see from outside Keycloak. */
interface ClientRep {
  clientId: string;
  publicClient: boolean;
  secret?: string;
  standardFlowEnabled: boolean;
  implicitFlowEnabled: boolean;
  directAccessGrantsEnabled: boolean;
  serviceAccountsEnabled: boolean;
  fullScopeAllowed: boolean;
  redirectUris: string[];
  attributes: Record<string, string>;
  protocolMappers: { name: string; protocolMapper: string; config: Record<string, string> }[];
}
interface UserRep {
  username: string;
  email: string;
  firstName: string;
  lastName: string;
  attributes?: Record<string, string[]>;
  credentials: { type: string; value: string; temporary: boolean }[];
  realmRoles: string[];
}
interface RealmRep {
  realm: string;
  accessTokenLifespan: number;
  defaultSignatureAlgorithm: string;
  roles: { realm: { name: string }[] };
  scopeMappings: { client: string; roles: string[] }[];
  clients: ClientRep[];
  users: UserRep[];
  components: Record<string, { providerId: string; config: Record<string, string[]> }[]>;
}

const fileText = readFileSync(REALM_FILE, "utf8");
const realm = JSON.parse(fileText) as RealmRep;
const client = (id: string): ClientRep => {
  const found = realm.clients.find((c) => c.clientId === id);
  if (!found) throw new Error(`client ${id} missing`);
  return found;
};
const apiRedirects = ["http://127.0.0.1/*", "http://localhost/*"];

describe("realm file keycloak/bionicpro-realm.json", () => {
  it("is the realm the code names, with the four roles and 5-minute RS256 access tokens", () => {
    expect(realm.realm).toBe(REALM_NAME);
    expect(realm.roles.realm.map((r) => r.name)).toEqual([...REALM_ROLES]);
    expect(realm.accessTokenLifespan).toBe(300);
    expect(realm.defaultSignatureAlgorithm).toBe("RS256");
    expect(realm.clients.map((c) => c.clientId).sort()).toEqual(Object.values(CLIENT_IDS).sort());
  });

  it("gives every client the reports-api audience, the crm_user_id claim as an int, and only the four roles", () => {
    for (const c of realm.clients) {
      expect(c.fullScopeAllowed).toBe(false);
      expect(realm.scopeMappings.find((m) => m.client === c.clientId)?.roles).toEqual([...REALM_ROLES]);
      const audience = c.protocolMappers.find((m) => m.protocolMapper === "oidc-audience-mapper");
      expect(audience?.config["included.custom.audience"]).toBe(REPORTS_API_AUDIENCE);
      expect(audience?.config["access.token.claim"]).toBe("true");
      const crm = c.protocolMappers.find((m) => m.protocolMapper === "oidc-usermodel-attribute-mapper");
      expect(crm?.config).toMatchObject({
        "user.attribute": "crm_user_id",
        "claim.name": "crm_user_id",
        "jsonType.label": "int",
        "access.token.claim": "true",
      });
    }
  });

  it("makes dashboard public with PKCE S256, reports-bff confidential, reports-tests password-grant only", () => {
    const dashboard = client(CLIENT_IDS.dashboard);
    expect(dashboard).toMatchObject({
      publicClient: true,
      standardFlowEnabled: true,
      implicitFlowEnabled: false,
      directAccessGrantsEnabled: false,
      redirectUris: apiRedirects,
    });
    expect(dashboard.attributes["pkce.code.challenge.method"]).toBe("S256");

    const bff = client(CLIENT_IDS.bff);
    expect(bff).toMatchObject({
      publicClient: false,
      secret: DEMO_BFF_CLIENT_SECRET,
      standardFlowEnabled: true,
      implicitFlowEnabled: false,
      directAccessGrantsEnabled: false,
      serviceAccountsEnabled: false,
      redirectUris: apiRedirects,
    });
    expect(bff.attributes).toMatchObject({
      "pkce.code.challenge.method": "S256",
      "post.logout.redirect.uris": apiRedirects.join("##"),
      "use.refresh.tokens": "true",
    });

    expect(client(CLIENT_IDS.tests)).toMatchObject({
      publicClient: true,
      standardFlowEnabled: false,
      implicitFlowEnabled: false,
      directAccessGrantsEnabled: true,
      redirectUris: [],
    });
  });

  it("declares crm_user_id in the user profile: an integer only admins may edit", () => {
    const [profile] = realm.components["org.keycloak.userprofile.UserProfileProvider"] ?? [];
    const config = JSON.parse(profile?.config["kc.user.profile.config"]?.[0] ?? "{}") as {
      attributes: { name: string; validations?: object; permissions?: { edit: string[] } }[];
    };
    const crm = config.attributes.find((a) => a.name === "crm_user_id");
    expect(crm?.permissions?.edit).toEqual(["admin"]);
    expect(crm?.validations).toEqual({ integer: { min: 1 } });
    expect(config.attributes.map((a) => a.name)).toEqual([
      "username",
      "email",
      "firstName",
      "lastName",
      "crm_user_id",
    ]);
  });

  it("has exactly the demo users, passwords, roles and CRM ids the code publishes", () => {
    const fromFile = realm.users.map((u) => ({
      username: u.username,
      password: u.credentials.find((c) => c.type === "password" && !c.temporary)?.value,
      roles: u.realmRoles,
      crmUserId: u.attributes?.crm_user_id?.map(Number)[0],
    }));
    expect(fromFile).toEqual(
      Object.values(DEMO_USERS).map((u) => ({ crmUserId: undefined, ...u, roles: [...u.roles] })),
    );
  });

  it("links the owners to the CRM users of the demo data (scale 1, seed 42) by id, name and e-mail", () => {
    const population = buildPopulation(42, historyWindow(DEFAULT_DAYS), targetVolumes(1, DEFAULT_DAYS));
    for (const owner of [DEMO_USERS.owner1, DEMO_USERS.owner2]) {
      const rep = realm.users.find((u) => u.username === owner.username);
      const crm = population.users.find((u) => u.userId === owner.crmUserId);
      expect(crm).toBeDefined();
      expect(rep).toMatchObject({
        firstName: crm?.person.firstName,
        lastName: crm?.person.lastName,
        email: crm?.person.email,
      });
      expect(population.devices.some((d) => d.userId === owner.crmUserId)).toBe(true);
    }
  });
});

describe("renderRealm", () => {
  it("records the file's digest; loopback redirects carry no port (Keycloak accepts any port on them)", () => {
    const rendered = renderRealm(fileText);
    expect(rendered.representation.attributes?.[REALM_DIGEST_ATTRIBUTE]).toBe(rendered.digest);
    expect(renderRealm(fileText).digest).toBe(rendered.digest);
    expect(renderRealm(`${fileText} `).digest).not.toBe(rendered.digest);
    expect(fileText).not.toMatch(/:\/\/(127\.0\.0\.1|localhost):\d/);
  });
});

describe("loadKeycloakConfig", () => {
  it("defaults to the native Keycloak's pinned address", () => {
    const config = loadKeycloakConfig({});
    expect(config).toEqual({
      url: "http://127.0.0.1:18080",
      realm: "bionicpro",
      issuer: "http://127.0.0.1:18080/realms/bionicpro",
      jwksUrl: "http://127.0.0.1:18080/realms/bionicpro/protocol/openid-connect/certs",
      authorizationUrl: "http://127.0.0.1:18080/realms/bionicpro/protocol/openid-connect/auth",
      tokenUrl: "http://127.0.0.1:18080/realms/bionicpro/protocol/openid-connect/token",
      endSessionUrl: "http://127.0.0.1:18080/realms/bionicpro/protocol/openid-connect/logout",
      audience: "reports-api",
      clients: { dashboard: "dashboard", bff: "reports-bff", tests: "reports-tests" },
    });
    expect(config.bffClientSecret).toBe(DEMO_BFF_CLIENT_SECRET);
    expect(JSON.stringify(config)).not.toContain(DEMO_BFF_CLIENT_SECRET);
  });

  it("takes KEYCLOAK_URL (trailing slash dropped) over BIONICPRO_KEYCLOAK_PORT", () => {
    expect(loadKeycloakConfig({ BIONICPRO_KEYCLOAK_PORT: "18111" }).issuer).toBe(
      "http://127.0.0.1:18111/realms/bionicpro",
    );
    expect(
      loadKeycloakConfig({ BIONICPRO_KEYCLOAK_PORT: "18111", KEYCLOAK_URL: "http://kc.internal:8080/" })
        .issuer,
    ).toBe("http://kc.internal:8080/realms/bionicpro");
    expect(() => loadKeycloakConfig({ BIONICPRO_KEYCLOAK_PORT: "x" })).toThrow(/BIONICPRO_KEYCLOAK_PORT/);
  });
});
