/**
 * The real server process in http mode (`node dist/main.js http --port 0`),
 * and MCP SDK clients that talk to it with a bearer token.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import {
  type ClientCapabilities,
  ElicitRequestSchema,
  type ElicitResult
} from "@modelcontextprotocol/sdk/types.js"
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
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000)
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
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${stderr}`)), 15_000)
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
  headers: Record<string, string> = {}
): Promise<Response> =>
  fetch(mcpUrl, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...headers
    },
    body: typeof body === "string" ? body : JSON.stringify(body)
  })

export const initializeBody = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "0" } }
}
