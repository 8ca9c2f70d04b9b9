/**
 * The session table of http mode, driven directly with web requests and a
 * real MCP Server, its answers written to real Node responses on 127.0.0.1:
 * an answer whose client went away before it was delivered cancels the
 * requests it was to answer and frees the session; a delivered one does not.
 */
import { createServer, request, type Server as NodeServer } from "node:http"
import type { AddressInfo } from "node:net"
import { Effect, Exit, Layer, Option, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ElicitationCompletions } from "../../src/auth/Elicitation.js"
import { UserId } from "../../src/domain/Ids.js"
import { authInfoOf } from "../../src/mcp/http/auth.js"
import { watchClient } from "../../src/mcp/http/messages.js"
import { makeSessions, type Session, type Sessions } from "../../src/mcp/http/sessions.js"
import * as Policy from "../../src/mcp/httpPolicy.js"
import { eventually } from "../support/eventually.js"
import { echoTool, waitingTool } from "../support/httpServer.js"

const alice = UserId.make("alice")
const ep = Policy.endpoints(new URL("http://127.0.0.1:1"))
const authInfo = authInfoOf({ userId: alice, scopes: [], clientId: "test", expiresAt: undefined }, ep)

const events: Array<string> = []

const webPost = (sessionId?: string) =>
  new Request(ep.resource, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...(sessionId !== undefined ? { "mcp-session-id": sessionId, "mcp-protocol-version": "2025-06-18" } : {})
    }
  })

const call = (id: number, name: string, args: Record<string, unknown>) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name, arguments: args }
})

const initialize = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "unit", version: "0" } }
}

const scope = Effect.runSync(Scope.make())
let sessions: Sessions
/** The message each request to `node` hands to `session` (set by the test before it sends). */
let next: { readonly session: Session; readonly message: unknown; readonly sessionId?: string } | undefined
let node: NodeServer
let port = 0

beforeAll(async () => {
  sessions = await Effect.runPromise(
    Effect.gen(function* () {
      const runtime = yield* Layer.toRuntime(ElicitationCompletions.layer)
      return yield* makeSessions({ tools: [waitingTool(events), echoTool], runtime })
    }).pipe(Scope.extend(scope))
  )
  node = createServer((req, res) => {
    const { session, message, sessionId } = next as NonNullable<typeof next>
    req.resume()
    void sessions.forward(session, webPost(sessionId), Option.some(message), authInfo, res, watchClient(res))
  })
  await new Promise<void>((resolve) => node.listen(0, "127.0.0.1", resolve))
  port = (node.address() as AddressInfo).port
})

afterAll(async () => {
  node.closeAllConnections()
  await new Promise((resolve) => node.close(resolve))
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

/** Send one message through the session: the whole answer as text, and the request (to abandon it). */
const send = (session: Session, message: unknown, sessionId?: string) => {
  next = { session, message, ...(sessionId !== undefined ? { sessionId } : {}) }
  const req = request({ host: "127.0.0.1", port, method: "POST", path: "/mcp", agent: false })
  const answer = new Promise<string>((resolve, reject) => {
    req.on("response", (res) => {
      let text = ""
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => (text += chunk))
      res.on("end", () => resolve(text))
    })
    req.on("error", reject)
  })
  req.end()
  return { answer, req }
}

describe("http sessions", () => {
  it("an answer whose client went away cancels its requests and frees the session; a delivered one does not", async () => {
    const session = await Effect.runPromise(sessions.open(alice))
    await send(session, initialize).answer
    await Effect.runPromise(sessions.settleOpened(session))
    const id = session.transport.sessionId
    expect(id).toBeDefined()
    await send(session, { jsonrpc: "2.0", method: "notifications/initialized" }, id).answer

    // The client leaves while the tool still waits for its answer.
    const dropped = send(session, call(5, "fake_wait", { label: "dropped" }), id)
    dropped.answer.catch(() => undefined)
    expect(await eventually(() => events.includes("started dropped")), "the tool started").toBe(true)
    expect(session.open).toBe(1)
    dropped.req.destroy()
    expect(await eventually(() => events.includes("interrupted dropped")), "the tool was interrupted").toBe(true)
    expect(await eventually(() => session.open === 0), "the session is free").toBe(true)

    const text = await send(session, call(6, "fake_echo", {}), id).answer
    expect(text).toContain('\\"user_id\\":\\"alice\\"')
    expect(session.open).toBe(0)
    expect(sessions.find(id as string, alice)).toBe(session)
  })
})
