/**
 * The real server process in http mode (`node dist/main.js http --port 0`),
 * the http module served in process, and MCP SDK clients and raw requests
 * that talk to either with a bearer token.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { inspect } from "node:util"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import {
  type ClientCapabilities,
  ElicitRequestSchema,
  type ElicitResult
} from "@modelcontextprotocol/sdk/types.js"
import { Effect, Exit, Layer, Logger, LogLevel, Option, Schema, Scope } from "effect"
import { CurrentUser } from "../../src/auth/CurrentUser.js"
import { ElicitationCompletions } from "../../src/auth/Elicitation.js"
import { serveHttp, type ServeHttpOptions } from "../../src/mcp/http/serve.js"
import type { RequestServices } from "../../src/mcp/server.js"
import * as Tool from "../../src/tools/Tool.js"
import type { TestIssuer } from "./issuer.js"
import { type ElicitAnswer, MAIN, type ToolResult } from "./stdioServer.js"

export interface HttpServerProcess {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  readonly mcpUrl: string
  readonly port: number
  readonly child: ChildProcess
  readonly stderr: () => string
  /** Send a signal and wait for the exit code (null when killed by a signal). */
  readonly stop: (signal?: NodeJS.Signals) => Promise<number | null>
}

export interface SpawnHttpOptions {
  readonly env: Record<string, string>
  readonly args?: ReadonlyArray<string>
}

/**
 * How long a spawned server may take to start or to exit before it counts
 * as hung. Generous: several processes starting at once on a machine
 * running another suite take many seconds each, and readiness is signalled
 * (the "listening on" line, the exit event), so a passing test never waits it out.
 */
export const SPAWN_DEADLINE_MS = 45_000

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode)
    else child.once("exit", (code) => resolve(code))
  })

/** Run the CLI to completion (for configuration errors). */
export const runHttpCommand = async (
  options: SpawnHttpOptions
): Promise<{ readonly code: number | null; readonly stderr: string; readonly stdout: string }> => {
  const child = spawn(process.execPath, [MAIN, "http", "--port", "0", ...(options.args ?? [])], {
    env: { PATH: process.env["PATH"] ?? "", ...options.env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stderr = ""
  let stdout = ""
  child.stderr?.on("data", (c: Buffer) => (stderr += c.toString("utf8")))
  child.stdout?.on("data", (c: Buffer) => (stdout += c.toString("utf8")))
  // Only a hang is killed; a slow start on a loaded machine is not (see SPAWN_DEADLINE_MS).
  const timer = setTimeout(() => child.kill("SIGKILL"), SPAWN_DEADLINE_MS)
  const code = await exited(child)
  clearTimeout(timer)
  return { code, stderr, stdout }
}

export const spawnHttpServer = async (options: SpawnHttpOptions): Promise<HttpServerProcess> => {
  const child = spawn(process.execPath, [MAIN, "http", "--port", "0", ...(options.args ?? [])], {
    env: { PATH: process.env["PATH"] ?? "", NC_MCP_LOG_LEVEL: "info", ...options.env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stderr = ""
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Not left running once the test gives up on it.
      child.kill("SIGKILL")
      reject(new Error(`server did not start:\n${stderr}`))
    }, SPAWN_DEADLINE_MS)
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8")
      const match = /listening on (http:\/\/[^;\s]+);/.exec(stderr)
      if (match?.[1] !== undefined) {
        clearTimeout(timer)
        resolve(match[1])
      }
    })
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`server exited with ${code}:\n${stderr}`))
    })
  })
  const done = exited(child)
  return {
    url,
    mcpUrl: `${url}/mcp`,
    port: Number(new URL(url).port),
    child,
    stderr: () => stderr,
    stop: async (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return done
    }
  }
}

export interface HttpSession {
  readonly client: Client
  readonly transport: StreamableHTTPClientTransport
  readonly elicitations: Array<{ readonly mode: string; readonly message: string; readonly url?: string }>
  readonly call: (name: string, args?: Record<string, unknown>) => Promise<ToolResult>
  readonly close: () => Promise<void>
}

export const connectHttp = async (
  mcpUrl: string,
  token: string,
  options: { readonly capabilities?: ClientCapabilities; readonly answers?: Array<ElicitAnswer> } = {}
): Promise<HttpSession> => {
  const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } }
  })
  const client = new Client({ name: "http-test-client", version: "0.0.1" }, { capabilities: options.capabilities ?? {} })
  const elicitations: HttpSession["elicitations"] = []
  const answers = [...(options.answers ?? [])]
  if (options.capabilities?.elicitation !== undefined) {
    client.setRequestHandler(ElicitRequestSchema, async (request): Promise<ElicitResult> => {
      const params = request.params
      elicitations.push({
        mode: params.mode ?? "form",
        message: params.message,
        ...(params.mode === "url" ? { url: params.url } : {})
      })
      const action = answers.shift() ?? "cancel"
      if (action === "accept" && params.mode !== "url") return { action, content: { acknowledged: true } }
      return { action }
    })
  }
  await client.connect(transport)
  return {
    client,
    transport,
    elicitations,
    call: async (name, args = {}) => (await client.callTool({ name, arguments: args })) as ToolResult,
    close: () => client.close()
  }
}

/** A raw JSON-RPC POST to /mcp (for status codes and headers the SDK client hides). */
export const postMcp = (
  mcpUrl: string,
  body: unknown,
  headers: Record<string, string> = {},
  signal?: AbortSignal
): Promise<Response> =>
  fetch(mcpUrl, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...headers
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...(signal !== undefined ? { signal } : {})
  })

export const initializeBody = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "0" } }
}

// ---------------------------------------------------------------------------
// In process: the http module served inside the test, with the tools given

export interface LogLine {
  readonly level: string
  readonly text: string
}

export interface InProcessServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  readonly mcpUrl: string
  readonly sessions: () => number
  /** Everything logged (debug and up), by the server and the tools. */
  readonly logs: Array<LogLine>
  readonly close: () => Promise<void>
}

/** A tool that needs nothing but the caller, and answers with their id. */
export const echoTool = Tool.open({
  name: "fake_echo",
  title: "fake_echo",
  description: "answers with the caller",
  annotations: { readOnlyHint: true },
  input: Schema.Struct({}),
  output: Tool.response(["ok"], { user_id: Schema.String }),
  handler: () => Effect.map(CurrentUser, (user) => ({ status: "ok" as const, message: "done", user_id: user.userId }))
})

/** A tool that waits until interrupted, noting "started <label>" and then "interrupted <label>" in `events`. */
export const waitingTool = (events: Array<string>) =>
  Tool.open({
    name: "fake_wait",
    title: "fake_wait",
    description: "waits until interrupted",
    annotations: { readOnlyHint: true },
    input: Schema.Struct({ label: Schema.String }),
    output: Tool.response(["ok"], {}),
    handler: ({ label }: { readonly label: string }) =>
      Effect.sync(() => events.push(`started ${label}`)).pipe(
        Effect.zipRight(Effect.never),
        Effect.onInterrupt(() => Effect.sync(() => events.push(`interrupted ${label}`)))
      )
  })

/**
 * `serveHttp` on 127.0.0.1:0 with `tools` (which may need only the
 * per-request services), tokens checked against `issuer` with `audience`.
 * The key set is the issuer's JWKS URL unless `overrides` says otherwise.
 */
export const serveInProcess = async (
  issuer: TestIssuer,
  audience: string,
  tools: ReadonlyArray<Tool.AnyTool<RequestServices>>,
  overrides: Partial<Omit<ServeHttpOptions<never>, "tools" | "runtime">> = {}
): Promise<InProcessServer> => {
  const logs: Array<LogLine> = []
  const capture = Layer.merge(
    Logger.replace(
      Logger.defaultLogger,
      Logger.make(({ logLevel, message }) => {
        logs.push({ level: logLevel.label, text: inspect(message, { depth: 8 }) })
      })
    ),
    Logger.minimumLogLevel(LogLevel.Debug)
  )
  const scope = Effect.runSync(Scope.make())
  const served = await Effect.runPromise(
    Effect.gen(function* () {
      const runtime = yield* Layer.toRuntime(Layer.merge(ElicitationCompletions.layer, capture))
      return yield* serveHttp({
        host: "127.0.0.1",
        port: 0,
        issuer: issuer.url,
        jwksUrl: Option.some(new URL(issuer.jwksUrl)),
        audience: Option.some(audience),
        publicUrl: Option.none(),
        tools,
        runtime,
        ...overrides
      }).pipe(Effect.provide(capture))
    }).pipe(Scope.extend(scope))
  )
  return {
    url: served.endpoints.publicUrl,
    mcpUrl: served.endpoints.resource,
    sessions: served.sessions,
    logs,
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/** Headers of a raw request: the bearer token, and the session once there is one. */
export const auth = (token: string, sessionId?: string): Record<string, string> => ({
  authorization: `Bearer ${token}`,
  ...(sessionId !== undefined ? { "mcp-session-id": sessionId, "mcp-protocol-version": "2025-06-18" } : {})
})

/** A session opened with raw requests (no GET stream), so it is idle between requests. */
export const initializeSession = async (mcpUrl: string, token: string): Promise<string> => {
  const r = await postMcp(mcpUrl, initializeBody, auth(token))
  await r.text()
  const id = r.headers.get("mcp-session-id")
  if (r.status !== 200 || id === null) throw new Error(`initialize answered ${r.status}`)
  const note = await postMcp(mcpUrl, { jsonrpc: "2.0", method: "notifications/initialized" }, auth(token, id))
  await note.text()
  return id
}

/** The status of a tools/list on the session (200 alive, 404 gone). */
export const listStatus = async (mcpUrl: string, token: string, sessionId: string): Promise<number> => {
  const r = await postMcp(mcpUrl, { jsonrpc: "2.0", id: 2, method: "tools/list", params: {} }, auth(token, sessionId))
  await r.text()
  return r.status
}

/** A client's GET stream on the session; `ended` resolves when the server closes it. */
export const openStream = async (mcpUrl: string, token: string, sessionId: string) => {
  const abort = new AbortController()
  const r = await fetch(mcpUrl, { headers: { ...auth(token, sessionId), accept: "text/event-stream" }, signal: abort.signal })
  if (r.status !== 200) throw new Error(`GET stream answered ${r.status}`)
  const reader = (r.body as ReadableStream<Uint8Array>).getReader()
  const drain = async (): Promise<"ended"> => ((await reader.read()).done ? "ended" : drain())
  return { ended: drain().catch(() => "ended" as const), abort: () => abort.abort() }
}

// ---------------------------------------------------------------------------
// MCP 2026-07-28 by hand: one stateless request, its answer

export const MODERN_REVISION = "2026-07-28"

/** The `_meta` envelope of a 2026-07-28 request declaring `capabilities`. */
export const envelopeOf = (capabilities: Record<string, unknown> = {}) => ({
  "io.modelcontextprotocol/protocolVersion": MODERN_REVISION,
  "io.modelcontextprotocol/clientCapabilities": capabilities
})

/** The name-shaped field a 2026-07-28 request mirrors into `Mcp-Name`. */
const nameOf = (method: string, params: Record<string, unknown>): string | undefined =>
  method === "tools/call" || method === "prompts/get" ? String(params["name"]) : method.startsWith("tasks/") ? String(params["taskId"]) : undefined

/** A raw 2026-07-28 POST: the envelope in `_meta`, the version, method and name headers. */
export const modernPost = (
  mcpUrl: string,
  token: string,
  method: string,
  params: Record<string, unknown>,
  options: { readonly capabilities?: Record<string, unknown>; readonly headers?: Record<string, string> } = {}
): Promise<Response> => {
  const name = nameOf(method, params)
  return postMcp(
    mcpUrl,
    { jsonrpc: "2.0", id: 7, method, params: { ...params, _meta: envelopeOf(options.capabilities) } },
    {
      authorization: `Bearer ${token}`,
      "mcp-protocol-version": MODERN_REVISION,
      "mcp-method": method,
      ...(name !== undefined ? { "mcp-name": name } : {}),
      ...options.headers
    }
  )
}

/** The JSON-RPC answer of a response, whether sent as JSON or as SSE events (the last one). */
export const answerOf = async (response: Response): Promise<Record<string, unknown>> => {
  const text = await response.text()
  if ((response.headers.get("content-type") ?? "").includes("text/event-stream")) {
    const data = text.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim())
    return JSON.parse(data[data.length - 1] ?? "{}") as Record<string, unknown>
  }
  return JSON.parse(text) as Record<string, unknown>
}
