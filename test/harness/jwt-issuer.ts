import { createHmac, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A stand-in for Keycloak in tests: RSA signing keys made with node:crypto, their JWKS served over
 * HTTP on 127.0.0.1 at Keycloak's path, and tokens minted with Keycloak's claim layout
 * (realm_access.roles, crm_user_id, aud, personal claims the API must never log). Every odd token
 * the tests need (alg none, HS256 keyed with the public key, tampered, ...) is built by hand here.
 */
interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export interface MintOptions {
  kid?: string;
  alg?: string;
  /** Sign with this key instead of the active one (e.g. a key the JWKS does not list). */
  key?: SigningKey;
  /** Extra or replaced header members. */
  header?: Record<string, unknown>;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const nowSeconds = () => Math.floor(Date.now() / 1000);

export class TestIssuer {
  readonly realmPath = "/realms/bionicpro-test";
  private readonly keys: SigningKey[] = [];
  private server: Server | null = null;
  private port = 0;
  /** JWKS requests served. */
  jwksHits = 0;
  audience = "reports-api";

  constructor() {
    this.keys.push(TestIssuer.newKey("key-1"));
  }

  static newKey(kid: string): SigningKey {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    return { kid, privateKey, publicKey };
  }

  get issuer(): string {
    return `http://127.0.0.1:${this.port}${this.realmPath}`;
  }

  get jwksUrl(): string {
    return `${this.issuer}/protocol/openid-connect/certs`;
  }

  get activeKey(): SigningKey {
    return this.keys.at(-1) as SigningKey;
  }

  /** Publishes a new signing key (the old ones stay listed unless `retireOld`). */
  rotate(kid: string, retireOld = false): SigningKey {
    const key = TestIssuer.newKey(kid);
    if (retireOld) this.keys.splice(0, this.keys.length);
    this.keys.push(key);
    return key;
  }

  jwks(): { keys: Record<string, unknown>[] } {
    return {
      keys: this.keys.map((k) => ({
        ...k.publicKey.export({ format: "jwk" }),
        kid: k.kid,
        alg: "RS256",
        use: "sig",
      })),
    };
  }

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      if (request.url === `${this.realmPath}/protocol/openid-connect/certs`) {
        this.jwksHits += 1;
        response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(this.jwks()));
      } else {
        response.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Keycloak-like access token claims for a subject. */
  claims(subject: string, roles: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
    const iat = nowSeconds();
    return {
      exp: iat + 300,
      iat,
      jti: `jti-${subject}-${iat}`,
      iss: this.issuer,
      aud: [this.audience, "account"],
      sub: subject,
      typ: "Bearer",
      azp: "bionicpro-bff",
      realm_access: { roles: [...roles, "offline_access", "default-roles-bionicpro"] },
      preferred_username: `${subject}-login`,
      name: "Anna Ivanova",
      email: "anna@example.org",
      ...extra,
    };
  }

  /** An RS256 token signed by the active key (or as the options say). */
  mint(payload: Record<string, unknown>, options: MintOptions = {}): string {
    const key = options.key ?? this.activeKey;
    const header = {
      alg: options.alg ?? "RS256",
      typ: "JWT",
      kid: options.kid ?? key.kid,
      ...options.header,
    };
    const input = `${b64(header)}.${b64(payload)}`;
    return `${input}.${sign("sha256", Buffer.from(input), key.privateKey).toString("base64url")}`;
  }

  /** `alg: none`, no signature. */
  unsigned(payload: Record<string, unknown>): string {
    return `${b64({ alg: "none", typ: "JWT", kid: this.activeKey.kid })}.${b64(payload)}.`;
  }

  /** HS256 with the RSA public key (PEM) as the HMAC secret: the classic key-confusion attack. */
  hmacWithPublicKey(payload: Record<string, unknown>): string {
    const input = `${b64({ alg: "HS256", typ: "JWT", kid: this.activeKey.kid })}.${b64(payload)}`;
    const secret = this.activeKey.publicKey.export({ format: "pem", type: "spki" });
    return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
  }

  /** A valid token whose payload was changed after signing. */
  tampered(payload: Record<string, unknown>, changes: Record<string, unknown>): string {
    const [header, , signature] = this.mint(payload).split(".");
    return `${header}.${b64({ ...payload, ...changes })}.${signature}`;
  }

  owner(userId: number | string, extra: Record<string, unknown> = {}): string {
    return this.mint(this.claims(`owner-${userId}`, ["prosthesis_owner"], { crm_user_id: userId, ...extra }));
  }

  staff(role: "support" | "admin"): string {
    return this.mint(this.claims(`${role}-1`, [role]));
  }

  mlEngineer(): string {
    return this.mint(this.claims("ml-1", ["ml_engineer"]));
  }
}
