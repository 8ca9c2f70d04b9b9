/**
 * MCP 2026-07-28 (stateless: `server/discover`, the per-request `_meta`
 * envelope, `Mcp-Method`/`Mcp-Name` headers, cache hints on list results) on
 * the SDK that implements it, `@modelcontextprotocol/server`. One `Server` per
 * request, built from the same tool calls the 2025-11-25 sessions use
 * (`toolCalls.ts`), so both revisions list and run the tools identically.
 * Why two SDKs: docs/protocol-revisions.md.
 */
import {
  type AuthInfo,
  createMcpHandler,
  type McpHttpHandler,
  ProtocolError,
  ProtocolErrorCode,
  Server,
  type ServerContext
} from "@modelcontextprotocol/server"
import { Effect } from "effect"
import type { CurrentUserShape } from "../auth/CurrentUser.js"
import type { PresentedLogin } from "../auth/Elicitation.js"
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
  /** Who is calling: stdio's configured user, or the verified token's (HTTP, from authInfo). */
  readonly identify: (authInfo: AuthInfo | undefined) => CurrentUserShape
  readonly instructions?: string
  readonly onError: (error: Error) => void
}

const notShown: PresentedLogin = { outcome: "not_shown", elicitationId: null }

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
export const makeModernServer = <R>(options: ModernOptions<R>, onToolsChanged: () => void): Server => {
  const server = new Server(
    { name: SERVER_NAME, version: SERVER_VERSION, title: "Nextcloud" },
    {
      capabilities: { tools: { listChanged: true } },
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
    const outcome = await calls.call(tool, request.params.arguments, {
      user,
      // The login URL is always in the tool's text; this revision has no request from server to client.
      elicitation: () => ({ presentLoginUrl: () => Effect.succeed(notShown) }),
      progress: progressFor(ctx),
      signal: ctx.mcpReq.signal
    })
    switch (outcome._tag) {
      case "Result":
        // An auth tool may have changed which tools this user has: listeners fetch the list again.
        if (tool.access === "open" && calls.appTools) onToolsChanged()
        return outcome.result as never
      case "Cancelled":
        throw new ProtocolError(ProtocolErrorCode.InternalError, "The request was cancelled")
      case "Internal":
        throw new ProtocolError(ProtocolErrorCode.InternalError, "Internal error")
    }
  })
  return server
}

/** The 2026-07-28 leg of `/mcp`: `legacy: "reject"`, since 2025-11-25 traffic keeps its sessions (routes.ts). */
export const makeModernHandler = <R>(options: ModernOptions<R> & { readonly maxBodyBytes: number }): McpHttpHandler => {
  let handler: McpHttpHandler | undefined
  handler = createMcpHandler(() => makeModernServer(options, () => handler?.notify.toolsChanged()), {
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
