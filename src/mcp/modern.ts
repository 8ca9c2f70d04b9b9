/**
 * MCP 2026-07-28 (stateless: `server/discover`, the per-request `_meta`
 * envelope, `Mcp-Method`/`Mcp-Name` headers, cache hints on list results) on
 * the SDK that implements it, `@modelcontextprotocol/server`. One `Server` per
 * request, built from the same tool calls the 2025-11-25 sessions use
 * (`toolCalls.ts`), so both revisions list and run the tools identically.
 * Why two SDKs: docs/protocol-revisions.md.
 */
import { randomBytes } from "node:crypto"
import {
  type AuthInfo,
  CLIENT_CAPABILITIES_META_KEY,
  type ClientCapabilities,
  createMcpHandler,
  createRequestStateCodec,
  type ElicitResult,
  inputRequired,
  type McpHttpHandler,
  ProtocolError,
  ProtocolErrorCode,
  type RequestStateCodec,
  Server,
  type ServerContext
} from "@modelcontextprotocol/server"
import { Effect, Option, Redacted, Schema } from "effect"
import type { CurrentUserShape } from "../auth/CurrentUser.js"
import { type ElicitationShape, noElicitation, notShown, type PresentedLogin } from "../auth/Elicitation.js"
import { noProgress, progressNotifier, type ProgressShape } from "../tools/Progress.js"
import { listing, SERVER_NAME, SERVER_VERSION } from "./server.js"
import type { ToolCalls } from "./toolCalls.js"

/** The revision this module serves. */
export const MODERN_REVISION = "2026-07-28"

/**
 * How long a client may keep a user's `tools/list` (`cacheScope: "private"`:
 * it is that user's list, never a shared cache's). Short: the list changes
 * when access is granted or an app is enabled, and clients that listen are
 * also told at once.
 */
export const TOOLS_LIST_TTL_MS = 30_000

export interface ModernOptions<R> {
  readonly calls: ToolCalls<R>
  /**
   * Seals the `requestState` of a login URL shown by `InputRequiredResult`
   * (HMAC, bound to the user): every replica needs the same key, derived from
   * the encryption key. A random one serves a single process.
   */
  readonly requestStateKey?: Redacted.Redacted<Uint8Array>
  /** Who is calling: stdio's configured user, or the verified token's (HTTP, from authInfo). */
  readonly identify: (authInfo: AuthInfo | undefined) => CurrentUserShape
  readonly instructions?: string
  readonly onError: (error: Error) => void
}

/** The key of the login URL among a call's input requests and responses. */
export const LOGIN_INPUT = "login"

/** What the `requestState` of a login URL says (signed, readable by the client: nothing secret). */
interface LoginRequestState {
  readonly tool: string
}

/** What a task id says: the login it follows (signed and bound to the user, readable by the client: nothing secret). */
interface TaskRef {
  /** The flow's start, which names it together with the user. */
  readonly f: number
  /** The flow's deadline. */
  readonly x: number
}

/** The tasks extension (2026-07-28). */
export const TASKS_EXTENSION = "io.modelcontextprotocol/tasks"

/** How often a client may ask for a login task's state. */
export const TASK_POLL_INTERVAL_MS = 2_000

/** The codecs one server (all its replicas) seals request states and task ids with. */
export interface Seals {
  readonly requestState: RequestStateCodec<LoginRequestState>
  readonly taskId: RequestStateCodec<TaskRef>
}

/** How long the person has to answer the login URL before the client must call again from the start. */
const REQUEST_STATE_TTL_SECONDS = 20 * 60

/** The user a request's state is bound to (the verified token's subject), and the method. */
const userOf = (ctx: ServerContext) => String(ctx.http?.authInfo?.extra?.["userId"] ?? "")
const bindingOf = (ctx: ServerContext) => `${ctx.mcpReq.method}\0${userOf(ctx)}`

/** The capabilities the request's envelope declares (on HTTP the SDK also copies them to the server). */
const clientCapabilitiesOf = (server: Server, ctx: ServerContext): ClientCapabilities | undefined => {
  const envelope = (ctx.mcpReq.envelope ?? {}) as Record<string, unknown>
  const meta = (ctx.mcpReq._meta ?? {}) as Record<string, unknown>
  const declared = envelope["clientCapabilities"] ?? envelope[CLIENT_CAPABILITIES_META_KEY] ?? meta[CLIENT_CAPABILITIES_META_KEY]
  return typeof declared === "object" && declared !== null ? (declared as ClientCapabilities) : server.getClientCapabilities()
}

/**
 * The login URL on this revision, which has no request from server to client.
 * A client that declares URL elicitation gets it as an `InputRequiredResult`
 * (the call ends there; its own result is not sent), and calls again with the
 * person's answer and the sealed `requestState`; that second call reads the
 * answer here. Any other client finds the URL in the tool's text.
 */
const loginElicitation = (server: Server, ctx: ServerContext, toolName: string) => {
  const declared = clientCapabilitiesOf(server, ctx)?.elicitation?.url !== undefined
  const state = ctx.mcpReq.requestState<LoginRequestState>()
  const answer = state !== undefined && typeof state === "object" && state.tool === toolName ? (ctx.mcpReq.inputResponses?.[LOGIN_INPUT] as ElicitResult | undefined) : undefined
  let asked: { readonly url: string; readonly message: string } | undefined
  const shape: ElicitationShape = {
    presentLoginUrl: ({ loginUrl, message }) =>
      Effect.sync((): PresentedLogin => {
        if (answer !== undefined) {
          const outcome = answer.action === "accept" ? "accepted" : answer.action === "decline" ? "declined" : "cancelled"
          return { outcome, elicitationId: null }
        }
        if (declared) asked = { url: loginUrl, message }
        return notShown
      })
  }
  return { shape, asked: () => asked }
}

const progressFor = (ctx: ServerContext): ProgressShape =>
  progressNotifier(ctx.mcpReq._meta?.progressToken, (notification) => ctx.mcpReq.notify(notification as never))

/** A `Server` serving one 2026-07-28 request. */
export const makeModernServer = <R>(options: ModernOptions<R>, seals: Seals, onToolsChanged: () => void): Server => {
  const { calls } = options
  const tasks = calls.tasks
  const server = new Server(
    { name: SERVER_NAME, version: SERVER_VERSION, title: "Nextcloud" },
    {
      capabilities: { tools: { listChanged: true }, ...(tasks !== undefined ? { extensions: { [TASKS_EXTENSION]: {} } } : {}) },
      // A tampered, expired or another user's state is refused before the handler runs (-32602).
      requestState: { verify: seals.requestState.verify },
      cacheHints: { "tools/list": { ttlMs: TOOLS_LIST_TTL_MS, cacheScope: "private" } },
      ...(options.instructions !== undefined ? { instructions: options.instructions } : {})
    }
  )
  server.onerror = options.onError

  server.setRequestHandler("tools/list", async (_request, ctx) => {
    const tools = await calls.toolsFor(options.identify(ctx.http?.authInfo))
    return { tools: tools.map(listing) as never }
  })

  server.setRequestHandler("tools/call", async (request, ctx) => {
    const tool = calls.find(request.params.name)
    if (tool === undefined) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${request.params.name}`)
    const user = options.identify(ctx.http?.authInfo)
    // A client that declares the tasks extension gets the wait for a login as a task; the URL is then one of its input requests.
    const asTask = tasks !== undefined && tasks.tools.has(tool.name) && declaresTasks(server, ctx)
    const login = loginElicitation(server, ctx, tool.name)
    const outcome = await calls.call(tool, request.params.arguments, {
      user,
      elicitation: () => (asTask ? noElicitation : login.shape),
      progress: progressFor(ctx),
      signal: ctx.mcpReq.signal
    })
    switch (outcome._tag) {
      case "Result": {
        if (asTask && outcome.result.isError !== true && waitsForLogin(outcome.result)) {
          const pending = await calls.run(tasks.pending(user.userId))
          if (Option.isSome(pending)) {
            const ref: TaskRef = { f: pending.value.createdAt, x: pending.value.expiresAt }
            const taskId = await seals.taskId.mint(ref, ctx)
            const view = await taskView(server, ctx, options, taskId, ref)
            // Durable before it is answered: the flow it follows is stored. Input requests are for tasks/get.
            if (view !== null) {
              const { inputRequests: _surfacedByTasksGet, ...task } = view as typeof view & { inputRequests?: unknown }
              // The tool's own text (with the login URL) too: every client can show the URL.
              return { resultType: "task", ...task, content: outcome.result.content } as never
            }
          }
        }
        const asked = login.asked()
        if (asked !== undefined && outcome.result.isError !== true) {
          return inputRequired({
            inputRequests: { [LOGIN_INPUT]: inputRequired.elicitUrl({ message: asked.message, url: asked.url }) },
            requestState: await seals.requestState.mint({ tool: tool.name }, ctx)
          })
        }
        // An auth tool may have changed which tools this user has: listeners fetch the list again.
        if (tool.access === "open" && calls.appTools) onToolsChanged()
        return outcome.result as never
      }
      case "Cancelled":
        throw new ProtocolError(ProtocolErrorCode.InternalError, "The request was cancelled")
      case "Internal":
        throw new ProtocolError(ProtocolErrorCode.InternalError, "Internal error")
    }
  })

  if (tasks !== undefined) {
    /** The task a request names, for its caller: unknown, tampered, another user's or expired ids are all -32602. */
    const taskOf = async (taskId: string, ctx: ServerContext): Promise<TaskRef> => {
      if (!declaresTasks(server, ctx)) {
        throw new ProtocolError(ProtocolErrorCode.MissingRequiredClientCapability, `This method needs the ${TASKS_EXTENSION} extension.`, {
          requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } }
        })
      }
      const ref = await seals.taskId.verify(taskId, ctx).catch(() => null)
      if (ref === null || typeof ref.f !== "number" || typeof ref.x !== "number") throw unknownTask(taskId)
      return ref
    }
    server.setRequestHandler("tasks/get", { params: TaskIdParams, result: AnyResult }, async (params, ctx) => {
      const ref = await taskOf(params.taskId, ctx)
      const view = await taskView(server, ctx, options, params.taskId, ref)
      if (view === null) throw unknownTask(params.taskId)
      return { resultType: "complete", ...view }
    })

    server.setRequestHandler("tasks/update", { params: UpdateParams, result: AnyResult }, async (params, ctx) => {
      const ref = await taskOf(params.taskId, ctx)
      // The SDK hands `inputResponses` to the handler's context (and may take them out of the params).
      const response = (ctx.mcpReq.inputResponses?.[LOGIN_INPUT] ?? params.inputResponses?.[LOGIN_INPUT]) as ElicitResult | undefined
      if (response !== undefined) {
        const answer = response.action === "accept" ? "accept" : response.action === "decline" ? "decline" : "cancel"
        await calls.run(tasks.answer(options.identify(ctx.http?.authInfo).userId, ref.f, answer))
      }
      return { resultType: "complete" }
    })

    server.setRequestHandler("tasks/cancel", { params: TaskIdParams, result: AnyResult }, async (params, ctx) => {
      const ref = await taskOf(params.taskId, ctx)
      // Cancelling the task cancels the login; a task that already ended is acknowledged all the same.
      await calls.run(tasks.answer(options.identify(ctx.http?.authInfo).userId, ref.f, "cancel"))
      return { resultType: "complete" }
    })
  }
  return server
}

/** The params and results of the task methods (built once: a server is built per request). */
const TaskIdParams = Schema.standardSchemaV1(Schema.Struct({ taskId: Schema.String }))
const UpdateParams = Schema.standardSchemaV1(
  Schema.Struct({ taskId: Schema.String, inputResponses: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })) })
)
const AnyResult = Schema.standardSchemaV1(Schema.Record({ key: Schema.String, value: Schema.Unknown }))

const unknownTask = (taskId: string) => new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown task: ${taskId.slice(0, 80)}`)

/** Whether the request's envelope declares the tasks extension. */
const declaresTasks = (server: Server, ctx: ServerContext): boolean => {
  const extensions = (clientCapabilitiesOf(server, ctx) as { extensions?: Record<string, unknown> } | undefined)?.extensions
  return typeof extensions === "object" && extensions !== null && TASKS_EXTENSION in extensions
}

/** Whether an auth tool's result says a login is waiting for approval. */
const waitsForLogin = (result: { readonly structuredContent?: Record<string, unknown> | undefined }) => {
  const status = result.structuredContent?.["status"]
  return status === "login_required" || status === "pending"
}

const iso = (ms: number) => new Date(ms).toISOString()

/**
 * A login task as `tasks/get` shows it (null once the login is past its
 * deadline without completing): working while the person has not approved —
 * input_required with the URL as an input request to a client that declares
 * URL elicitation and has not answered it — completed with the result of
 * `nc_auth_check_status` once the app password is stored, cancelled when the
 * login was declined, cancelled or replaced.
 */
const taskView = async <R>(server: Server, ctx: ServerContext, options: ModernOptions<R>, taskId: string, ref: TaskRef) => {
  const { calls } = options
  const tasks = calls.tasks
  if (tasks === undefined) return null
  const user = options.identify(ctx.http?.authInfo)
  const state = await calls.run(tasks.state(user.userId, ref.f, ref.x))
  const now = Date.now()
  const common = { taskId, createdAt: iso(ref.f), lastUpdatedAt: iso(now), ttlMs: Math.max(1, Math.round(ref.x - ref.f)), pollIntervalMs: TASK_POLL_INTERVAL_MS }
  switch (state._tag) {
    case "Expired":
      return null
    case "Ended":
      return { ...common, status: "cancelled", statusMessage: "The login was declined, cancelled or replaced; nothing was granted." }
    case "Completed": {
      const tool = calls.find(tasks.resultTool)
      const outcome =
        tool === undefined
          ? null
          : await calls.call(tool, {}, { user, elicitation: () => noElicitation, progress: noProgress, signal: ctx.mcpReq.signal })
      if (outcome === null || outcome._tag !== "Result") {
        return { ...common, status: "failed", error: { code: ProtocolErrorCode.InternalError, message: "Internal error" } }
      }
      return { ...common, status: "completed", result: outcome.result }
    }
    case "Pending": {
      const message = `Open this link to let this assistant use your Nextcloud, and approve access:\n${state.loginUrl}`
      const wantsUrl = clientCapabilitiesOf(server, ctx)?.elicitation?.url !== undefined
      if (wantsUrl && !state.answered) {
        return { ...common, status: "input_required", statusMessage: message, inputRequests: { [LOGIN_INPUT]: inputRequired.elicitUrl({ message, url: state.loginUrl }) } }
      }
      return { ...common, status: "working", statusMessage: message }
    }
  }
}

/** A task id stays readable a while past the login's 20 minutes (the task's own deadline is checked against the flow's). */
const TASK_ID_TTL_SECONDS = 30 * 60

/** The seals for one server; every replica needs the same key. */
export const makeSeals = (key: Redacted.Redacted<Uint8Array> | undefined): Seals => {
  const bytes = key === undefined ? randomBytes(32) : Redacted.value(key)
  return {
    requestState: createRequestStateCodec<LoginRequestState>({ key: bytes, ttlSeconds: REQUEST_STATE_TTL_SECONDS, bind: bindingOf }),
    // Bound to the user only: tasks/get, tasks/update and tasks/cancel all name the same task.
    taskId: createRequestStateCodec<TaskRef>({ key: bytes, ttlSeconds: TASK_ID_TTL_SECONDS, bind: (ctx) => `task\0${userOf(ctx)}` })
  }
}

/** The 2026-07-28 leg of `/mcp`: `legacy: "reject"`, since 2025-11-25 traffic keeps its sessions (routes.ts). */
export const makeModernHandler = <R>(options: ModernOptions<R> & { readonly maxBodyBytes: number }): McpHttpHandler => {
  const seals = makeSeals(options.requestStateKey)
  let handler: McpHttpHandler | undefined
  handler = createMcpHandler(() => makeModernServer(options, seals, () => handler?.notify.toolsChanged()), {
    legacy: "reject",
    onerror: options.onError,
    maxRequestBodySize: options.maxBodyBytes
  })
  return handler
}
