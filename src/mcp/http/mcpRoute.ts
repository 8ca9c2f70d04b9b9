/**
 * `/mcp` (GET, POST, DELETE; 405 with `Allow` otherwise), served at the Node
 * level rather than through the platform's router: every tool call over http
 * comes this way, and the platform's per-request fiber, router and response
 * conversion, with an Effect for each step of the request, cost more than
 * the rest of the call together (bench/ANALYSIS.md, "http"). The other
 * routes stay on the router (`routes.ts`).
 *
 * A request is checked in this order: Host (DNS rebinding), method, Origin,
 * bearer token, body (POST); then a 2026-07-28 request goes to the
 * stateless handler and any other to its session: another user's session is
 * as unknown as a missing one (404, and a well-behaved client
 * re-initialises), and a `tools/call` of a tool whose scopes the token lacks
 * is refused with 403 before it reaches a session. A client that goes away
 * cancels what its request started (`sessions.ts`). The Effects a request
 * needs — the token check, opening a session, logs — run on the server's
 * runtime; a defect is logged and answered 500.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import type { HttpServerResponse } from "@effect/platform"
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js"
import { isJsonContentType, isLegacyRequest, type McpHttpHandler } from "@modelcontextprotocol/server"
import { Cause, Effect, Either, Exit, Option, Runtime } from "effect"
import type { VerifiedToken } from "../../auth/TokenVerifier.js"
import type { Scope } from "../../domain/Scope.js"
import { fiberExit } from "../fiberExit.js"
import * as Policy from "../httpPolicy.js"
import { authInfoOf, insufficientScope } from "./auth.js"
import { type ClientWatch, deliver, jsonRpcError, readJsonBody, send, UNKNOWN_HOST, watchClient } from "./messages.js"
import type { Sessions } from "./sessions.js"

export interface McpRouteOptions {
  readonly endpoints: Policy.PublicEndpoints
  /** The `host[:port]` values this server answers to. */
  readonly hosts: ReadonlySet<string>
  /** The verified token of an Authorization header, or the answer that refuses it. */
  readonly authenticate: (authorization: string | undefined) => Effect.Effect<VerifiedToken, HttpServerResponse.HttpServerResponse>
  readonly sessions: Sessions
  /** MCP 2026-07-28 (stateless): requests that carry the per-request `_meta` envelope go here. */
  readonly modern: McpHttpHandler
  readonly toolScopes: ReadonlyMap<string, ReadonlyArray<Scope>>
  readonly maxBodyBytes: number
  /** Runs the token check and the session Effects; logs go to its logger. */
  readonly runtime: Runtime.Runtime<never>
}

/** The methods of `/mcp`. */
export const MCP_METHODS = "GET, POST, DELETE"

/** Whether a request target is `/mcp`, with or without a query (paths match as written: no case folding, no trailing or doubled slashes). */
export const isMcpTarget = (url: string | undefined): boolean =>
  url !== undefined && url.startsWith("/mcp") && (url.length === 4 || url[4] === "?")

const METHOD_NOT_ALLOWED = jsonRpcError(405, -32000, "Method not allowed.", null, { allow: MCP_METHODS })
const FORBIDDEN_ORIGIN = jsonRpcError(403, -32000, "Forbidden: this Origin may not use this server")
const SESSION_NOT_FOUND = jsonRpcError(404, -32001, "Session not found")
const SESSION_REQUIRED = jsonRpcError(400, -32000, "Bad Request: Mcp-Session-Id header is required")
const NOT_JSON = jsonRpcError(415, -32000, "Unsupported Media Type: Content-Type must be application/json")
const INTERNAL_ERROR = jsonRpcError(500, -32603, "Internal error")

export const makeMcpRoute = (options: McpRouteOptions) => {
  const { endpoints: ep, sessions } = options
  const runFork = Runtime.runFork(options.runtime)
  const runPromise = Runtime.runPromise(options.runtime)

  /**
   * A Fetch `Request` with the original headers minus credentials (the
   * transport passes headers on to request handlers); the body, when any, is
   * passed to the transport already parsed.
   */
  const toWebRequest = (req: IncomingMessage): Request =>
    new Request(new URL(req.url ?? "/mcp", ep.publicUrl), { method: req.method ?? "GET", headers: Policy.forwardedHeaders(req.headers) })

  /** A 2026-07-28 request, answered by the stateless handler; a client that goes away aborts it (the handler stops its tool call). */
  const answerModern = async (request: Request, res: ServerResponse, client: ClientWatch, body: Option.Option<unknown>, verified: VerifiedToken) => {
    const controller = new AbortController()
    const abort = () => controller.abort()
    res.once("close", abort)
    try {
      let response: Response
      try {
        response = await options.modern.fetch(new Request(request, { signal: controller.signal }), {
          authInfo: authInfoOf(verified, ep),
          ...(Option.isSome(body) ? { parsedBody: body.value } : {})
        })
      } catch (error) {
        runFork(Effect.logError("MCP 2026-07-28 handler failed", error instanceof Error ? error.message : ""))
        return send(res, INTERNAL_ERROR)
      }
      await deliver(response, res, client)
    } finally {
      res.off("close", abort)
    }
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!Policy.hostAllowed(options.hosts, req.headers.host)) return send(res, UNKNOWN_HOST)
    const method = req.method
    if (method !== "GET" && method !== "POST" && method !== "DELETE") return send(res, METHOD_NOT_ALLOWED)
    if (!Policy.originAllowed(options.hosts, req.headers.origin)) return send(res, FORBIDDEN_ORIGIN)
    const client = watchClient(res)
    const verifying = fiberExit(runFork(options.authenticate(req.headers.authorization)))
    const checked = Exit.isExit(verifying) ? verifying : await verifying
    if (Exit.isFailure(checked)) {
      const refusal = Cause.failureOption(checked.cause)
      if (Option.isNone(refusal)) throw Cause.squash(checked.cause)
      return send(res, refusal.value)
    }
    const verified = checked.value
    let body: Option.Option<unknown> = Option.none()
    if (method === "POST") {
      const read = await readJsonBody(req, options.maxBodyBytes)
      if (Either.isLeft(read)) return send(res, read.left)
      body = Option.some(read.right)
    }
    const request = toWebRequest(req)
    const legacy = await isLegacyRequest(request, Option.getOrUndefined(body), { maxRequestBodySize: options.maxBodyBytes })
    if (!legacy) {
      if (method === "POST" && !isJsonContentType(req.headers["content-type"] ?? null)) return send(res, NOT_JSON)
      const denial = Option.isSome(body) ? Policy.scopeDenial(body.value, options.toolScopes, verified.scopes) : undefined
      if (denial !== undefined) return send(res, insufficientScope(ep, denial))
      return answerModern(request, res, client, body, verified)
    }
    const sessionId = req.headers["mcp-session-id"]
    const existing = sessionId === undefined ? undefined : sessions.find(String(sessionId), verified.userId)
    if (sessionId !== undefined && existing === undefined) {
      if (sessions.exists(String(sessionId))) {
        runFork(Effect.logWarning("refused a request for a session opened by another user", { user: verified.userId }))
      }
      return send(res, SESSION_NOT_FOUND)
    }
    if (existing === undefined && !(Option.isSome(body) && isInitializeRequest(body.value))) return send(res, SESSION_REQUIRED)
    const denial = Option.isSome(body) ? Policy.scopeDenial(body.value, options.toolScopes, verified.scopes) : undefined
    if (denial !== undefined) return send(res, insufficientScope(ep, denial))
    const authInfo = authInfoOf(verified, ep)
    if (existing !== undefined) return sessions.forward(existing, request, body, authInfo, res, client)
    // A new session joins the table once its initialize succeeds; then its user and everyone stay within the caps.
    const opened = await runPromise(sessions.open(verified.userId))
    try {
      await sessions.forward(opened, request, body, authInfo, res, client)
    } finally {
      await runPromise(sessions.settleOpened(opened))
    }
  }

  return (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((error: unknown) => {
      runFork(Effect.logError("an /mcp request failed", error instanceof Error ? `${error.name}: ${error.message}` : typeof error))
      try {
        if (res.headersSent) res.destroy()
        else send(res, INTERNAL_ERROR)
      } catch {
        res.destroy()
      }
    })
  }
}
