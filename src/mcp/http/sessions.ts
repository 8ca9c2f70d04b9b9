/**
 * The MCP sessions of http mode: each has its own `Server` and web-standard
 * transport and belongs to the user who opened it. Sessions end on DELETE,
 * when idle (nothing open and unused for the idle timeout), or when their
 * user opens more than the per-user cap or everyone together more than the
 * server-wide cap (the one idle longest goes, else the least recently used);
 * an ended session's id is forgotten first, so it answers 404.
 *
 * A request's answers travel on its response: a session counts as in use
 * until that response is over, and when it does not complete — the client
 * went away, or the request was abandoned before its response began — the
 * requests it was to answer are cancelled as if the client had sent
 * `notifications/cancelled` (there is no event store, so nothing could ever
 * deliver their answers).
 */
import { randomUUID } from "node:crypto"
import type { ServerResponse } from "node:http"
import type { AuthInfo } from "@modelcontextprotocol/sdk/server/auth/types.js"
import type { Server } from "@modelcontextprotocol/sdk/server/index.js"
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js"
import { ErrorCode } from "@modelcontextprotocol/sdk/types.js"
import { Clock, Duration, Effect, Option, Runtime, Schedule } from "effect"
import type { ElicitationCompletions } from "../../auth/Elicitation.js"
import type { UserId } from "../../domain/Ids.js"
import type { AnyTool } from "../../tools/Tool.js"
import * as Policy from "../httpPolicy.js"
import { makeMcpServer, type RequestServices } from "../server.js"
import { makeToolCalls, type ToolCalls } from "../toolCalls.js"
import { identify } from "./auth.js"
import { type ClientWatch, deliver, jsonRpcError, send } from "./messages.js"

export const DEFAULT_SESSION_IDLE_TIMEOUT = Policy.SESSION_DEFAULTS.idleTimeout
export const DEFAULT_MAX_SESSIONS_PER_USER = Policy.SESSION_DEFAULTS.maxPerUser
export const DEFAULT_MAX_SESSIONS = Policy.SESSION_DEFAULTS.maxSessions

export interface Session extends Policy.SessionUse {
  readonly server: Server
  readonly transport: WebStandardStreamableHTTPServerTransport
  readonly userId: UserId
  lastUsed: number
  touched: number
  open: number
}

export interface SessionOptions<R> {
  readonly tools: ReadonlyArray<AnyTool<R | RequestServices>>
  readonly runtime: Runtime.Runtime<R | ElicitationCompletions>
  /** Shared with the other revision's handler; made here when absent. */
  readonly calls?: ToolCalls<R>
  readonly idleTimeout?: Duration.DurationInput
  readonly maxPerUser?: number
  readonly maxSessions?: number
}

/** An SSE comment (clients ignore it). */
const STREAM_OPENED = new TextEncoder().encode(": stream open\n\n")

/** Name and message only: an error from the transport may carry the request (and its headers). */
const describeError = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : typeof error

/** Closing the Server closes its transport and every stream of it. */
const closeServer = (session: Session) =>
  Effect.tryPromise(() => session.server.close()).pipe(Effect.timeout("1 second"), Effect.ignore)

export const makeSessions = <R>(options: SessionOptions<R>) =>
  Effect.gen(function* () {
    const idleMs = Duration.toMillis(options.idleTimeout ?? DEFAULT_SESSION_IDLE_TIMEOUT)
    const maxPerUser = Math.max(1, Math.floor(options.maxPerUser ?? DEFAULT_MAX_SESSIONS_PER_USER))
    const maxSessions = Math.max(1, Math.floor(options.maxSessions ?? DEFAULT_MAX_SESSIONS))
    // Through the tools' runtime, so these logs reach its (stderr) logger at its level.
    const runFork = Runtime.runFork(options.runtime)
    const calls = options.calls ?? makeToolCalls(options)
    const sessions = new Map<string, Session>()
    const clock = yield* Effect.clock
    /** Orders uses of sessions (the Clock's milliseconds tie). */
    let uses = 0
    const touch = (session: Session, now: number) => {
      session.lastUsed = now
      session.touched = ++uses
    }

    yield* Effect.addFinalizer(() =>
      Effect.forEach(Array.from(sessions.values()), closeServer, { concurrency: "unbounded", discard: true }).pipe(
        Effect.zipRight(Effect.logDebug(`closed ${sessions.size} MCP session(s)`))
      )
    )

    /**
     * A new Server + transport for `userId`; it joins the table once its
     * initialize succeeds. Uninterruptible, so an abandoned request cannot
     * leave a connected Server nobody holds.
     */
    const open = (userId: UserId) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.promise(async () => {
          const server = makeMcpServer({ tools: options.tools, runtime: options.runtime, calls, identify })
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
      ).pipe(Effect.uninterruptible)

    const close = (id: string, why: string) =>
      Effect.suspend(() => {
        const session = sessions.get(id)
        if (session === undefined) return Effect.void
        sessions.delete(id)
        return closeServer(session).pipe(Effect.zipRight(Effect.logDebug(`closed an MCP session: ${why}`, { user: session.userId })))
      })

    /** After an initialize: drop the Server if no session came of it, else keep its user and everyone within the caps. */
    const settleOpened = (session: Session) =>
      Effect.gen(function* () {
        const id = session.transport.sessionId
        if (id === undefined || sessions.get(id) !== session) return yield* closeServer(session)
        const mine = Array.from(sessions).filter(([, s]) => s.userId === session.userId)
        yield* Effect.forEach(Policy.overCap(mine, maxPerUser, id), (old) => close(old, "over the per-user cap"), {
          discard: true
        })
        yield* Effect.forEach(Policy.overCap(Array.from(sessions), maxSessions, id), (old) => close(old, "over the server-wide cap"), {
          discard: true
        })
      })

    const sweep = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const idle = Array.from(sessions).filter(([, s]) => Policy.isIdle(s, now, idleMs)).map(([id]) => id)
      yield* Effect.forEach(idle, (id) => close(id, "idle"), { discard: true })
    })
    yield* sweep.pipe(
      Effect.repeat(Schedule.spaced(Duration.millis(Math.min(Math.max(idleMs / 4, 10), 60_000)))),
      Effect.forkScoped
    )

    /** Abort the handlers of these requests, as `notifications/cancelled` would; their tools are interrupted. */
    const cancelRequests = (session: Session, ids: ReadonlyArray<string | number>) => {
      for (const requestId of ids) {
        session.transport.onmessage?.({
          jsonrpc: "2.0",
          method: "notifications/cancelled",
          params: { requestId, reason: "the client closed the connection" }
        })
      }
      runFork(Effect.logDebug(`cancelled ${ids.length} request(s): the client went away`, { user: session.userId }))
    }

    /**
     * Hand a request to the session's transport and write its answer to the
     * client as it comes. The session counts as in use until the answer is
     * over; if the client goes away first, the requests it was to answer are
     * cancelled and the transport's stream is dropped. Plain request code, not
     * an Effect per request: every tool call over http comes this way.
     */
    const forward = async (
      session: Session,
      request: Request,
      body: Option.Option<unknown>,
      authInfo: AuthInfo,
      res: ServerResponse,
      client: ClientWatch
    ): Promise<void> => {
      touch(session, clock.unsafeCurrentTimeMillis())
      session.open += 1
      const requests = Option.isSome(body) ? Policy.requestIds(body.value) : []
      let answered = false
      try {
        let response: Response
        try {
          response = await session.transport.handleRequest(request, { authInfo, ...(Option.isSome(body) ? { parsedBody: body.value } : {}) })
        } catch (error) {
          runFork(Effect.logError("MCP transport failed", describeError(error)))
          answered = true
          return send(res, jsonRpcError(500, ErrorCode.InternalError, "Internal error"))
        }
        // A GET stream may stay silent for a long time: an SSE comment first puts
        // the response head on the wire at once, so the client knows it is open.
        answered = await deliver(response, res, client, request.method === "GET" ? STREAM_OPENED : undefined)
      } finally {
        if (!answered && requests.length > 0) cancelRequests(session, requests)
        session.open -= 1
        touch(session, clock.unsafeCurrentTimeMillis())
      }
    }

    return {
      /** The user's session with this id; another user's is as unknown as a missing one. */
      find: (id: string, userId: UserId): Session | undefined => {
        const session = sessions.get(id)
        return session?.userId === userId ? session : undefined
      },
      /** Whether a session with this id exists at all (for the log of a refused request). */
      exists: (id: string): boolean => sessions.has(id),
      open,
      settleOpened,
      forward,
      size: (): number => sessions.size
    } as const
  })

export type Sessions = Effect.Effect.Success<ReturnType<typeof makeSessions>>
