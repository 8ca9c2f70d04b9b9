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
import { Effect, Redacted } from "effect"
import type { CurrentUserShape } from "../auth/CurrentUser.js"
import type { ElicitationShape, PresentedLogin } from "../auth/Elicitation.js"
import type { UserId } from "../domain/Ids.js"
import type { Scope } from "../domain/Scope.js"
import type { ProgressShape } from "../tools/Progress.js"
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

const notShown: PresentedLogin = { outcome: "not_shown", elicitationId: null }

/** The key of the login URL among a call's input requests and responses. */
export const LOGIN_INPUT = "login"

/** What the `requestState` of a login URL says (signed, readable by the client: nothing secret). */
interface LoginState {
  readonly tool: string
}

/** How long the person has to answer the login URL before the client must call again from the start. */
const REQUEST_STATE_TTL_SECONDS = 20 * 60

/** The user a request's state is bound to (the verified token's subject), and the method. */
const bindingOf = (ctx: ServerContext) => `${ctx.mcpReq.method}\0${String(ctx.http?.authInfo?.extra?.["userId"] ?? "")}`

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
  const state = ctx.mcpReq.requestState<LoginState>()
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

const progressFor = (ctx: ServerContext): ProgressShape => {
  const token = ctx.mcpReq._meta?.progressToken
  if (token === undefined) return { report: () => Effect.void }
  return {
    report: (progress, total, message) =>
      Effect.promise(() =>
        ctx.mcpReq.notify({
          method: "notifications/progress",
          params: { progressToken: token, progress, ...(total !== undefined ? { total } : {}), message }
        })
      ).pipe(Effect.catchAllCause(() => Effect.void))
  }
}

/** A `Server` serving one 2026-07-28 request. */
export const makeModernServer = <R>(options: ModernOptions<R>, codec: RequestStateCodec<LoginState>, onToolsChanged: () => void): Server => {
  const server = new Server(
    { name: SERVER_NAME, version: SERVER_VERSION, title: "Nextcloud" },
    {
      capabilities: { tools: { listChanged: true } },
      // A tampered, expired or another user's state is refused before the handler runs (-32602).
      requestState: { verify: codec.verify },
      cacheHints: { "tools/list": { ttlMs: TOOLS_LIST_TTL_MS, cacheScope: "private" } },
      ...(options.instructions !== undefined ? { instructions: options.instructions } : {})
    }
  )
  const { calls } = options
  server.onerror = options.onError

  server.setRequestHandler("tools/list", async (_request, ctx) => {
    const tools = await calls.toolsFor(options.identify(ctx.http?.authInfo))
    return { tools: tools.map(listing) as never }
  })

  server.setRequestHandler("tools/call", async (request, ctx) => {
    const tool = calls.find(request.params.name)
    if (tool === undefined) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${request.params.name}`)
    const user = options.identify(ctx.http?.authInfo)
    const login = loginElicitation(server, ctx, tool.name)
    const outcome = await calls.call(tool, request.params.arguments, {
      user,
      elicitation: () => login.shape,
      progress: progressFor(ctx),
      signal: ctx.mcpReq.signal
    })
    switch (outcome._tag) {
      case "Result": {
        const asked = login.asked()
        if (asked !== undefined && outcome.result.isError !== true) {
          return inputRequired({
            inputRequests: { [LOGIN_INPUT]: inputRequired.elicitUrl({ message: asked.message, url: asked.url }) },
            requestState: await codec.mint({ tool: tool.name }, ctx)
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
  return server
}

export const requestStateCodec = (key: Redacted.Redacted<Uint8Array> | undefined) =>
  createRequestStateCodec<LoginState>({
    key: key === undefined ? randomBytes(32) : Redacted.value(key),
    ttlSeconds: REQUEST_STATE_TTL_SECONDS,
    bind: bindingOf
  })

/** The 2026-07-28 leg of `/mcp`: `legacy: "reject"`, since 2025-11-25 traffic keeps its sessions (routes.ts). */
export const makeModernHandler = <R>(options: ModernOptions<R> & { readonly maxBodyBytes: number }): McpHttpHandler => {
  const codec = requestStateCodec(options.requestStateKey)
  let handler: McpHttpHandler | undefined
  handler = createMcpHandler(() => makeModernServer(options, codec, () => handler?.notify.toolsChanged()), {
    legacy: "reject",
    onerror: options.onError,
    maxRequestBodySize: options.maxBodyBytes
  })
  return handler
}

/** The caller of a request, from the authInfo the HTTP edge attached (see http/auth.ts). */
export const identifyFromAuthInfo = (authInfo: AuthInfo | undefined): CurrentUserShape => {
  const userId = authInfo?.extra?.["userId"]
  if (authInfo === undefined || typeof userId !== "string") {
    // Every /mcp request is authenticated before it reaches the handler; this is a bug.
    throw new ProtocolError(ProtocolErrorCode.InternalError, "Internal error")
  }
  return { userId: userId as UserId, tokenScopes: authInfo.scopes as ReadonlyArray<Scope> }
}
