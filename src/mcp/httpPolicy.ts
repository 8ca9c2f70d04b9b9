/**
 * The pure rules of http mode (docs/tool-contract.md §4): which Host/Origin values are
 * this server's, the RFC 9728 resource metadata, the `WWW-Authenticate`
 * challenges, the token-scope gate for `tools/call`, which request headers
 * reach the MCP transport, and which sessions to close (idle, over a cap).
 */
import { Duration } from "effect"
import * as Scopes from "../domain/Scope.js"

/** Defaults of the session settings (src/Config.ts shows them in --help). */
export const SESSION_DEFAULTS = {
  /** NC_MCP_SESSION_IDLE_MINUTES */
  idleTimeout: Duration.minutes(30),
  /** NC_MCP_MAX_SESSIONS_PER_USER */
  maxPerUser: 20,
  /** NC_MCP_MAX_SESSIONS */
  maxSessions: 1000
} as const

// ---------------------------------------------------------------------------
// Public identity of the server

export interface PublicEndpoints {
  /** This server's public origin (no trailing slash), e.g. `https://mcp.example.com`. */
  readonly publicUrl: string
  /** `<publicUrl>/mcp`: the protected resource, and the default audience. */
  readonly resource: string
  /** `<publicUrl>/.well-known/oauth-protected-resource/mcp`. */
  readonly resourceMetadata: string
}

export const endpoints = (publicUrl: URL): PublicEndpoints => {
  const base = publicUrl.href.replace(/\/+$/, "")
  return {
    publicUrl: base,
    resource: `${base}/mcp`,
    resourceMetadata: `${base}/.well-known/oauth-protected-resource/mcp`
  }
}

/** `http://<host>:<port>` of a bound address (IPv6 in brackets). */
export const defaultPublicUrl = (host: string, port: number): URL =>
  new URL(`http://${host.includes(":") ? `[${host}]` : host}:${port}`)

/** Scopes an authorization server should offer for this resource: the app vocabulary plus `openid`. */
export const SCOPES_SUPPORTED: ReadonlyArray<string> = ["openid", ...Scopes.ALL_SCOPES]

/** RFC 9728 protected resource metadata. */
export const resourceMetadata = (ep: PublicEndpoints, issuer: string) => ({
  resource: ep.resource,
  authorization_servers: [issuer],
  scopes_supported: SCOPES_SUPPORTED,
  bearer_methods_supported: ["header"],
  resource_name: "Nextcloud MCP server"
})

// ---------------------------------------------------------------------------
// WWW-Authenticate (RFC 6750 §3, RFC 9728 §5.1)

const quoted = (value: string) => `"${value.replace(/["\\]/g, "")}"`

/** 401: no token (no `error`), or a token that was refused (`invalid_token`). */
export const unauthorizedChallenge = (ep: PublicEndpoints, tokenGiven: boolean): string =>
  tokenGiven
    ? `Bearer error="invalid_token", resource_metadata=${quoted(ep.resourceMetadata)}`
    : `Bearer resource_metadata=${quoted(ep.resourceMetadata)}`

/** `Retry-After` seconds until `retryAt` (epoch milliseconds): at least 1; 1 when unknown. */
export const retryAfterSeconds = (retryAt: number | undefined, now: number): number =>
  retryAt === undefined ? 1 : Math.max(1, Math.ceil((retryAt - now) / 1000))

/** 403: the token lacks scopes a call needs. */
export const insufficientScopeChallenge = (ep: PublicEndpoints, needed: ReadonlyArray<string>): string =>
  `Bearer error="insufficient_scope", scope=${quoted(needed.join(" "))}, resource_metadata=${quoted(ep.resourceMetadata)}`

// ---------------------------------------------------------------------------
// DNS rebinding: Host and Origin

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]"])
const ANY_ADDRESS = new Set(["0.0.0.0", "::", "[::]"])

const defaultPort = (protocol: string) => (protocol === "https:" ? 443 : 80)

/**
 * The `host[:port]` values (lowercase) this server answers to: the address it
 * listens on (with the loopback aliases when that is loopback or any address)
 * and the host of its public URL.
 */
export const allowedHosts = (listen: { readonly host: string; readonly port: number }, publicUrl: URL): ReadonlySet<string> => {
  const hosts = new Set<string>()
  const bracket = (h: string) => (h.includes(":") && !h.startsWith("[") ? `[${h}]` : h)
  const listenHost = listen.host.toLowerCase()
  if (LOOPBACK.has(listenHost) || ANY_ADDRESS.has(listenHost)) {
    for (const h of ["127.0.0.1", "localhost", "[::1]"]) hosts.add(`${h}:${listen.port}`)
  }
  if (!ANY_ADDRESS.has(listenHost)) hosts.add(`${bracket(listenHost)}:${listen.port}`)
  const pub = publicUrl.host.toLowerCase()
  hosts.add(pub)
  if (publicUrl.port === "") hosts.add(`${publicUrl.hostname.toLowerCase()}:${defaultPort(publicUrl.protocol)}`)
  return hosts
}

/** A `Host` header is acceptable when it names this server. */
export const hostAllowed = (allowed: ReadonlySet<string>, host: string | undefined): boolean =>
  host !== undefined && allowed.has(host.trim().toLowerCase())

/** An `Origin` header, when present, must be one of this server's origins. */
export const originAllowed = (allowed: ReadonlySet<string>, origin: string | undefined): boolean => {
  if (origin === undefined) return true
  if (!URL.canParse(origin)) return false
  const url = new URL(origin)
  if (url.protocol !== "http:" && url.protocol !== "https:") return false
  return allowed.has(url.host.toLowerCase()) ||
    (url.port === "" && allowed.has(`${url.hostname.toLowerCase()}:${defaultPort(url.protocol)}`))
}

// ---------------------------------------------------------------------------
// Token-scope gate for tools/call

export interface ScopeDenial {
  /** Everything the refused calls need (space-separated in the challenge). */
  readonly needed: ReadonlyArray<Scopes.Scope>
  /** What the token lacks of that. */
  readonly missing: ReadonlyArray<Scopes.Scope>
  /** The id of the first refused request, for the JSON-RPC error body. */
  readonly id: string | number | null
  readonly tools: ReadonlyArray<string>
}

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * The `tools/call` requests in a JSON-RPC POST body (single message or batch)
 * whose tool needs scopes the token lacks. Unknown tools pass: the server
 * answers them with its own error. `undefined` = nothing to refuse.
 */
export const scopeDenial = (
  body: unknown,
  toolScopes: ReadonlyMap<string, ReadonlyArray<Scopes.Scope>>,
  tokenScopes: ReadonlyArray<Scopes.Scope> | null
): ScopeDenial | undefined => {
  const messages = Array.isArray(body) ? body : [body]
  const needed = new Set<Scopes.Scope>()
  const tools: Array<string> = []
  let id: string | number | null | undefined
  for (const message of messages) {
    if (!isRecord(message) || message["method"] !== "tools/call") continue
    const params = message["params"]
    const name = isRecord(params) ? params["name"] : undefined
    if (typeof name !== "string") continue
    const required = toolScopes.get(name)
    if (required === undefined || Scopes.missing(required, tokenScopes).length === 0) continue
    for (const s of required) needed.add(s)
    tools.push(name)
    if (id === undefined) {
      const raw = message["id"]
      id = typeof raw === "string" || typeof raw === "number" ? raw : null
    }
  }
  if (tools.length === 0) return undefined
  const all = Scopes.sorted(needed)
  return { needed: all, missing: Scopes.missing(all, tokenScopes), id: id ?? null, tools }
}

// ---------------------------------------------------------------------------
// Headers forwarded to the MCP transport

/**
 * Credentials the MCP transport never gets: it hands every header it receives
 * to the request handlers (`extra.requestInfo.headers`), and the bearer token
 * has already done its work at the edge.
 */
export const WITHHELD_HEADERS: ReadonlySet<string> = new Set(["authorization", "cookie", "proxy-authorization"])

/** The request headers as the transport may see them: every string header but the withheld ones. */
export const forwardedHeaders = (headers: Readonly<Record<string, unknown>>): Headers => {
  const out = new Headers()
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value === "string" && !WITHHELD_HEADERS.has(name.toLowerCase())) out.set(name, value)
  }
  return out
}

// ---------------------------------------------------------------------------
// Session lifetime

/** What the session rules look at. */
export interface SessionUse {
  /** When (epoch milliseconds, from the Clock) a request on the session last started or a response of it last finished. */
  readonly lastUsed: number
  /** The order of that last use among all sessions (higher = more recent; milliseconds can tie, this cannot). */
  readonly touched: number
  /** Responses (POST answers, SSE streams, GET streams) of the session still open. */
  readonly open: number
}

/**
 * Idle: nothing of the session is open and it was last used at least
 * `idleMs` ago. A session with an open response or stream (a running tool
 * call, a client's GET stream) is in use however long that lasts.
 */
export const isIdle = (session: SessionUse, now: number, idleMs: number): boolean =>
  session.open === 0 && now - session.lastUsed >= idleMs

/**
 * The sessions to close so that at most `max` remain: idle ones (nothing
 * open) first, the one idle longest first; when none is idle, the least
 * recently used. `keep` (the session just opened) is never chosen. Used for
 * one user's cap and for the server-wide one.
 */
export const overCap = <K>(
  sessions: ReadonlyArray<readonly [K, SessionUse]>,
  max: number,
  keep?: K
): ReadonlyArray<K> => {
  const excess = sessions.length - max
  if (excess <= 0) return []
  return sessions
    .filter(([id]) => id !== keep)
    .map(([id, use], index) => ({ id, index, inUse: use.open > 0 ? 1 : 0, touched: use.touched }))
    .sort((a, b) => a.inUse - b.inUse || a.touched - b.touched || a.index - b.index)
    .slice(0, excess)
    .map((s) => s.id)
}

const isRequest = (message: unknown): message is { readonly id: string | number } =>
  isRecord(message) && typeof message["method"] === "string" &&
  (typeof message["id"] === "string" || typeof message["id"] === "number")

/** The ids of the JSON-RPC requests (not notifications or responses) in a POST body, single message or batch. */
export const requestIds = (body: unknown): ReadonlyArray<string | number> =>
  (Array.isArray(body) ? body : [body]).filter(isRequest).map((message) => message.id)
