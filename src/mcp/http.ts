/**
 * MCP Streamable HTTP at `/mcp` for many users (CONTRACT §1 `http`, §4).
 *
 * Every `/mcp` request carries a bearer JWT; the verified `sub` is the user.
 * Each MCP session gets its own `Server` + web-standard transport and is bound
 * to the user who opened it: another user's token on that session id gets the
 * same 404 as an unknown session (nothing tells them the session exists; a
 * well-behaved client simply re-initialises). A `tools/call` of a tool whose
 * scopes the token lacks is refused with 403 `insufficient_scope` before it
 * reaches the session; tools/list is filtered by the same scopes inside the
 * server. `GET /healthz` is public; the RFC 9728 metadata is public too.
 *
 * The transport never sees credentials (`Authorization`, `Cookie`): it hands
 * request headers on to every request handler. Sessions end on DELETE, when
 * idle (nothing open and unused for `sessionIdleTimeout`), or when their user
 * opens more than `maxSessionsPerUser` or everyone together more than
 * `maxSessions` (the one idle longest goes, else the least recently used);
 * an ended session's id answers 404, so its client re-initialises.
 *
 * A tool call ends with its client: when the client closes the POST's
 * response stream before the answer, the requests of that POST are cancelled
 * as if it had sent `notifications/cancelled` (there is no event store, so
 * nothing could ever deliver their answers).
 */
import { randomUUID } from "node:crypto"
import { createServer } from "node:http"
import { FetchHttpClient, HttpBody, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import type { HttpServer } from "@effect/platform/HttpServer"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as NodeStream from "@effect/platform-node/NodeStream"
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js"
import type { Server } from "@modelcontextprotocol/sdk/server/index.js"
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js"
import { ErrorCode, isInitializeRequest, McpError } from "@modelcontextprotocol/sdk/types.js"
import { Clock, Data, Duration, Effect, Exit, identity, Option, Redacted, Runtime, Schedule, Stream } from "effect"
import type { CurrentUserShape } from "../auth/CurrentUser.js"
import type { ElicitationCompletions } from "../auth/Elicitation.js"
import * as TokenVerifier from "../auth/TokenVerifier.js"
import { collectAtMost } from "../domain/boundedBody.js"
import type { UserId } from "../domain/Ids.js"
import type { Scope } from "../domain/Scope.js"
import type { AnyTool } from "../tools/Tool.js"
import * as Policy from "./httpPolicy.js"
import { type Extra, makeMcpServer, type RequestServices } from "./server.js"

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024
export const DEFAULT_SESSION_IDLE_TIMEOUT: Duration.Duration = Duration.minutes(30)
export const DEFAULT_MAX_SESSIONS_PER_USER = 20
export const DEFAULT_MAX_SESSIONS = 1000

export interface ServeHttpOptions<R> {
  readonly host: string
  readonly port: number
  readonly issuer: string
  readonly jwksUrl: Option.Option<URL>
  /** Unset = `<public URL>/mcp`. */
  readonly audience: Option.Option<string>
  /** Unset = `http://<host>:<bound port>`. */
  readonly publicUrl: Option.Option<URL>
  readonly tools: ReadonlyArray<AnyTool<R | RequestServices>>
  readonly runtime: Runtime.Runtime<R | ElicitationCompletions>
  readonly maxBodyBytes?: number
  /** A session with nothing open and unused this long is closed (default 30 minutes). */
  readonly sessionIdleTimeout?: Duration.DurationInput
  /** Sessions one user may have; opening one more closes one of theirs (default 20). */
  readonly maxSessionsPerUser?: number
  /** Sessions of all users together; opening one more closes the one idle longest (default 1000). */
  readonly maxSessions?: number
  /** Largest discovery document or key set accepted from the issuer (default 10 MiB). */
  readonly maxResponseBytes?: number
  /** How long one fetch from the issuer may take, and how long a failure to reach it is remembered. */
  readonly verifier?: Pick<TokenVerifier.TokenVerifierConfig, "issuerTimeout" | "failureCooldown">
}

interface Session extends Policy.SessionUse {
  readonly server: Server
  readonly transport: WebStandardStreamableHTTPServerTransport
  readonly userId: UserId
  lastUsed: number
  touched: number
  open: number
}

/** `authInfo.extra` key under which the verified user id travels to `identify`. */
const USER_ID = "userId"

/** The caller of an MCP request, from the authInfo this module attached to it. */
const identify = (extra: Extra): CurrentUserShape => {
  const userId = extra.authInfo?.extra?.[USER_ID]
  if (extra.authInfo === undefined || typeof userId !== "string") {
    // Every /mcp request is authenticated before it reaches a transport; this is a bug.
    throw new McpError(ErrorCode.InternalError, "Internal error")
  }
  return { userId: userId as UserId, tokenScopes: extra.authInfo.scopes as ReadonlyArray<Scope> }
}

const jsonRpcError = (status: number, code: number, message: string, id: string | number | null = null, headers: Record<string, string> = {}) =>
  HttpServerResponse.unsafeJson({ jsonrpc: "2.0", error: { code, message }, id }, { status, headers })

const bearerToken = (authorization: string | undefined): Option.Option<string> | undefined => {
  if (authorization === undefined || authorization.trim() === "") return undefined
  const match = /^Bearer[ \t]+(\S+)\s*$/i.exec(authorization)
  return match?.[1] === undefined ? Option.none() : Option.some(match[1])
}

const bodyTooLarge = (max: number) =>
  jsonRpcError(413, -32000, `Request body exceeds ${max} bytes`)

class BodyTooLarge extends Data.TaggedError("BodyTooLarge") {}

/**
 * The request body as JSON, within the size limit; a ready error response
 * otherwise. A body without Content-Length is counted as it arrives; past the
 * limit the rest is read and dropped (left unread, the socket would be reset
 * before the client has read the 413), until Node's request timeout at most.
 */
const readJsonBody = (req: HttpServerRequest.HttpServerRequest, max: number) => {
  const declared = Number(req.headers["content-length"] ?? Number.NaN)
  if (Number.isFinite(declared) && declared > max) return Effect.fail(bodyTooLarge(max))
  const source = NodeHttpServerRequest.toIncomingMessage(req)
  return NodeStream.fromReadable<unknown, Uint8Array>(() => source, identity, { closeOnDone: false }).pipe(
    collectAtMost(max, () => new BodyTooLarge()),
    Effect.mapError((error) => {
      if (!(error instanceof BodyTooLarge)) return jsonRpcError(400, -32700, "Parse error: could not read the request body")
      source.resume()
      return bodyTooLarge(max)
    }),
    Effect.flatMap((bytes) =>
      Effect.try({
        try: (): unknown => JSON.parse(new TextDecoder().decode(bytes)),
        catch: () => jsonRpcError(400, -32700, "Parse error: Invalid JSON")
      })
    )
  )
}

/**
 * A Fetch `Request` with the original headers minus credentials (the
 * transport passes headers on to request handlers); the body, when any, is
 * passed to the transport already parsed.
 */
const toWebRequest = (req: HttpServerRequest.HttpServerRequest, base: string): Request =>
  new Request(new URL(req.url, base), { method: req.method, headers: Policy.forwardedHeaders(req.headers) })

/** An SSE comment (clients ignore it). */
const STREAM_OPENED = new TextEncoder().encode(": stream open\n\n")

/** Name and message only: an error from the transport may carry the request (and its headers). */
const describeError = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : typeof error

export const serveHttp = <R>(options: ServeHttpOptions<R>) =>
  Effect.gen(function* () {
    const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
    const idleMs = Duration.toMillis(options.sessionIdleTimeout ?? DEFAULT_SESSION_IDLE_TIMEOUT)
    const maxPerUser = Math.max(1, Math.floor(options.maxSessionsPerUser ?? DEFAULT_MAX_SESSIONS_PER_USER))
    const maxSessions = Math.max(1, Math.floor(options.maxSessions ?? DEFAULT_MAX_SESSIONS))
    // Through the tools' runtime, so these logs reach its (stderr) logger at its level.
    const runFork = Runtime.runFork(options.runtime)
    const node = createServer()
    const httpServer: HttpServer = yield* NodeHttpServer.make(() => node, { host: options.host, port: options.port })
    // @effect/platform-node's own release waits for every open connection (an SSE
    // stream never ends by itself): drop them so shutdown is prompt.
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        node.close()
        node.closeAllConnections()
      })
    )
    const port = httpServer.address._tag === "TcpAddress" ? httpServer.address.port : options.port
    const publicUrl = Option.getOrElse(options.publicUrl, () => Policy.defaultPublicUrl(options.host, port))
    const ep = Policy.endpoints(publicUrl)
    const audience = Option.getOrElse(options.audience, () => ep.resource)
    const hosts = Policy.allowedHosts({ host: options.host, port }, publicUrl)
    const verifier = yield* TokenVerifier.make({
      issuer: options.issuer,
      audience,
      jwksUrl: options.jwksUrl,
      ...(options.maxResponseBytes !== undefined ? { maxResponseBytes: options.maxResponseBytes } : {}),
      ...options.verifier
    }).pipe(Effect.provide(FetchHttpClient.layer))
    const toolScopes = new Map(options.tools.map((tool) => [tool.name, tool.scopes]))
    const metadata = Policy.resourceMetadata(ep, options.issuer)

    const sessions = new Map<string, Session>()
    /** Orders uses of sessions (the Clock's milliseconds tie). */
    let uses = 0
    const touch = (session: Session, now: number) => {
      session.lastUsed = now
      session.touched = ++uses
    }
    yield* Effect.addFinalizer(() =>
      Effect.forEach(
        Array.from(sessions.values()),
        (session) => Effect.tryPromise(() => session.server.close()).pipe(Effect.timeout("1 second"), Effect.ignore),
        { concurrency: "unbounded", discard: true }
      ).pipe(Effect.zipRight(Effect.logDebug(`closed ${sessions.size} MCP session(s)`)))
    )

    /** A new Server + transport for `userId`; it joins `sessions` once its initialize succeeds. */
    const openSession = (userId: UserId) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.promise(async () => {
          const server = makeMcpServer({ tools: options.tools, runtime: options.runtime, identify })
          const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
            sessionIdGenerator: () => randomUUID(),
            onsessioninitialized: (id) => {
              sessions.set(id, session)
            },
            onsessionclosed: (id) => {
              sessions.delete(id)
            }
          })
          const session: Session = { server, transport, userId, lastUsed: now, touched: ++uses, open: 0 }
          server.onclose = () => {
            if (transport.sessionId !== undefined && sessions.get(transport.sessionId) === session) {
              sessions.delete(transport.sessionId)
            }
          }
          server.onerror = (error) => {
            runFork(Effect.logDebug("MCP protocol error", describeError(error)))
          }
          await server.connect(transport)
          return session
        })
      )

    /** Closing the Server closes its transport and every stream of it; the id is forgotten first, so it answers 404. */
    const closeSession = (id: string, why: string) =>
      Effect.suspend(() => {
        const session = sessions.get(id)
        if (session === undefined) return Effect.void
        sessions.delete(id)
        return Effect.tryPromise(() => session.server.close()).pipe(
          Effect.timeout("1 second"),
          Effect.ignore,
          Effect.zipRight(Effect.logDebug(`closed an MCP session: ${why}`, { user: session.userId }))
        )
      })

    /** After an initialize: drop the Server if no session came of it, else keep its user and everyone within the caps. */
    const settleOpened = (session: Session) =>
      Effect.gen(function* () {
        const id = session.transport.sessionId
        if (id === undefined || sessions.get(id) !== session) {
          return yield* Effect.tryPromise(() => session.server.close()).pipe(Effect.timeout("1 second"), Effect.ignore)
        }
        const mine = Array.from(sessions).filter(([, s]) => s.userId === session.userId)
        yield* Effect.forEach(Policy.overCap(mine, maxPerUser, id), (old) => closeSession(old, "over the per-user cap"), {
          discard: true
        })
        yield* Effect.forEach(Policy.overCap(Array.from(sessions), maxSessions, id), (old) => closeSession(old, "over the server-wide cap"), {
          discard: true
        })
      })

    const sweep = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const idle = Array.from(sessions).filter(([, s]) => Policy.isIdle(s, now, idleMs)).map(([id]) => id)
      yield* Effect.forEach(idle, (id) => closeSession(id, "idle"), { discard: true })
    })
    yield* sweep.pipe(
      Effect.repeat(Schedule.spaced(Duration.millis(Math.min(Math.max(idleMs / 4, 10), 60_000)))),
      Effect.forkScoped
    )

    const unauthorized = (tokenGiven: boolean, reason: string) =>
      HttpServerResponse.unsafeJson(
        tokenGiven
          ? { error: "invalid_token", error_description: reason }
          : { error: "unauthorized", error_description: reason },
        { status: 401, headers: { "www-authenticate": Policy.unauthorizedChallenge(ep, tokenGiven) } }
      )

    const authenticate = (req: HttpServerRequest.HttpServerRequest) => {
      const token = bearerToken(req.headers["authorization"])
      if (token === undefined) return Effect.fail(unauthorized(false, "a bearer token is required"))
      if (Option.isNone(token)) return Effect.fail(unauthorized(true, "the Authorization header is not a bearer token"))
      return verifier.verify(Redacted.make(token.value)).pipe(
        Effect.catchTags({
          TokenRejected: (e) =>
            Effect.logDebug("bearer token refused", { reason: e.reason }).pipe(
              Effect.zipRight(Effect.fail(unauthorized(true, e.reason)))
            ),
          // The verifier logs each failed attempt to reach the issuer; requests answered from its cooldown are not worth a line each.
          IssuerUnavailable: (e) =>
            Effect.logDebug("bearer token not checked: the issuer is unavailable", { reason: e.reason }).pipe(
              Effect.zipRight(Clock.currentTimeMillis),
              Effect.flatMap((now) =>
                Effect.fail(
                  HttpServerResponse.unsafeJson(
                    { error: "temporarily_unavailable", error_description: "the token issuer cannot be reached" },
                    { status: 503, headers: { "retry-after": String(Policy.retryAfterSeconds(e.retryAt, now)) } }
                  )
                )
              )
            )
        })
      )
    }

    /**
     * The client closed the stream that was to carry the answers to these
     * requests: cancel them as `notifications/cancelled` would, which aborts
     * their handlers' signal and so interrupts the tools.
     */
    const cancelRequests = (session: Session, ids: ReadonlyArray<string | number>) =>
      Effect.sync(() => {
        for (const requestId of ids) {
          session.transport.onmessage?.({
            jsonrpc: "2.0",
            method: "notifications/cancelled",
            params: { requestId, reason: "the client closed the connection" }
          })
        }
      }).pipe(Effect.zipRight(Effect.logDebug(`cancelled ${ids.length} request(s): the client went away`, { user: session.userId })))

    /**
     * Marks the session in use until the response is over: for a streamed
     * answer (SSE, a GET stream) that is when the stream ends or the client
     * goes away, otherwise as soon as the response is ready.
     */
    const forward = (
      session: Session,
      req: HttpServerRequest.HttpServerRequest,
      body: Option.Option<unknown>,
      authInfo: AuthInfo
    ) =>
      Effect.gen(function* () {
        touch(session, yield* Clock.currentTimeMillis)
        session.open += 1
        let released = false
        const release = Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.sync(() => {
            if (released) return
            released = true
            session.open -= 1
            touch(session, now)
          })
        )
        const requests = Option.match(body, { onNone: () => [], onSome: Policy.requestIds })
        return yield* Effect.tryPromise(() =>
          session.transport.handleRequest(toWebRequest(req, ep.publicUrl), {
            authInfo,
            ...(Option.isSome(body) ? { parsedBody: body.value } : {})
          })
        ).pipe(
          Effect.flatMap((web) => {
            const response = HttpServerResponse.fromWeb(web)
            const streamed = response.body
            if (streamed._tag !== "Stream") return Effect.as(release, response)
            // A GET stream may stay silent for a long time: an SSE comment first puts
            // the response head on the wire at once, so the client knows it is open.
            const body = req.method === "GET" ? Stream.concat(Stream.make(STREAM_OPENED), streamed.stream) : streamed.stream
            const ended = (exit: Exit.Exit<unknown, unknown>) =>
              Exit.isSuccess(exit) || requests.length === 0 ? release : Effect.zipRight(cancelRequests(session, requests), release)
            return Effect.succeed(
              HttpServerResponse.setBody(
                response,
                HttpBody.stream(body.pipe(Stream.ensuringWith(ended)), streamed.contentType, streamed.contentLength)
              )
            )
          }),
          Effect.catchAll((error) =>
            Effect.logError("MCP transport failed", describeError(error.error)).pipe(
              Effect.zipRight(release),
              Effect.as(jsonRpcError(500, ErrorCode.InternalError, "Internal error"))
            )
          ),
          Effect.onInterrupt(() => release)
        )
      })

    const mcp = Effect.gen(function* () {
      const req = yield* HttpServerRequest.HttpServerRequest
      if (!Policy.originAllowed(hosts, req.headers["origin"])) {
        return jsonRpcError(403, -32000, "Forbidden: this Origin may not use this server")
      }
      const verified = yield* authenticate(req)
      const body: Option.Option<unknown> = req.method === "POST" ? Option.some(yield* readJsonBody(req, maxBody)) : Option.none()
      const sessionId = req.headers["mcp-session-id"]
      let existing: Session | undefined
      if (sessionId !== undefined) {
        existing = sessions.get(sessionId)
        if (existing === undefined) return jsonRpcError(404, -32001, "Session not found")
        if (existing.userId !== verified.userId) {
          yield* Effect.logWarning("refused a request for a session opened by another user", { user: verified.userId })
          return jsonRpcError(404, -32001, "Session not found")
        }
      } else if (!(Option.isSome(body) && isInitializeRequest(body.value))) {
        return jsonRpcError(400, -32000, "Bad Request: Mcp-Session-Id header is required")
      }
      if (Option.isSome(body)) {
        const denial = Policy.scopeDenial(body.value, toolScopes, verified.scopes)
        if (denial !== undefined) {
          return jsonRpcError(
            403,
            -32003,
            `Insufficient scope: ${denial.tools.join(", ")} needs ${denial.needed.join(", ")}; the token lacks ${denial.missing.join(", ")}`,
            denial.id,
            { "www-authenticate": Policy.insufficientScopeChallenge(ep, denial.needed) }
          )
        }
      }
      const authInfo: AuthInfo = {
        // The tools never need the raw token; keep it out of everything they see.
        token: "[redacted]",
        clientId: verified.clientId,
        scopes: [...verified.scopes],
        resource: new URL(ep.resource),
        ...(verified.expiresAt !== undefined ? { expiresAt: verified.expiresAt } : {}),
        extra: { [USER_ID]: verified.userId }
      }
      if (existing !== undefined) return yield* forward(existing, req, body, authInfo)
      const opened = yield* openSession(verified.userId)
      const response = yield* forward(opened, req, body, authInfo)
      yield* settleOpened(opened)
      return response
    }).pipe(Effect.merge)

    const metadataResponse = HttpServerResponse.unsafeJson(metadata, {
      headers: { "access-control-allow-origin": "*", "cache-control": "public, max-age=3600" }
    })

    const app = Effect.gen(function* () {
      const req = yield* HttpServerRequest.HttpServerRequest
      const path = new URL(req.url, "http://x").pathname
      if (path === "/healthz" && (req.method === "GET" || req.method === "HEAD")) {
        return HttpServerResponse.unsafeJson({ status: "ok" })
      }
      if (!Policy.hostAllowed(hosts, req.headers["host"])) {
        return HttpServerResponse.unsafeJson({ error: "forbidden", error_description: "unknown Host" }, { status: 403 })
      }
      if (path === "/mcp") return yield* mcp
      if (path === "/.well-known/oauth-protected-resource" || path === "/.well-known/oauth-protected-resource/mcp") {
        if (req.method === "GET" || req.method === "HEAD") return metadataResponse
        if (req.method === "OPTIONS") {
          return HttpServerResponse.empty({
            status: 204,
            headers: { "access-control-allow-origin": "*", "access-control-allow-methods": "GET, HEAD, OPTIONS" }
          })
        }
        return HttpServerResponse.empty({ status: 405, headers: { allow: "GET, HEAD, OPTIONS" } })
      }
      return HttpServerResponse.unsafeJson({ error: "not_found" }, { status: 404 })
    })

    yield* httpServer.serve(app)
    yield* Effect.logInfo(
      `listening on http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${port}; MCP at ${ep.resource}`
    )
    return { port, endpoints: ep, sessions: () => sessions.size } as const
  })
