/**
 * MCP Streamable HTTP for many users (CONTRACT §1 `http`, §4): a Node HTTP
 * server on the given address, answering the routes of `routes.ts`, with
 * bearer identity from `auth.ts` and MCP sessions from `sessions.ts`.
 *
 * The transport never sees credentials (`Authorization`, `Cookie`): it hands
 * request headers on to every request handler. Shutdown is prompt even while
 * clients hold event streams open.
 */
import { createServer } from "node:http"
import { FetchHttpClient, HttpMiddleware, HttpRouter } from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { type Duration, Effect, FiberRef, identity, Option, type Redacted, Runtime } from "effect"
import type { ElicitationCompletions } from "../../auth/Elicitation.js"
import * as TokenVerifier from "../../auth/TokenVerifier.js"
import type { LoginTasks } from "../../tools/loginTasks.js"
import type { AnyTool } from "../../tools/Tool.js"
import * as Policy from "../httpPolicy.js"
import { makeModernHandler } from "../modern.js"
import type { RequestServices } from "../server.js"
import { makeToolCalls } from "../toolCalls.js"
import { identifyFromAuthInfo, makeAuthenticate } from "./auth.js"
import { DEFAULT_MAX_BODY_BYTES } from "./messages.js"
import { isMcpTarget, makeMcpRoute } from "./mcpRoute.js"
import { makeRoutes } from "./routes.js"
import { makeSessions } from "./sessions.js"

export { DEFAULT_MAX_BODY_BYTES } from "./messages.js"
export { DEFAULT_MAX_SESSIONS, DEFAULT_MAX_SESSIONS_PER_USER, DEFAULT_SESSION_IDLE_TIMEOUT } from "./sessions.js"

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
  /** Logins offered as tasks to 2026-07-28 clients that declare the tasks extension. */
  readonly tasks?: LoginTasks<R>
  readonly maxBodyBytes?: number
  /** A session with nothing open and unused this long is closed (default 30 minutes). */
  readonly sessionIdleTimeout?: Duration.DurationInput
  /** Sessions one user may have; opening one more closes one of theirs (default 20). */
  readonly maxSessionsPerUser?: number
  /** Sessions of all users together; opening one more closes the one idle longest (default 1000). */
  readonly maxSessions?: number
  /** Seals the state of a login URL shown to a 2026-07-28 client; replicas must share it (random when absent). */
  readonly requestStateKey?: Redacted.Redacted<Uint8Array>
  /** Largest discovery document or key set accepted from the issuer (default 10 MiB). */
  readonly maxResponseBytes?: number
  /** How long one fetch from the issuer may take, and how long a failure to reach it is remembered. */
  readonly verifier?: Pick<TokenVerifier.TokenVerifierConfig, "issuerTimeout" | "failureCooldown">
}

/** Paths match as written: no case folding, no trailing or doubled slashes. */
const EXACT_PATHS = { caseSensitive: true, ignoreTrailingSlash: false, ignoreDuplicateSlashes: false } as const

export const serveHttp = <R>(options: ServeHttpOptions<R>) =>
  Effect.gen(function* () {
    const node = createServer()
    // Listening only: requests are dispatched below.
    const httpServer = yield* NodeHttpServer.make(() => node, { host: options.host, port: options.port })
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
    const hosts = Policy.allowedHosts({ host: options.host, port }, publicUrl)
    const verifier = yield* TokenVerifier.make({
      issuer: options.issuer,
      audience: Option.getOrElse(options.audience, () => ep.resource),
      jwksUrl: options.jwksUrl,
      ...(options.maxResponseBytes !== undefined ? { maxResponseBytes: options.maxResponseBytes } : {}),
      ...options.verifier
    }).pipe(Effect.provide(FetchHttpClient.layer))
    const calls = makeToolCalls({ tools: options.tools, runtime: options.runtime, ...(options.tasks !== undefined ? { tasks: options.tasks } : {}) })
    const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
    const runFork = Runtime.runFork(options.runtime)
    const modern = makeModernHandler({
      calls,
      identify: identifyFromAuthInfo,
      maxBodyBytes,
      ...(options.requestStateKey !== undefined ? { requestStateKey: options.requestStateKey } : {}),
      onError: (error) => runFork(Effect.logDebug("MCP 2026-07-28 protocol error", `${error.name}: ${error.message}`))
    })
    yield* Effect.addFinalizer(() => Effect.promise(() => modern.close()).pipe(Effect.timeout("1 second"), Effect.ignore))
    const sessions = yield* makeSessions({
      tools: options.tools,
      runtime: options.runtime,
      calls,
      ...(options.sessionIdleTimeout !== undefined ? { idleTimeout: options.sessionIdleTimeout } : {}),
      ...(options.maxSessionsPerUser !== undefined ? { maxPerUser: options.maxSessionsPerUser } : {}),
      ...(options.maxSessions !== undefined ? { maxSessions: options.maxSessions } : {})
    })
    const mcp = makeMcpRoute({
      endpoints: ep,
      hosts,
      authenticate: makeAuthenticate(verifier, ep),
      sessions,
      modern,
      toolScopes: new Map(options.tools.map((tool) => [tool.name, tool.scopes])),
      maxBodyBytes,
      runtime: yield* Effect.runtime<never>()
    })
    const app = yield* HttpRouter.toHttpApp(makeRoutes({ endpoints: ep, issuer: options.issuer, hosts })).pipe(
      HttpRouter.withRouterConfig(EXACT_PATHS)
    )
    // With tracing off (the command line), the server's per-request span is skipped, not made as a no-op
    // (it copies and redacts every header and parses the URL on each request).
    const tracing = yield* FiberRef.get(FiberRef.currentTracerEnabled)
    const routed = yield* NodeHttpServer.makeHandler(app).pipe(
      tracing ? identity : Effect.locally(HttpMiddleware.currentTracerDisabledWhen, () => true)
    )
    // `/mcp` first, at the Node level (mcpRoute.ts); the router answers the rest.
    node.on("request", (req, res) => (isMcpTarget(req.url) ? mcp(req, res) : routed(req, res)))
    yield* Effect.logInfo(
      `listening on http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${port}; MCP at ${ep.resource}`
    )
    return { port, endpoints: ep, sessions: sessions.size } as const
  })
