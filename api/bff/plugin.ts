import { once } from "node:events";
import { PassThrough } from "node:stream";
import cookie from "@fastify/cookie";
import csrf from "@fastify/csrf-protection";
import session from "@fastify/session";
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  InjectOptions,
  LightMyRequestResponse,
  Session,
} from "fastify";
import type { BffConfig } from "../config.js";
import { ApiError } from "../errors.js";
import type { OidcRelyingParty, SessionUser, TokenSet } from "./oidc.js";
import { BoundedSessionStore } from "./session-store.js";

declare module "fastify" {
  interface Session {
    /** A login in progress: what the callback must match (never sent to the browser). */
    login?: { state: string; nonce: string; codeVerifier: string; redirectUri: string; startedAt: number };
    /** The logged-in user and their tokens (server-side only). */
    auth?: { user: SessionUser; tokens: TokenSet; loggedInAt: number };
    /** Where the browser goes after the login (a local path). */
    returnTo?: string;
  }
}

export interface BffOptions {
  config: BffConfig;
  oidc: OidcRelyingParty;
  /** The app's inject(): the proxy calls the API's own routes with the caller's bearer token. */
  inject: (
    options: InjectOptions & { payloadAsStream?: boolean; signal?: AbortSignal },
  ) => Promise<LightMyRequestResponse>;
  now?: () => number;
}

export const SESSION_COOKIE = "bionicpro_session";

/** API paths the dashboard may call through /bff/api (GET only): the report routes, nothing else. */
const proxiedPath =
  /^\/(reports\/user\/[0-9]{1,10}|api\/reports(\/(summary|days|[0-9]{4}-[0-9]{2}-[0-9]{2}))?)$/;

const loopbackHosts = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** The origin the browser uses: BIONICPRO_BFF_PUBLIC_URL, else the request's Host when it is a loopback address. */
export function publicOrigin(config: BffConfig, request: FastifyRequest): string {
  if (config.publicUrl) return config.publicUrl;
  const host = request.host;
  const name = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0];
  if (!loopbackHosts.has(name ?? ""))
    throw new ApiError(
      "LOGIN_FAILED",
      "set BIONICPRO_BFF_PUBLIC_URL to serve the dashboard on a non-loopback host",
    );
  return `${request.protocol}://${host}`;
}

/** Only a local path (no scheme, no //host) may be a post-login destination: no open redirect. */
export function safeReturnTo(value: unknown): string {
  return typeof value === "string" && /^\/(?![/\\])[\x21-\x7e]*$/.test(value) && value.length <= 512
    ? value
    : "/";
}

/** The `id:` of the last complete SSE event in `text` (after `carry`, the unfinished tail of earlier text). */
export function lastEventIds(
  carry: string,
  text: string,
): { ids: string[]; carry: string; tokenExpired: boolean } {
  const all = carry + text;
  const end = all.lastIndexOf("\n\n");
  if (end < 0) return { ids: [], carry: all.slice(-65_536), tokenExpired: false };
  const complete = all.slice(0, end);
  const ids: string[] = [];
  let tokenExpired = false;
  for (const line of complete.split("\n")) {
    if (line.startsWith("id: ")) ids.push(line.slice(4));
    else if (line === "event: token-expired") tokenExpired = true;
  }
  return { ids, carry: all.slice(end + 2), tokenExpired };
}

/**
 * The BFF (seed 05's bionicpro-auth): logs the browser in with Keycloak through the confidential
 * client `reports-bff` (authorization code + PKCE S256, state and nonce checked by openid-client),
 * keeps the tokens in a bounded server-side session store and gives the browser only an HttpOnly,
 * SameSite=Lax session cookie (Secure over TLS). The dashboard's calls to /bff/api/* are passed to
 * the API's own routes with the caller's access token (refreshed before it expires), so the API's
 * checks stay the only gate. State-changing routes (logout) need the CSRF token of /bff/session.
 * Encapsulated: the session and cookie hooks run for /bff/* only.
 */
export async function bffPlugin(app: FastifyInstance, options: BffOptions): Promise<void> {
  const { config, oidc } = options;
  const now = options.now ?? Date.now;
  const store = new BoundedSessionStore({
    maxSessions: config.maxSessions,
    idleMs: config.sessionIdleMs,
    maxAgeMs: config.sessionMaxMs,
    now,
  });
  await app.register(cookie);
  await app.register(session, {
    cookieName: SESSION_COOKIE,
    secret: config.sessionSecret,
    store,
    saveUninitialized: false,
    rolling: false,
    cookie: { path: "/", httpOnly: true, sameSite: "lax", secure: "auto" },
  });
  await app.register(csrf, {
    sessionPlugin: "@fastify/session",
    getToken: (request) => {
      const header = request.headers["x-csrf-token"];
      return typeof header === "string" ? header : undefined;
    },
  });

  const storeGet = (id: string) =>
    new Promise<Session | null>((resolve) => store.get(id, (_e, s) => resolve(s ?? null)));
  const refreshing = new Map<string, Promise<TokenSet>>();

  /** The session's tokens, refreshed (once per session at a time) when they expire within refreshBeforeMs. */
  async function currentTokens(sessionId: string): Promise<TokenSet> {
    const stored = await storeGet(sessionId);
    const auth = stored?.auth;
    if (!stored || !auth) throw new ApiError("SESSION_REQUIRED", "log in at /bff/login");
    if (auth.tokens.expiresAt - now() > config.refreshBeforeMs) return auth.tokens;
    let pending = refreshing.get(sessionId);
    if (!pending) {
      pending = oidc
        .refresh(auth.tokens)
        .then((tokens) => {
          auth.tokens = tokens;
          return tokens;
        })
        .catch((error: unknown) => {
          if (error instanceof ApiError && error.code === "SESSION_EXPIRED")
            store.destroy(sessionId, () => undefined);
          throw error;
        })
        .finally(() => refreshing.delete(sessionId));
      refreshing.set(sessionId, pending);
    }
    return pending;
  }

  const noStore = (reply: FastifyReply) => reply.header("cache-control", "no-store");

  app.get("/bff/login", { schema: { hide: true } }, async (request, reply) => {
    const redirectUri = `${publicOrigin(config, request)}/bff/callback`;
    const login = await oidc.startLogin(redirectUri);
    request.session.login = {
      state: login.state,
      nonce: login.nonce,
      codeVerifier: login.codeVerifier,
      redirectUri,
      startedAt: now(),
    };
    request.session.returnTo = safeReturnTo((request.query as { return_to?: unknown }).return_to);
    return noStore(reply).redirect(login.url, 302);
  });

  app.get("/bff/callback", { schema: { hide: true } }, async (request, reply) => {
    const login = request.session.login;
    const returnTo = safeReturnTo(request.session.returnTo);
    if (!login || now() - login.startedAt > config.loginTimeoutMs) {
      request.log.info({ code: "LOGIN_FAILED" }, "login callback without a login in progress");
      return noStore(reply).redirect("/?login=failed", 303);
    }
    const query = new URL(request.url, "http://callback").search;
    let result: Awaited<ReturnType<OidcRelyingParty["finishLogin"]>>;
    try {
      result = await oidc.finishLogin(new URL(`${login.redirectUri}${query}`), login);
    } catch (error) {
      request.session.login = undefined;
      const code = error instanceof ApiError ? error.code : "LOGIN_FAILED";
      request.log.info({ code }, "login refused");
      return noStore(reply).redirect(
        `/?login=${code === "IDENTITY_PROVIDER_UNAVAILABLE" ? "unavailable" : "failed"}`,
        303,
      );
    }
    // A new session id at login: an id planted before it (session fixation) is worth nothing.
    await request.session.regenerate();
    request.session.auth = { user: result.user, tokens: result.tokens, loggedInAt: now() };
    request.log.info({ subject: result.user.subject }, "logged in");
    return noStore(reply).redirect(returnTo, 303);
  });

  app.get("/bff/session", { schema: { hide: true } }, async (request, reply) => {
    noStore(reply);
    const auth = request.session.auth;
    if (!auth || !(await storeGet(request.session.sessionId))?.auth) return { authenticated: false };
    return {
      authenticated: true,
      user: {
        username: auth.user.username,
        roles: auth.user.roles,
        crm_user_id: auth.user.crmUserId,
      },
      csrf_token: reply.generateCsrf(),
    };
  });

  app.post(
    "/bff/logout",
    { schema: { hide: true }, onRequest: app.csrfProtection },
    async (request, reply) => {
      noStore(reply);
      const idToken = request.session.auth?.tokens.idToken;
      if (idToken) {
        await oidc
          .endSession(idToken)
          .catch((error: unknown) =>
            request.log.warn(
              { err: error },
              "ending the Keycloak session failed; the local session ends anyway",
            ),
          );
      }
      await request.session.destroy();
      reply.clearCookie(SESSION_COOKIE, { path: "/" });
      return { authenticated: false };
    },
  );

  /** The session's tokens for a proxied call; refusals as problems the page understands. */
  async function tokensOf(request: FastifyRequest): Promise<TokenSet> {
    if (!request.session.auth) throw new ApiError("SESSION_REQUIRED", "log in at /bff/login");
    return currentTokens(request.session.sessionId);
  }

  const proxy = async (request: FastifyRequest, reply: FastifyReply) => {
    noStore(reply);
    const [path = "", search = ""] = request.url.slice("/bff".length).split("?", 2) as [string, string?];
    if (!proxiedPath.test(path))
      throw new ApiError("ROUTE_NOT_FOUND", `no route GET ${request.url.split("?")[0]}`);
    const tokens = await tokensOf(request);
    const upstream = await options.inject({
      method: "GET",
      url: `${path}${search ? `?${search}` : ""}`,
      headers: { authorization: `Bearer ${tokens.accessToken}`, accept: "application/json" },
    });
    const type = upstream.headers["content-type"];
    return reply
      .code(upstream.statusCode)
      .type(typeof type === "string" ? type : "application/json")
      .send(upstream.rawPayload);
  };
  // The API's report paths under /bff: /bff/reports/user/{id}, /bff/api/reports[/…].
  app.get("/bff/reports/*", { schema: { hide: true } }, proxy);
  app.get("/bff/api/*", { schema: { hide: true } }, proxy);

  app.get("/bff/api/reports/stream", { schema: { hide: true } }, async (request, reply) => {
    noStore(reply);
    const sessionId = request.session.sessionId;
    let tokens = await tokensOf(request);
    const search = request.url.includes("?") ? request.url.slice(request.url.indexOf("?")) : "";
    const header = request.headers["last-event-id"];
    let lastId = typeof header === "string" ? header : undefined;
    // The relay stops when the browser goes: the API's response is closed (not aborted with an
    // error, which Fastify would log as a failed request), so its stream ends cleanly.
    const abort = new AbortController();
    const open = (accessToken: string) =>
      options.inject({
        method: "GET",
        url: `/api/reports/stream${search}`,
        headers: {
          authorization: `Bearer ${accessToken}`,
          accept: "text/event-stream",
          ...(lastId ? { "last-event-id": lastId } : {}),
        },
        payloadAsStream: true,
      });
    let upstream = await open(tokens.accessToken);
    if (upstream.statusCode !== 200) {
      const body = await new Response(upstream.stream() as unknown as ReadableStream).text();
      return reply.code(upstream.statusCode).type("application/problem+json").send(body);
    }
    const out = new PassThrough();
    const stop = () => {
      abort.abort();
      (upstream.raw.res as { destroy(): void }).destroy();
    };
    out.once("close", stop);
    reply.raw.once("close", () => {
      stop();
      out.destroy();
    });
    // Relays the API's stream; when it ends because the access token expired, refreshes the tokens
    // and resumes from the last event id, so the browser keeps one connection for the whole session.
    const relay = async () => {
      for (;;) {
        let carry = "";
        let expired = false;
        for await (const chunk of upstream.stream()) {
          const parsed = lastEventIds(carry, (chunk as Buffer).toString("utf8"));
          carry = parsed.carry;
          lastId = parsed.ids.at(-1) ?? lastId;
          expired ||= parsed.tokenExpired;
          if (!out.write(chunk)) await once(out, "drain", { signal: abort.signal });
        }
        if (!expired || abort.signal.aborted) break;
        try {
          tokens = await currentTokens(sessionId);
        } catch (error) {
          const code = error instanceof ApiError ? error.code : "SESSION_EXPIRED";
          out.write(`event: session-expired\ndata: ${JSON.stringify({ code })}\n\n`);
          break;
        }
        upstream = await open(tokens.accessToken);
        if (upstream.statusCode !== 200) break;
      }
    };
    relay()
      .catch((error: unknown) => {
        if (!abort.signal.aborted) request.log.warn({ err: error }, "live stream relay ended");
      })
      .finally(() => out.end());
    return reply.type("text/event-stream; charset=utf-8").header("x-accel-buffering", "no").send(out);
  });
}
