/**
 * The session table of http mode, driven directly with web requests and a
 * real MCP Server: a response that is never delivered (its request was
 * abandoned after the hand-off, before the response began) cancels the
 * requests it was to answer and frees the session; a delivered one does not.
 */
import { describe, expect, it } from "@effect/vitest"
import type { HttpServerResponse } from "@effect/platform"
import { Readable } from "node:stream"
import { Effect, Layer, Option, Stream } from "effect"
import { ElicitationCompletions } from "../../src/auth/Elicitation.js"
import { UserId } from "../../src/domain/Ids.js"
import { authInfoOf } from "../../src/mcp/http/auth.js"
import { makeSessions, type Session } from "../../src/mcp/http/sessions.js"
import * as Policy from "../../src/mcp/httpPolicy.js"
import { eventuallyEffect } from "../support/eventually.js"
import { echoTool, waitingTool } from "../support/httpServer.js"

const alice = UserId.make("alice")
const ep = Policy.endpoints(new URL("http://127.0.0.1:1"))
const authInfo = authInfoOf({ userId: alice, scopes: [], clientId: "test", expiresAt: undefined }, ep)

const events: Array<string> = []

const wait = waitingTool(events)

const post = (sessionId?: string) =>
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

/** The whole body of a response, as text: an event stream (GET), or a Node stream (a POST's events). */
const read = (response: HttpServerResponse.HttpServerResponse) => {
  const body = response.body
  if (body._tag === "Stream") {
    return Stream.runCollect(body.stream).pipe(Effect.map((chunks) => Array.from(chunks, (c) => new TextDecoder().decode(c)).join("")))
  }
  if (body._tag === "Raw" && body.body instanceof Readable) {
    const events = body.body
    return Effect.promise(async () => {
      let text = ""
      for await (const chunk of events) text += new TextDecoder().decode(chunk as Uint8Array)
      return text
    })
  }
  return Effect.succeed("")
}

/** The sessions over a real runtime, and alice's initialised session. */
const setup = Effect.gen(function* () {
  const runtime = yield* Layer.toRuntime(ElicitationCompletions.layer)
  const sessions = yield* makeSessions({ tools: [wait, echoTool], runtime })
  const send = (session: Session, message: unknown, sessionId?: string) =>
    Effect.scoped(Effect.flatMap(sessions.forward(session, post(sessionId), Option.some(message), authInfo), read))
  const initialize = {
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "unit", version: "0" } }
  }
  const session = yield* Effect.acquireUseRelease(
    sessions.open(alice),
    (opened) => Effect.as(send(opened, initialize), opened),
    sessions.settleOpened
  )
  const id = session.transport.sessionId
  if (id === undefined) return yield* Effect.die("no session was opened")
  yield* send(session, { jsonrpc: "2.0", method: "notifications/initialized" }, id)
  return { sessions, session, id, send }
})

describe("http sessions", () => {
  it.scopedLive("a response never delivered cancels its requests and frees the session; a delivered one does not", () =>
    Effect.gen(function* () {
      const { id, send, session, sessions } = yield* setup
      // The request was abandoned once handed off: its scope closes without running the response's stream.
      yield* Effect.scoped(sessions.forward(session, post(id), Option.some(call(5, "fake_wait", { label: "dropped" })), authInfo))
      expect(yield* eventuallyEffect(Effect.sync(() => events.includes("interrupted dropped")))).toBe(true)
      expect(session.open).toBe(0)

      const text = yield* send(session, call(6, "fake_echo", {}), id)
      expect(text).toContain('\\"user_id\\":\\"alice\\"')
      expect(session.open).toBe(0)
      expect(sessions.find(id, alice)).toBe(session)
    }))
})

