/**
 * http mode limits (docs/tool-contract.md §8), served in process: a request body without
 * Content-Length past the limit is answered 413 (the connection is not reset),
 * one within it is read whole, an answer far larger than the socket's
 * buffers arrives whole, and the server-wide session cap closes the
 * session idle longest, or the least recently used when all are in use.
 */
import { request } from "node:http"
import { Effect, Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Tool from "../../src/tools/Tool.js"
import { auth, echoTool, initializeSession, listStatus, openStream, postMcp, serveInProcess } from "../support/httpServer.js"
import { startIssuer, type TestIssuer } from "../support/issuer.js"

const AUDIENCE = "limits-audience"


let issuer: TestIssuer

beforeAll(async () => {
  issuer = await startIssuer({ audience: () => AUDIENCE })
})

afterAll(async () => {
  await issuer.close()
})

type Outcome = { readonly status: number; readonly body: string } | { readonly error: string }

/**
 * POSTs `pieces` as a chunked body (no Content-Length), one chunk each,
 * waiting for the socket to drain; stops writing once an answer arrives.
 */
const postChunked = (url: string, token: string, pieces: Iterable<Buffer>): Promise<Outcome> =>
  new Promise((resolve) => {
    let answered = false
    const req = request(
      url,
      {
        method: "POST",
        headers: { ...auth(token), "content-type": "application/json", accept: "application/json, text/event-stream" }
      },
      (res) => {
        answered = true
        let body = ""
        res.setEncoding("utf8")
        res.on("data", (chunk: string) => (body += chunk))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
        res.on("error", (error) => resolve({ error: String(error) }))
      }
    )
    req.on("error", (error: NodeJS.ErrnoException) => {
      if (!answered) resolve({ error: error.code ?? error.message })
    })
    const iterator = pieces[Symbol.iterator]()
    const pump = () => {
      for (let next = iterator.next(); !next.done; next = iterator.next()) {
        if (answered || req.destroyed) return
        if (!req.write(next.value)) {
          req.once("drain", pump)
          return
        }
      }
      if (!answered && !req.destroyed) req.end()
    }
    pump()
  })

function* paddedInitialize(padBytes: number): Generator<Buffer> {
  yield Buffer.from('{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"chunked","version":"0"},"pad":"')
  const piece = Buffer.alloc(64 * 1024, "a")
  for (let sent = 0; sent < padBytes; sent += piece.length) yield piece
  yield Buffer.from('"}}')
}

describe("request bodies without Content-Length", () => {
  it("past 7 MiB the answer is 413, not a reset connection", async () => {
    const server = await serveInProcess(issuer, AUDIENCE, [echoTool])
    const outcome = await postChunked(server.mcpUrl, await issuer.token({ sub: "chunky" }), paddedInitialize(9 * 1024 * 1024))
    expect(outcome).toMatchObject({ status: 413 })
    expect("body" in outcome && JSON.parse(outcome.body)).toMatchObject({ error: { code: -32000 } })
    // The server goes on serving.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
    await server.close()
  }, 20_000)

  it("within the limit it is read whole, even with a character split across chunks", async () => {
    const server = await serveInProcess(issuer, AUDIENCE, [echoTool])
    const name = Buffer.from('"clientInfo":{"name":"zoë ✓","version":"0"}')
    const split = name.indexOf(Buffer.from("✓")) + 1
    const pieces = [
      Buffer.from('{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},'),
      name.subarray(0, split),
      name.subarray(split),
      Buffer.from("}}")
    ]
    const outcome = await postChunked(server.mcpUrl, await issuer.token({ sub: "chunky" }), pieces)
    expect(outcome).toMatchObject({ status: 200 })
    expect("body" in outcome && outcome.body).toContain('"serverInfo"')
    await server.close()
  }, 20_000)
})

/** A tool whose answer is `size` characters of text. */
const bigTool = Tool.open({
  name: "fake_big",
  title: "fake_big",
  description: "answers with a long text",
  annotations: { readOnlyHint: true },
  input: Schema.Struct({ size: Schema.Number }),
  output: Tool.response(["ok"], { text: Schema.String }),
  handler: ({ size }: { readonly size: number }) =>
    Effect.succeed({ status: "ok" as const, message: "done", text: "x".repeat(size - 1) + "!" })
})

describe("large answers", () => {
  it("an answer far larger than the socket's buffers arrives whole and its response ends", async () => {
    const server = await serveInProcess(issuer, AUDIENCE, [bigTool, echoTool])
    const token = await issuer.token({ sub: "big-reader" })
    const session = await initializeSession(server.mcpUrl, token)
    const size = 4 * 1024 * 1024
    const call = { jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "fake_big", arguments: { size } } }
    const answer = await postMcp(server.mcpUrl, call, auth(token, session))
    expect(answer.status).toBe(200)
    // The whole body: it ends only once the server has written all of it and closed the response.
    const events = await answer.text()
    const data = /^data: (.*)$/m.exec(events)?.[1] ?? ""
    const text = (JSON.parse(data) as { result: { structuredContent: { text: string } } }).result.structuredContent.text
    expect(text).toHaveLength(size)
    expect(text.endsWith("x!")).toBe(true)
    expect(await listStatus(server.mcpUrl, token, session)).toBe(200)
    await server.close()
  }, 30_000)
})

describe("server-wide session cap", () => {
  it("one session more than NC_MCP_MAX_SESSIONS closes the one idle longest; one with an open stream stays", async () => {
    const server = await serveInProcess(issuer, AUDIENCE, [echoTool], { maxSessions: 3 })
    const tokens = await Promise.all([1, 2, 3, 4].map((n) => issuer.token({ sub: `everyone-${n}` })))
    const [t1, t2, t3, t4] = tokens as [string, string, string, string]
    const oldest = await initializeSession(server.mcpUrl, t1)
    const stream = await openStream(server.mcpUrl, t1, oldest)
    const idleLongest = await initializeSession(server.mcpUrl, t2)
    const idle = await initializeSession(server.mcpUrl, t3)
    const newest = await initializeSession(server.mcpUrl, t4)
    expect(server.sessions()).toBe(3)
    expect(await listStatus(server.mcpUrl, t2, idleLongest)).toBe(404)
    expect(await listStatus(server.mcpUrl, t3, idle)).toBe(200)
    expect(await listStatus(server.mcpUrl, t4, newest)).toBe(200)
    expect(await listStatus(server.mcpUrl, t1, oldest)).toBe(200)
    stream.abort()
    await server.close()
  }, 20_000)

  it("when every session is in use, the least recently used one goes and its stream ends", async () => {
    const server = await serveInProcess(issuer, AUDIENCE, [echoTool], { maxSessions: 2 })
    const [ta, tb, tc] = (await Promise.all(["a", "b", "c"].map((s) => issuer.token({ sub: `busy-${s}` })))) as [string, string, string]
    const first = await initializeSession(server.mcpUrl, ta)
    const second = await initializeSession(server.mcpUrl, tb)
    const secondStream = await openStream(server.mcpUrl, tb, second)
    const firstStream = await openStream(server.mcpUrl, ta, first)
    await initializeSession(server.mcpUrl, tc)
    // Both are in use; the second's stream began before the first's, so the second was used least recently.
    expect(await listStatus(server.mcpUrl, tb, second)).toBe(404)
    expect(await secondStream.ended).toBe("ended")
    expect(server.sessions()).toBe(2)
    firstStream.abort()
    await server.close()
  }, 20_000)
})
