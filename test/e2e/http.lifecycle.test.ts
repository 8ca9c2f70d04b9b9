/**
 * http mode session lifecycle and hygiene, on the real http module served
 * in-process with fake tools: credentials never reach the MCP transport (and
 * so no request handler), logs go through the tools' runtime without error
 * objects, idle sessions are closed, and one user's sessions are capped.
 */
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js"
import { Duration } from "effect"
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest"
import * as Policy from "../../src/mcp/httpPolicy.js"
import {
  auth,
  connectHttp,
  echoTool,
  initializeSession,
  type InProcessServer,
  listStatus,
  openStream,
  postMcp,
  serveInProcess
} from "../support/httpServer.js"
import { eventually } from "../support/eventually.js"
import { startIssuer, type TestIssuer } from "../support/issuer.js"

const AUDIENCE = "lifecycle-audience"


let issuer: TestIssuer

const serve = (extra: { readonly sessionIdleTimeout?: Duration.DurationInput; readonly maxSessionsPerUser?: number } = {}) =>
  serveInProcess(issuer, AUDIENCE, [echoTool], extra)

const initialize = initializeSession
const list = listStatus

beforeAll(async () => {
  issuer = await startIssuer({ audience: () => AUDIENCE })
})

afterAll(async () => {
  await issuer.close()
})

afterEach(() => {
  vi.restoreAllMocks()
})

describe("credentials stay at the edge", () => {
  it("the headers passed on exclude Authorization, Cookie and Proxy-Authorization (pure)", () => {
    const headers = Policy.forwardedHeaders({
      authorization: "Bearer secret",
      cookie: "sid=1",
      "proxy-authorization": "Basic x",
      accept: "text/event-stream",
      "mcp-session-id": "abc"
    })
    expect(Object.fromEntries(headers.entries())).toEqual({ accept: "text/event-stream", "mcp-session-id": "abc" })
  })

  it("the transport (whose headers become every handler's requestInfo) never sees the token or cookies", async () => {
    const server = await serve()
    const original = WebStandardStreamableHTTPServerTransport.prototype.handleRequest
    const seen: Array<Record<string, string>> = []
    vi.spyOn(WebStandardStreamableHTTPServerTransport.prototype, "handleRequest").mockImplementation(function (
      this: WebStandardStreamableHTTPServerTransport,
      req,
      options
    ) {
      // Exactly what the transport hands request handlers as `extra.requestInfo.headers`.
      seen.push(Object.fromEntries(req.headers.entries()))
      return original.call(this, req, options)
    })
    const token = await issuer.token({ sub: "header-user" })
    const session = await connectHttp(server.mcpUrl, token)
    const r = await postMcp(
      server.mcpUrl,
      { jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "fake_echo", arguments: {} } },
      { ...auth(token, session.transport.sessionId as string), cookie: "nc_session=cookie-secret", "proxy-authorization": "Basic cHJveHk=" }
    )
    expect(r.status).toBe(200)
    expect(await r.text()).toContain("header-user")
    await session.close()
    await server.close()

    expect(seen.length).toBeGreaterThan(2)
    const everything = JSON.stringify(seen)
    expect(everything).not.toContain(token)
    expect(everything).not.toContain("cookie-secret")
    for (const headers of seen) {
      expect(Object.keys(headers)).not.toContain("authorization")
      expect(Object.keys(headers)).not.toContain("cookie")
      expect(Object.keys(headers)).not.toContain("proxy-authorization")
    }
    // The headers the transport needs still arrive.
    expect(seen.some((h) => h["mcp-session-id"] === session.transport.sessionId)).toBe(true)
  })
})

describe("logging", () => {
  it("protocol errors are logged through the tools' runtime (its logger and level)", async () => {
    const server = await serve()
    const token = await issuer.token({ sub: "log-user" })
    const id = await initialize(server.mcpUrl, token)
    // The transport refuses a POST that does not accept SSE and reports it through onerror.
    const r = await fetch(server.mcpUrl, {
      method: "POST",
      headers: { ...auth(token, id), "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 3, method: "tools/list", params: {} })
    })
    expect(r.status).toBe(406)
    await server.close()
    const line = server.logs.find((l) => l.text.includes("MCP protocol error"))
    expect(line, JSON.stringify(server.logs)).toBeDefined()
    expect(line?.level).toBe("DEBUG")
    expect(line?.text).toContain("Not Acceptable")
  })

  it("a transport failure logs its name and message, never the error object", async () => {
    const server = await serve()
    const token = await issuer.token({ sub: "log-user-2" })
    const id = await initialize(server.mcpUrl, token)
    vi.spyOn(WebStandardStreamableHTTPServerTransport.prototype, "handleRequest").mockRejectedValueOnce(
      Object.assign(new Error("stream broke"), { request: { headers: { authorization: `Bearer ${token}` } } })
    )
    expect(await list(server.mcpUrl, token, id)).toBe(500)
    await server.close()
    const line = server.logs.find((l) => l.text.includes("MCP transport failed"))
    expect(line, JSON.stringify(server.logs)).toBeDefined()
    expect(line?.text).toContain("Error: stream broke")
    expect(JSON.stringify(server.logs)).not.toContain(token)
  })
})

describe("per-user session cap", () => {
  let server: InProcessServer
  beforeAll(async () => {
    server = await serve()
  })
  afterAll(async () => {
    await server.close()
  })

  it("the 21st session closes that user's least recently used one; other users are unaffected", async () => {
    const alice = await issuer.token({ sub: "cap-alice" })
    const bob = await issuer.token({ sub: "cap-bob" })
    const bobs = await initialize(server.mcpUrl, bob)
    const alices: Array<string> = []
    for (let i = 0; i < 20; i++) alices.push(await initialize(server.mcpUrl, alice))
    expect(server.sessions()).toBe(21)
    // Using the first makes the second the least recently used.
    await new Promise((resolve) => setTimeout(resolve, 5))
    expect(await list(server.mcpUrl, alice, alices[0] as string)).toBe(200)

    const newest = await initialize(server.mcpUrl, alice)
    expect(await list(server.mcpUrl, alice, alices[1] as string)).toBe(404)
    expect(server.sessions()).toBe(21)
    for (const id of [alices[0], ...alices.slice(2), newest]) {
      expect(await list(server.mcpUrl, alice, id as string), id).toBe(200)
    }
    expect(await list(server.mcpUrl, bob, bobs)).toBe(200)
  })

  it("a configured cap applies, and an evicted session's open stream is closed", async () => {
    const small = await serve({ maxSessionsPerUser: 2 })
    const token = await issuer.token({ sub: "cap-carol" })
    const first = await initialize(small.mcpUrl, token)
    const firstStream = await openStream(small.mcpUrl, token, first)
    const second = await initialize(small.mcpUrl, token)
    const secondStream = await openStream(small.mcpUrl, token, second)
    // Both are in use (open streams): the older one goes.
    await initialize(small.mcpUrl, token)
    expect(await firstStream.ended).toBe("ended")
    expect(await list(small.mcpUrl, token, first)).toBe(404)
    expect(await list(small.mcpUrl, token, second)).toBe(200)
    expect(small.sessions()).toBe(2)
    secondStream.abort()
    await small.close()
  })
})

describe("idle sessions", () => {
  it("a session unused for the idle limit is closed and answers 404; one with an open stream stays", async () => {
    const server = await serve({ sessionIdleTimeout: Duration.millis(300) })
    const token = await issuer.token({ sub: "idle-user" })
    const idle = await initialize(server.mcpUrl, token)
    const busy = await initialize(server.mcpUrl, token)
    const stream = await openStream(server.mcpUrl, token, busy)

    // Polled without touching the session: a request would count as use.
    expect(await eventually(async () => server.sessions() === 1)).toBe(true)
    expect(await list(server.mcpUrl, token, idle)).toBe(404)
    // The streamed session outlives the idle limit several times over while its stream is open.
    await new Promise((resolve) => setTimeout(resolve, 900))
    expect(server.sessions()).toBe(1)
    expect(await list(server.mcpUrl, token, busy)).toBe(200)

    // Once the client drops the stream, it idles out too.
    stream.abort()
    expect(await eventually(async () => server.sessions() === 0)).toBe(true)
    expect(await list(server.mcpUrl, token, busy)).toBe(404)
    await server.close()
  })
})
