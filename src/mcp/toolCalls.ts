/**
 * Listing and calling the tools, apart from any MCP SDK: what a `tools/list`
 * shows a user and how one `tools/call` runs on the runtime. Both protocol
 * revisions are served by their own SDK `Server` (see docs/protocol-revisions.md);
 * both come here, so the two can never answer differently.
 */
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { Cause, Context, type Effect, Exit, FiberId, FiberRef, FiberRefs, HashMap, Runtime } from "effect"
import { CurrentUser, type CurrentUserShape } from "../auth/CurrentUser.js"
import { fiberExit } from "./fiberExit.js"
import { Elicitation, type ElicitationCompletions, type ElicitationShape } from "../auth/Elicitation.js"
import * as Scopes from "../domain/Scope.js"
import { enabledAppsOf, usable } from "../tools/availability.js"
import type { LoginTasks } from "../tools/loginTasks.js"
import { Progress, type ProgressShape } from "../tools/Progress.js"
import { runTool } from "../tools/run.js"
import type { AnyTool } from "../tools/Tool.js"

/** Services a tool gets per request, on top of the runtime's. */
export type RequestServices = CurrentUser | Elicitation | Progress

export interface ToolCallsOptions<R> {
  readonly tools: ReadonlyArray<AnyTool<R | RequestServices>>
  /**
   * Provides everything the tools need except the per-request services. May
   * still be building (a promise): the handshake is answered meanwhile, and
   * tool calls wait for it.
   */
  readonly runtime: Runtime.Runtime<R | ElicitationCompletions> | PromiseLike<Runtime.Runtime<R | ElicitationCompletions>>
  /** Logins offered as tasks (2026-07-28 clients that declare the tasks extension); none when absent. */
  readonly tasks?: LoginTasks<R>
}

/** How a call ended: its result, cancelled by the client, or a bug in the adapter. */
export type CallOutcome =
  | { readonly _tag: "Result"; readonly result: CallToolResult }
  | { readonly _tag: "Cancelled" }
  | { readonly _tag: "Internal" }

export interface PerCall<R> {
  readonly user: CurrentUserShape
  readonly elicitation: (runtime: Runtime.Runtime<R | ElicitationCompletions>) => ElicitationShape
  readonly progress: ProgressShape
  readonly signal: AbortSignal
}

/** Tools whose token scopes the caller's token covers (the auth tools need none). */
export const visibleTools = <T extends AnyTool>(tools: ReadonlyArray<T>, user: CurrentUserShape) =>
  tools.filter((tool) => Scopes.missing(tool.scopes, user.tokenScopes).length === 0)

const needsApp = (tool: AnyTool): boolean => tool.access === "grant" && tool.app?.presence !== undefined

export const makeToolCalls = <R>(options: ToolCallsOptions<R>) => {
  const byName = new Map(options.tools.map((tool) => [tool.name, tool]))
  const appTools = options.tools.some(needsApp)
  // Until the runtime is built, nothing is known of the user's apps: every tool their token allows is listed.
  let ready: Runtime.Runtime<R | ElicitationCompletions> | undefined
  void Promise.resolve(options.runtime).then(
    (runtime) => (ready = runtime),
    () => undefined
  )

  /** The tools this user can use: their token's, less those of apps their Nextcloud is known to lack. */
  const toolsFor = async (user: CurrentUserShape): Promise<ReadonlyArray<AnyTool>> => {
    const byToken = visibleTools(options.tools, user)
    if (!appTools || ready === undefined) return byToken
    const apps = await Runtime.runPromise(ready)(enabledAppsOf(user.userId))
    return byToken.filter((tool) => tool.access !== "grant" || usable(tool.app, apps))
  }

  const call = async (tool: AnyTool<R | RequestServices>, args: unknown, perCall: PerCall<R>): Promise<CallOutcome> => {
    // Once built, the runtime is taken as it is, without a turn of the microtask queue.
    const runtime = ready ?? (await options.runtime)
    // The call runs on a runtime made for it: the per-request services added to
    // the runtime's context and the log annotations set in its fiber refs. The
    // same as `Effect.provide` + `Effect.annotateLogs`, without wrapping the
    // program in two more layers of fiber-ref bookkeeping on every call.
    const perRequest = Context.merge(
      runtime.context,
      Context.make(CurrentUser, perCall.user).pipe(
        Context.add(Elicitation, perCall.elicitation(runtime)),
        Context.add(Progress, perCall.progress)
      )
    )
    const annotations = HashMap.set(
      HashMap.set(FiberRefs.getOrDefault(runtime.fiberRefs, FiberRef.currentLogAnnotations), "tool", tool.name as unknown),
      "user",
      perCall.user.userId as unknown
    )
    const forCall = Runtime.make({
      context: perRequest,
      runtimeFlags: runtime.runtimeFlags,
      fiberRefs: FiberRefs.updateAs(runtime.fiberRefs, {
        fiberId: FiberId.none,
        fiberRef: FiberRef.currentLogAnnotations,
        value: annotations
      })
    })
    // A call that waits for nothing (the status of a user with no login in progress) has ended by now.
    const ended = fiberExit(Runtime.runFork(forCall)(runTool(tool, args)), perCall.signal)
    const exit = Exit.isExit(ended) ? ended : await ended
    if (Exit.isSuccess(exit)) return { _tag: "Result", result: exit.value }
    if (Cause.isInterruptedOnly(exit.cause)) return { _tag: "Cancelled" }
    // runTool already turns defects into results; anything else here is a bug in the adapter.
    return { _tag: "Internal" }
  }

  /** Run one of the login-task programs on the runtime. */
  const run = async <A>(effect: Effect.Effect<A, unknown, R | ElicitationCompletions>): Promise<A> =>
    Runtime.runPromise(await options.runtime)(effect)

  return {
    tasks: options.tasks,
    run,
    /** Whether any tool belongs to an app that may be missing (then the list depends on the user's Nextcloud). */
    appTools,
    find: (name: string) => byName.get(name),
    toolsFor,
    call
  } as const
}

export type ToolCalls<R> = ReturnType<typeof makeToolCalls<R>>
