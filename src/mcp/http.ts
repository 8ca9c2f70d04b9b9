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
 */
import { randomUUID } from "node:crypto"
import { createServer } from "node:http"
import { FetchHttpClient, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import type { HttpServer } from "@effect/platform/HttpServer"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js"
import type { Server } from "@modelcontextprotocol/sdk/server/index.js"
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js"
import { ErrorCode, isInitializeRequest, McpError } from "@modelcontextprotocol/sdk/types.js"
import { Effect, Option, Redacted, type Runtime } from "effect"
import type { CurrentUserShape } from "../auth/CurrentUser.js"
import type { ElicitationCompletions } from "../auth/Elicitation.js"
import * as TokenVerifier from "../auth/TokenVerifier.js"
import type { UserId } from "../domain/Ids.js"
import type { Scope } from "../domain/Scope.js"
import type { AnyTool } from "../tools/Tool.js"
import * as Policy from "./httpPolicy.js"
import { type Extra, makeMcpServer, type RequestServices } from "./server.js"

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024

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
}

interface Session {
  readonly server: Server
  readonly transport: WebStandardStreamableHTTPServerTransport
  readonly userId: UserId
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

/** The request body as JSON, within the size limit; a ready error response otherwise. */
const readJsonBody = (req: HttpServerRequest.HttpServerRequest, max: number) => {
  const declared = Number(req.headers["content-length"] ?? Number.NaN)
  if (Number.isFinite(declared) && declared > max) return Effect.fail(bodyTooLarge(max))
  return req.text.pipe(
    HttpIncomingMessage.withMaxBodySize(Option.some(max)),
    Effect.mapError((error) =>
      error.cause instanceof Error && error.cause.message.includes("maxBytes")
        ? bodyTooLarge(max)
        : jsonRpcError(400, -32700, "Parse error: could not read the request body")
    ),
    Effect.flatMap((text) =>
      Effect.try({
        try: (): unknown => JSON.parse(text),
        catch: () => jsonRpcError(400, -32700, "Parse error: Invalid JSON")
      })
    )
  )
}

/** A Fetch `Request` with the original headers; the body, when any, is passed to the transport already parsed. */
const toWebRequest = (req: HttpServerRequest.HttpServerRequest, base: string): Request => {
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === "string") headers.set(name, value)
  }
  return new Request(new URL(req.url, base), { method: req.method, headers })
}

export const serveHttp = <R>(options: ServeHttpOptions<R>) =>
  Effect.gen(function* () {
    const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
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
      jwksUrl: options.jwksUrl
    }).pipe(Effect.provide(FetchHttpClient.layer))
    const toolScopes = new Map(options.tools.map((tool) => [tool.name, tool.scopes]))
    const metadata = Policy.resourceMetadata(ep, options.issuer)

    const sessions = new Map<string, Session>()
    yield* Effect.addFinalizer(() =>
      Effect.forEach(
        Array.from(sessions.values()),
        (session) => Effect.promise(() => session.server.close()).pipe(Effect.timeout("1 second"), Effect.ignore),
        { concurrency: "unbounded", discard: true }
      ).pipe(Effect.zipRight(Effect.logDebug(`closed ${sessions.size} MCP session(s)`)))
    )

    const openSession = (userId: UserId) =>
      Effect.promise(async () => {
        const server = makeMcpServer({ tools: options.tools, runtime: options.runtime, identify })
        const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => {
            sessions.set(id, { server, transport, userId })
          },
          onsessionclosed: (id) => {
            sessions.delete(id)
          }
        })
        server.onclose = () => {
          if (transport.sessionId !== undefined) sessions.delete(transport.sessionId)
        }
        server.onerror = (error) => {
          Effect.runFork(Effect.logDebug("MCP protocol error", String(error)))
        }
        await server.connect(transport)
        return transport
      })

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
          IssuerUnavailable: (e) =>
            Effect.logWarning("cannot verify bearer tokens: the issuer is unavailable", { reason: e.reason }).pipe(
              Effect.zipRight(
                Effect.fail(
                  HttpServerResponse.unsafeJson(
                    { error: "temporarily_unavailable", error_description: "the token issuer cannot be reached" },
                    { status: 503, headers: { "retry-after": "5" } }
                  )
                )
              )
            )
        })
      )
    }

    const forward = (
      transport: WebStandardStreamableHTTPServerTransport,
      req: HttpServerRequest.HttpServerRequest,
      body: Option.Option<unknown>,
      authInfo: AuthInfo
    ) =>
      Effect.tryPromise(() =>
        transport.handleRequest(toWebRequest(req, ep.publicUrl), {
          authInfo,
          ...(Option.isSome(body) ? { parsedBody: body.value } : {})
        })
      ).pipe(
        Effect.map(HttpServerResponse.fromWeb),
        Effect.catchAll((error) =>
          Effect.logError("MCP transport failed", error).pipe(Effect.as(jsonRpcError(500, ErrorCode.InternalError, "Internal error")))
        )
      )

    const mcp = Effect.gen(function* () {
      const req = yield* HttpServerRequest.HttpServerRequest
      if (!Policy.originAllowed(hosts, req.headers["origin"])) {
        return jsonRpcError(403, -32000, "Forbidden: this Origin may not use this server")
      }
      const verified = yield* authenticate(req)
      const body: Option.Option<unknown> = req.method === "POST" ? Option.some(yield* readJsonBody(req, maxBody)) : Option.none()
      const sessionId = req.headers["mcp-session-id"]
      let transport: WebStandardStreamableHTTPServerTransport
      if (sessionId !== undefined) {
        const session = sessions.get(sessionId)
        if (session === undefined) return jsonRpcError(404, -32001, "Session not found")
        if (session.userId !== verified.userId) {
          yield* Effect.logWarning("refused a request for a session opened by another user", { user: verified.userId })
          return jsonRpcError(404, -32001, "Session not found")
        }
        transport = session.transport
      } else {
        const opening = Option.isSome(body) && isInitializeRequest(body.value)
        if (!opening) return jsonRpcError(400, -32000, "Bad Request: Mcp-Session-Id header is required")
        transport = yield* openSession(verified.userId)
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
      return yield* forward(transport, req, body, authInfo)
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
