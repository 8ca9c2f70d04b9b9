/**
 * The routes of http mode (CONTRACT §1 `http`, §4):
 *
 *   GET|HEAD /healthz                                      public, whatever the Host
 *   GET|POST|DELETE /mcp                                   bearer token; Origin checked
 *   GET|HEAD|OPTIONS /.well-known/oauth-protected-resource[/mcp]   RFC 9728 metadata, public
 *   anything else                                          405 on a known path, else 404
 *
 * Every route but the health probe answers only requests whose Host names
 * this server (DNS rebinding).
 *
 * A `/mcp` request is authenticated, its body read, and its session found
 * (another user's session is as unknown as a missing one: 404, and a
 * well-behaved client re-initialises); a `tools/call` of a tool whose scopes
 * the token lacks is refused with 403 before it reaches the session. Routes
 * are interruptible (a client that goes away stops its request); what a
 * session must not lose on interruption, it keeps on the request's scope.
 */
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js"
import { isJsonContentType, isLegacyRequest, type McpHttpHandler } from "@modelcontextprotocol/server"
import { Effect, Exit, Option, Stream } from "effect"
import type { VerifiedToken } from "../../auth/TokenVerifier.js"
import type { Scope } from "../../domain/Scope.js"
import * as Policy from "../httpPolicy.js"
import { authInfoOf, insufficientScope } from "./auth.js"
import { jsonRpcError, readJsonBody } from "./messages.js"
import type { Sessions } from "./sessions.js"

export interface RoutesOptions {
  readonly endpoints: Policy.PublicEndpoints
  readonly issuer: string
  /** The `host[:port]` values this server answers to. */
  readonly hosts: ReadonlySet<string>
  readonly authenticate: (
    req: HttpServerRequest.HttpServerRequest
  ) => Effect.Effect<VerifiedToken, HttpServerResponse.HttpServerResponse>
  readonly sessions: Sessions
  /** MCP 2026-07-28 (stateless): requests that carry the per-request `_meta` envelope go here. */
  readonly modern: McpHttpHandler
  readonly toolScopes: ReadonlyMap<string, ReadonlyArray<Scope>>
  readonly maxBodyBytes: number
}

const METADATA_PATHS = ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"] as const

/** The methods of each known path, for the 405 of any other. */
const ALLOWED = new Map<string, string>([
  ["/mcp", "GET, POST, DELETE"],
  ...METADATA_PATHS.map((path) => [path, "GET, HEAD, OPTIONS"] as const)
])

const pathOf = (req: HttpServerRequest.HttpServerRequest) => new URL(req.url, "http://x").pathname

type Handler<E, R> = Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>

/** Middleware: a request that `allowed` turns down gets `refusal` instead. */
const guard =
  (allowed: (req: HttpServerRequest.HttpServerRequest) => boolean, refusal: HttpServerResponse.HttpServerResponse) =>
  <E, R>(app: Handler<E, R>): Handler<E, R | HttpServerRequest.HttpServerRequest> =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (req) => (allowed(req) ? app : Effect.succeed(refusal)))

/** Requests whose Host does not name this server are refused (DNS rebinding). */
const hostCheck = (hosts: ReadonlySet<string>) =>
  guard(
    (req) => Policy.hostAllowed(hosts, req.headers["host"]),
    HttpServerResponse.unsafeJson({ error: "forbidden", error_description: "unknown Host" }, { status: 403 })
  )

/** Requests from a browser page of another origin are refused. */
const originCheck = (hosts: ReadonlySet<string>) =>
  guard(
    (req) => Policy.originAllowed(hosts, req.headers["origin"]),
    jsonRpcError(403, -32000, "Forbidden: this Origin may not use this server")
  )

/**
 * A Fetch `Request` with the original headers minus credentials (the
 * transport passes headers on to request handlers); the body, when any, is
 * passed to the transport already parsed.
 */
const toWebRequest = (req: HttpServerRequest.HttpServerRequest, base: string): Request =>
  new Request(new URL(req.url, base), { method: req.method, headers: Policy.forwardedHeaders(req.headers) })

/**
 * A 2026-07-28 request answered by the stateless handler. The client going
 * away aborts the request (the handler stops its tool call); an event stream
 * is passed on as it comes.
 */
const answerModern = (handler: McpHttpHandler, request: Request, body: Option.Option<unknown>, authInfo: ReturnType<typeof authInfoOf>) =>
  Effect.gen(function* () {
    const controller = new AbortController()
    let answered = false
    yield* Effect.addFinalizer(() => Effect.sync(() => (answered ? undefined : controller.abort())))
    const response = yield* Effect.tryPromise(() =>
      handler.fetch(new Request(request, { signal: controller.signal }), { authInfo, ...(Option.isSome(body) ? { parsedBody: body.value } : {}) })
    ).pipe(
      Effect.tapError((error) => Effect.logError("MCP 2026-07-28 handler failed", error.error instanceof Error ? error.error.message : "")),
      Effect.option
    )
    if (Option.isNone(response)) {
      answered = true
      return jsonRpcError(500, -32603, "Internal error")
    }
    const answer = HttpServerResponse.fromWeb(response.value)
    if (answer.body._tag !== "Stream") {
      answered = true
      return answer
    }
    const events = answer.body.stream.pipe(Stream.ensuringWith((exit) => Effect.sync(() => (answered = Exit.isSuccess(exit)))))
    return HttpServerResponse.stream(events, { status: answer.status, headers: answer.headers, contentType: answer.body.contentType })
  })

export const makeRoutes = (options: RoutesOptions) => {
  const { endpoints: ep, sessions } = options

  const mcp = Effect.gen(function* () {
    const req = yield* HttpServerRequest.HttpServerRequest
    const verified = yield* options.authenticate(req)
    const body: Option.Option<unknown> = req.method === "POST" ? Option.some(yield* readJsonBody(req, options.maxBodyBytes)) : Option.none()
    const request = toWebRequest(req, ep.publicUrl)
    const authInfo = authInfoOf(verified, ep)
    const legacy = yield* Effect.promise(() =>
      isLegacyRequest(request, Option.getOrUndefined(body), { maxRequestBodySize: options.maxBodyBytes })
    )
    if (!legacy) {
      if (req.method === "POST" && !isJsonContentType(req.headers["content-type"] ?? null)) {
        return jsonRpcError(415, -32000, "Unsupported Media Type: Content-Type must be application/json")
      }
      const denial = Option.isSome(body) ? Policy.scopeDenial(body.value, options.toolScopes, verified.scopes) : undefined
      if (denial !== undefined) return insufficientScope(ep, denial)
      return yield* answerModern(options.modern, request, body, authInfo)
    }
    const sessionId = req.headers["mcp-session-id"]
    const existing = sessionId === undefined ? undefined : sessions.find(sessionId, verified.userId)
    if (sessionId !== undefined && existing === undefined) {
      if (sessions.exists(sessionId)) {
        yield* Effect.logWarning("refused a request for a session opened by another user", { user: verified.userId })
      }
      return jsonRpcError(404, -32001, "Session not found")
    }
    if (existing === undefined && !(Option.isSome(body) && isInitializeRequest(body.value))) {
      return jsonRpcError(400, -32000, "Bad Request: Mcp-Session-Id header is required")
    }
    const denial = Option.isSome(body) ? Policy.scopeDenial(body.value, options.toolScopes, verified.scopes) : undefined
    if (denial !== undefined) return insufficientScope(ep, denial)
    if (existing !== undefined) return yield* sessions.forward(existing, request, body, authInfo)
    return yield* Effect.acquireUseRelease(
      sessions.open(verified.userId),
      (opened) => sessions.forward(opened, request, body, authInfo),
      sessions.settleOpened
    )
  }).pipe(Effect.merge, originCheck(options.hosts))

  const healthy = Effect.succeed(HttpServerResponse.unsafeJson({ status: "ok" }))

  const metadata = Effect.succeed(
    HttpServerResponse.unsafeJson(Policy.resourceMetadata(ep, options.issuer), {
      headers: { "access-control-allow-origin": "*", "cache-control": "public, max-age=3600" }
    })
  )
  const preflight = Effect.succeed(
    HttpServerResponse.empty({
      status: 204,
      headers: { "access-control-allow-origin": "*", "access-control-allow-methods": "GET, HEAD, OPTIONS" }
    })
  )

  const otherwise = Effect.map(HttpServerRequest.HttpServerRequest, (req) => {
    const path = pathOf(req)
    const allow = ALLOWED.get(path)
    if (allow === undefined) return HttpServerResponse.unsafeJson({ error: "not_found" }, { status: 404 })
    return path === "/mcp"
      ? jsonRpcError(405, -32000, "Method not allowed.", null, { allow })
      : HttpServerResponse.empty({ status: 405, headers: { allow } })
  })

  const withMetadata = (router: HttpRouter.HttpRouter) =>
    METADATA_PATHS.reduce(
      (r, path) => r.pipe(HttpRouter.get(path, metadata), HttpRouter.head(path, metadata), HttpRouter.options(path, preflight)),
      router
    )

  const guarded = HttpRouter.empty.pipe(
    HttpRouter.get("/mcp", mcp),
    HttpRouter.post("/mcp", mcp),
    HttpRouter.del("/mcp", mcp),
    withMetadata,
    HttpRouter.all("*", otherwise),
    HttpRouter.use(hostCheck(options.hosts))
  )

  const open = HttpRouter.empty.pipe(HttpRouter.get("/healthz", healthy), HttpRouter.head("/healthz", healthy))

  return HttpRouter.concat(open, guarded)
}
