/**
 * The real server process over stdio, driven by the MCP SDK Client, against
 * the simulated Nextcloud on 127.0.0.1.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { afterEach, beforeEach } from "vitest"
import {
  type CallToolResult,
  type ClientCapabilities,
  ElicitRequestSchema,
  type ElicitResult,
  ElicitationCompleteNotificationSchema
} from "@modelcontextprotocol/sdk/types.js"
import { type SimulatorWithApps, startSimulatorWithApps } from "./simulator.js"

export const MAIN = path.resolve(import.meta.dirname, "../../dist/main.js")

export const tempDir = (prefix = "ncmcp-"): { readonly dir: string; readonly cleanup: () => void } => {
  const dir = mkdtempSync(path.join(tmpdir(), prefix))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** The structured result of a tool, loosely typed for assertions. */
export interface ToolOutput {
  readonly status: string
  readonly success: boolean
  readonly message: string
  readonly error_code?: string
  readonly login_url: string
  readonly requested_scopes?: ReadonlyArray<string> | null
  readonly [field: string]: unknown
}

export type ToolResult = CallToolResult & { readonly structuredContent: ToolOutput }

export type ElicitAnswer = "accept" | "decline" | "cancel"

/** What the client saw of one elicitation request. */
export interface SeenElicitation {
  readonly mode: string
  readonly message: string
  readonly url?: string
  readonly elicitationId?: string
  /** Form mode: the requested schema. */
  readonly requestedSchema?: unknown
}

/**
 * A test client's side of elicitation: each request noted in `shown` and
 * answered with the next of `answers` ("cancel" once they run out; a form is
 * accepted with its box ticked), each completion noted in `completed`.
 */
export const answerElicitations = (client: Client, answers: Array<ElicitAnswer>, shown: Array<SeenElicitation>, completed: Array<string>) => {
  client.setRequestHandler(ElicitRequestSchema, async (request): Promise<ElicitResult> => {
    const params = request.params
    shown.push({
      mode: params.mode ?? "form",
      message: params.message,
      ...(params.mode === "url" ? { url: params.url, elicitationId: params.elicitationId } : { requestedSchema: params.requestedSchema })
    })
    const action = answers.shift() ?? "cancel"
    if (action === "accept" && params.mode !== "url") return { action, content: { acknowledged: true } }
    return { action }
  })
  client.setNotificationHandler(ElicitationCompleteNotificationSchema, async (n) => {
    completed.push(n.params.elicitationId)
  })
}

export interface StdioSession {
  readonly client: Client
  readonly stderr: () => string
  /** Elicitation requests the server sent, in order. */
  readonly elicitations: Array<SeenElicitation>
  readonly completedElicitations: Array<string>
  readonly call: (name: string, args?: Record<string, unknown>) => Promise<ToolResult>
  readonly close: () => Promise<void>
  readonly pid: () => number | null
  /** Everything the server wrote to stdout so far (what the client also read). */
  readonly stdout: () => string
  /** Write raw bytes to the server's stdin, bypassing the client (malformed input, hand-made requests). */
  readonly writeRaw: (text: string) => void
  /** Errors the client transport reported (e.g. stdout lines that are not JSON-RPC). */
  readonly transportErrors: Array<string>
}

export interface StartOptions {
  readonly env: Record<string, string>
  readonly capabilities?: ClientCapabilities
  /** Answers to elicitation requests, consumed in order (default "cancel" when exhausted). */
  readonly answers?: Array<ElicitAnswer>
}

export const startStdio = async (options: StartOptions): Promise<StdioSession> => {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [MAIN, "stdio"],
    env: { PATH: process.env["PATH"] ?? "", NC_MCP_LOG_LEVEL: "debug", ...options.env },
    stderr: "pipe"
  })
  let stderr = ""
  transport.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8")
  })
  const client = new Client({ name: "test-client", version: "0.0.1" }, { capabilities: options.capabilities ?? {} })
  const elicitations: StdioSession["elicitations"] = []
  const completedElicitations: Array<string> = []
  const answers = [...(options.answers ?? [])]
  if (options.capabilities?.elicitation !== undefined) answerElicitations(client, answers, elicitations, completedElicitations)
  await client.connect(transport)
  // The SDK keeps the child process private; tests need its raw streams.
  const child = (transport as unknown as { readonly _process?: import("node:child_process").ChildProcess })._process
  let stdout = ""
  child?.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString("utf8")
  })
  const transportErrors: Array<string> = []
  const previousOnError = transport.onerror
  transport.onerror = (error) => {
    transportErrors.push(String(error))
    previousOnError?.(error)
  }
  return {
    client,
    stderr: () => stderr,
    elicitations,
    completedElicitations,
    call: async (name, args = {}) =>
      (await client.callTool({ name, arguments: args })) as ToolResult,
    close: () => client.close(),
    pid: () => transport.pid,
    stdout: () => stdout,
    writeRaw: (text) => {
      if (child?.stdin === null || child?.stdin === undefined) throw new Error("the server's stdin is not available")
      child.stdin.write(text)
    },
    transportErrors
  }
}

export interface StdioFixture {
  /** The simulated Nextcloud of the running test. */
  readonly sim: SimulatorWithApps
  /** The environment the fixture starts the server with (for a client that spawns it itself). */
  readonly env: () => Record<string, string>
  /** Start the server for the running test; `env` adds to or overrides the fixture's. Closed after the test. */
  readonly start: (
    options?: Omit<StartOptions, "env"> & { readonly env?: Record<string, string> }
  ) => Promise<StdioSession>
}

/**
 * Per test: a fresh simulated Nextcloud, a temporary database folder, and the
 * server started in them for `user`, closed after the test (server first).
 * The background poller is kept out of the way: completion is driven through
 * `nc_auth_check_status` unless a test sets NC_MCP_POLL_INTERVAL_SECONDS.
 */
export const useStdioFixture = (user: string): StdioFixture => {
  let sim: SimulatorWithApps | undefined
  let tmp: ReturnType<typeof tempDir> | undefined
  let session: StdioSession | undefined
  beforeEach(async () => {
    sim = await startSimulatorWithApps()
    tmp = tempDir()
  })
  afterEach(async () => {
    await session?.close().catch(() => undefined)
    session = undefined
    await sim?.close()
    tmp?.cleanup()
  })
  const running = <A>(value: A | undefined, what: string): A => {
    if (value === undefined) throw new Error(`${what} is only available inside a test`)
    return value
  }
  const environment = (): Record<string, string> => ({
    NEXTCLOUD_HOST: running(sim, "the simulator").url,
    NC_MCP_DB: `${running(tmp, "the temporary folder").dir}/state.db`,
    NC_MCP_USER: user,
    NC_MCP_POLL_INTERVAL_SECONDS: "3600"
  })
  return {
    get sim() {
      return running(sim, "the simulator")
    },
    env: () => environment(),
    start: async (options = {}) => {
      session = await startStdio({ ...options, env: { ...environment(), ...options.env } })
      return session
    }
  }
}
