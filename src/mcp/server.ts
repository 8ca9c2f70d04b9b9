/**
 * Tool values → an MCP `Server` (the SDK's low-level one, so schemas come from
 * Effect Schema). One `Server` per connection: stdio has one, HTTP one per
 * session. Per request it provides the caller (`CurrentUser`), elicitation
 * and progress; everything else comes from the runtime it is given.
 */
import { randomUUID } from "node:crypto"
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js"
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type ServerNotification,
  type ServerRequest,
  type Tool as McpTool
} from "@modelcontextprotocol/sdk/types.js"
import { Effect, type Runtime } from "effect"
import type { CurrentUserShape } from "../auth/CurrentUser.js"
import { ElicitationCompletions, type ElicitationShape, notShown, type PresentedLogin } from "../auth/Elicitation.js"
import { toolJsonSchema } from "../tools/jsonSchema.js"
import { progressNotifier, type ProgressShape } from "../tools/Progress.js"
import type { AnyTool } from "../tools/Tool.js"
import { makeToolCalls, type ToolCalls, type ToolCallsOptions } from "./toolCalls.js"

export type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>

export const SERVER_NAME = "nextcloud-mcp"
export const SERVER_VERSION = "0.1.0"

/** How long a person has to answer the login prompt before the tool returns with the URL in its text. */
const ELICITATION_TIMEOUT_MS = 5 * 60_000

export type { RequestServices } from "./toolCalls.js"
export { visibleTools } from "./toolCalls.js"

export interface McpServerOptions<R> extends ToolCallsOptions<R> {
  /** Shared by the servers of one process (HTTP builds one per session); made for this server when absent. */
  readonly calls?: ToolCalls<R>
  /** Who is calling (stdio: the configured user; http: from the verified token). */
  readonly identify: (extra: Extra) => CurrentUserShape
  readonly instructions?: string
}

const listingCache = new WeakMap<AnyTool, McpTool>()

/** A tool's `tools/list` entry; computed once per tool value (HTTP builds a Server per session). */
export const listing = (tool: AnyTool): McpTool => {
  const cached = listingCache.get(tool)
  if (cached !== undefined) return cached
  const entry: McpTool = {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: toolJsonSchema(tool.input) as McpTool["inputSchema"],
    outputSchema: toolJsonSchema(tool.output) as McpTool["outputSchema"],
    annotations: { title: tool.title, ...tool.annotations }
  }
  listingCache.set(tool, entry)
  return entry
}


const elicitationFor = (server: Server, extra: Extra, runtime: Runtime.Runtime<ElicitationCompletions>): ElicitationShape => ({
  presentLoginUrl: ({ loginUrl, message }): Effect.Effect<PresentedLogin> => {
    const capabilities = server.getClientCapabilities()?.elicitation
    const options = { relatedRequestId: extra.requestId, signal: extra.signal, timeout: ELICITATION_TIMEOUT_MS }
    if (capabilities?.url !== undefined) {
      const elicitationId = randomUUID()
      return Effect.tryPromise(() =>
        server.elicitInput({ mode: "url", message, elicitationId, url: loginUrl }, options)
      ).pipe(
        Effect.flatMap((answer): Effect.Effect<PresentedLogin> =>
          answer.action === "accept"
            ? Effect.flatMap(ElicitationCompletions, (completions) =>
                completions.register(
                  elicitationId,
                  Effect.promise(() => server.createElicitationCompletionNotifier(elicitationId)())
                )
              ).pipe(Effect.provide(runtime.context), Effect.as<PresentedLogin>({ outcome: "accepted", elicitationId }))
            : Effect.succeed({ outcome: answer.action === "decline" ? "declined" : "cancelled", elicitationId: null })
        ),
        Effect.catchAllCause((cause) =>
          Effect.logWarning("URL elicitation failed; the login URL is in the tool result", cause).pipe(Effect.as(notShown))
        )
      )
    }
    if (capabilities?.form !== undefined || (capabilities !== undefined && Object.keys(capabilities).length === 0)) {
      return Effect.tryPromise(() =>
        server.elicitInput(
          {
            mode: "form",
            message: `${message}\n\nTick the box once you have opened the link and approved access.`,
            requestedSchema: {
              type: "object",
              properties: {
                acknowledged: {
                  type: "boolean",
                  title: "I opened the link",
                  description: "I opened the login link in my browser and approved access."
                }
              },
              required: ["acknowledged"]
            }
          },
          options
        )
      ).pipe(
        Effect.map((answer): PresentedLogin => ({
          outcome:
            answer.action === "accept"
              ? answer.content?.["acknowledged"] === true
                ? ("accepted" as const)
                : ("not_shown" as const)
              : answer.action === "decline"
                ? ("declined" as const)
                : ("cancelled" as const),
          elicitationId: null
        })),
        Effect.catchAllCause((cause) =>
          Effect.logWarning("form elicitation failed; the login URL is in the tool result", cause).pipe(Effect.as(notShown))
        )
      )
    }
    return Effect.succeed(notShown)
  }
})

const progressFor = (extra: Extra): ProgressShape =>
  progressNotifier(extra._meta?.progressToken, (notification) => extra.sendNotification(notification as never))

export const makeMcpServer = <R>(options: McpServerOptions<R>): Server => {
  const server = new Server(
    { name: SERVER_NAME, version: SERVER_VERSION, title: "Nextcloud" },
    {
      capabilities: { tools: { listChanged: true }, logging: {} },
      ...(options.instructions !== undefined ? { instructions: options.instructions } : {})
    }
  )
  const calls = options.calls ?? makeToolCalls(options)
  const namesOf = (tools: ReadonlyArray<AnyTool>) => tools.map((tool) => tool.name).join("\n")
  /** What this connection's client was last told by tools/list, to notice when it changes. */
  let listed: string | undefined

  server.setRequestHandler(ListToolsRequestSchema, async (_request, extra) => {
    const tools = await calls.toolsFor(options.identify(extra))
    listed = namesOf(tools)
    return { tools: tools.map(listing) }
  })

  /**
   * After an auth tool ran (a grant stored, replaced or removed), the user's
   * apps may be known or different: a client that listed the tools is told
   * when its list changed (`notifications/tools/list_changed`).
   */
  const announceChanges = async (user: CurrentUserShape): Promise<void> => {
    const now = namesOf(await calls.toolsFor(user))
    if (now === listed) return
    listed = now
    await server.sendToolListChanged()
  }

  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const tool = calls.find(request.params.name)
    if (tool === undefined) {
      throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${request.params.name}`)
    }
    const user = options.identify(extra)
    const outcome = await calls.call(tool, request.params.arguments, {
      user,
      elicitation: (runtime) => elicitationFor(server, extra, runtime),
      progress: progressFor(extra),
      signal: extra.signal
    })
    switch (outcome._tag) {
      case "Result":
        // Only a client that listed the tools can be told its list changed (and only apps can change it).
        if (tool.access === "open" && calls.appTools && listed !== undefined) await announceChanges(user).catch(() => undefined)
        return outcome.result
      case "Cancelled":
        throw new McpError(ErrorCode.RequestTimeout, "The request was cancelled")
      case "Internal":
        throw new McpError(ErrorCode.InternalError, "Internal error")
    }
  })

  return server
}
