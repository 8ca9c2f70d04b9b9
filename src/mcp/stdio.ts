/**
 * MCP over stdin/stdout for one local user. stdout carries only JSON-RPC;
 * the process ends cleanly when stdin closes or on SIGINT/SIGTERM.
 */
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"
import { Effect, Runtime } from "effect"
import type { ElicitationCompletions } from "../auth/Elicitation.js"
import type { UserId } from "../domain/Ids.js"
import type { AnyTool } from "../tools/Tool.js"
import { makeMcpServer, type RequestServices } from "./server.js"

export const serveStdio = <R>(options: {
  readonly userId: UserId
  readonly tools: ReadonlyArray<AnyTool<R | RequestServices>>
  /** May still be building: `initialize` is answered meanwhile (see makeMcpServer). */
  readonly runtime: Runtime.Runtime<R | ElicitationCompletions> | PromiseLike<Runtime.Runtime<R | ElicitationCompletions>>
}) =>
  Effect.gen(function* () {
    const server = makeMcpServer({
      tools: options.tools,
      runtime: options.runtime,
      identify: () => ({ userId: options.userId, tokenScopes: null })
    })
    const transport = new StdioServerTransport()
    // Through the server's runtime, so the warning goes to its (stderr) logger, never to stdout.
    server.onerror = (error) => {
      Promise.resolve(options.runtime).then(
        (runtime) => Runtime.runFork(runtime)(Effect.logWarning("MCP protocol error", String(error))),
        () => undefined
      )
    }
    yield* Effect.acquireRelease(
      Effect.promise(() => server.connect(transport)),
      () => Effect.promise(() => server.close()).pipe(Effect.timeout("1 second"), Effect.ignore)
    )
    // Until the client goes away: stdin ends, or the transport closes.
    yield* Effect.async<void>((resume) => {
      const done = () => resume(Effect.void)
      process.stdin.once("end", done)
      process.stdin.once("close", done)
      server.onclose = done
      return Effect.sync(() => {
        process.stdin.off("end", done)
        process.stdin.off("close", done)
      })
    })
    yield* Effect.logInfo("stdin closed; shutting down")
  }).pipe(Effect.scoped)
