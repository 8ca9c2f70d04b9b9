/**
 * MCP over stdin/stdout for one local user. stdout carries only JSON-RPC;
 * the process ends cleanly when stdin closes or on SIGINT/SIGTERM.
 *
 * Both protocol revisions (docs/protocol-revisions.md): the first message
 * decides. One that carries the 2026-07-28 envelope (a `server/discover`
 * probe, or any request with `io.modelcontextprotocol/protocolVersion` in its
 * `_meta`) is served by the v2 SDK's stdio entry; anything else (`initialize`)
 * by the 2025-11-25 `Server`, exactly as before. The first line is put back
 * on stdin for whichever reads on.
 */
import { PassThrough, type Readable } from "node:stream"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"
import { Effect, Runtime } from "effect"
import type { ElicitationCompletions } from "../auth/Elicitation.js"
import type { UserId } from "../domain/Ids.js"
import type { LoginTasks } from "../tools/loginTasks.js"
import type { AnyTool } from "../tools/Tool.js"
import { makeMcpServer, type RequestServices } from "./server.js"
import { makeToolCalls } from "./toolCalls.js"

const PROTOCOL_VERSION_KEY = "io.modelcontextprotocol/protocolVersion"

/** Whether a first message claims the 2026-07-28 envelope (the same rule as the HTTP classifier's). */
export const claimsEnvelope = (line: string): boolean => {
  try {
    const message = JSON.parse(line) as unknown
    if (typeof message !== "object" || message === null || Array.isArray(message)) return false
    const params = (message as { params?: unknown }).params
    const meta = typeof params === "object" && params !== null ? (params as { _meta?: unknown })._meta : undefined
    return typeof meta === "object" && meta !== null && PROTOCOL_VERSION_KEY in meta
  } catch {
    return false
  }
}

/**
 * The first line of `stdin` (null when stdin ends first), read and then put
 * back (`unshift`), so the transport that takes over reads every byte.
 */
const firstLine = (stdin: Readable): Promise<string | null> =>
  new Promise((resolve) => {
    const chunks: Array<Buffer> = []
    const done = (line: string | null) => {
      stdin.off("data", onData)
      stdin.off("end", onEnd)
      stdin.pause()
      if (chunks.length > 0) stdin.unshift(Buffer.concat(chunks))
      resolve(line)
    }
    const onData = (chunk: Buffer) => {
      chunks.push(chunk)
      if (chunk.indexOf(0x0a) >= 0) done(Buffer.concat(chunks).toString("utf8").split("\n")[0] ?? "")
    }
    const onEnd = () => done(null)
    stdin.on("data", onData)
    stdin.once("end", onEnd)
  })

export const serveStdio = <R>(options: {
  readonly userId: UserId
  readonly tools: ReadonlyArray<AnyTool<R | RequestServices>>
  /** May still be building: `initialize` is answered meanwhile (see makeMcpServer). */
  readonly runtime: Runtime.Runtime<R | ElicitationCompletions> | PromiseLike<Runtime.Runtime<R | ElicitationCompletions>>
  /** Logins offered as tasks to 2026-07-28 clients that declare the tasks extension. */
  readonly tasks?: LoginTasks<R>
}) =>
  Effect.gen(function* () {
    const user = { userId: options.userId, tokenScopes: null }
    // Through the server's runtime, so warnings go to its (stderr) logger, never to stdout.
    const warn = (what: string) => (error: unknown) => {
      Promise.resolve(options.runtime).then(
        (runtime) => Runtime.runFork(runtime)(Effect.logWarning(what, String(error))),
        () => undefined
      )
    }
    const line = yield* Effect.promise(() => firstLine(process.stdin))
    const input = process.stdin
    const stdinEnded = Effect.async<void>((resume) => {
      if (input.readableEnded) return resume(Effect.void)
      const done = () => resume(Effect.void)
      input.once("end", done)
      input.once("close", done)
      return Effect.sync(() => {
        input.off("end", done)
        input.off("close", done)
      })
    })

    if (line !== null && claimsEnvelope(line)) {
      // Loaded only for such a client: a 2025-11-25 client's start does not pay for the other SDK.
      const { serveStdio: serveModernStdio, StdioServerTransport: ModernStdioTransport } = yield* Effect.promise(() => import("@modelcontextprotocol/server/stdio"))
      const { makeModernServer, makeSeals } = yield* Effect.promise(() => import("./modern.js"))
      const calls = makeToolCalls(options)
      const seals = makeSeals(undefined)
      const handle = yield* Effect.acquireRelease(
        Effect.sync(() =>
          serveModernStdio(
            () => makeModernServer({ calls, identify: () => user, onError: warn("MCP protocol error") }, seals, () => undefined),
            // Through a pipe, which resumes stdin once the transport reads from it.
            { legacy: "reject", transport: new ModernStdioTransport(input.pipe(new PassThrough()), process.stdout), onerror: warn("MCP protocol error") }
          )
        ),
        (served) => Effect.promise(() => served.close()).pipe(Effect.timeout("1 second"), Effect.ignore)
      )
      void handle
      yield* stdinEnded
      yield* Effect.logInfo("stdin closed; shutting down")
      return
    }

    const server = makeMcpServer({ tools: options.tools, runtime: options.runtime, identify: () => user })
    server.onerror = warn("MCP protocol error")
    yield* Effect.acquireRelease(
      Effect.promise(() => server.connect(new StdioServerTransport(input, process.stdout))),
      () => Effect.promise(() => server.close()).pipe(Effect.timeout("1 second"), Effect.ignore)
    )
    // The transport listens now; stdin was paused after the first line was read.
    input.resume()
    // Until the client goes away: stdin ends, or the transport closes.
    yield* Effect.raceFirst(
      stdinEnded,
      Effect.async<void>((resume) => {
        server.onclose = () => resume(Effect.void)
      })
    )
    yield* Effect.logInfo("stdin closed; shutting down")
  }).pipe(Effect.scoped)
