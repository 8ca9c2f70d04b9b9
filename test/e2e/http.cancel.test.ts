/**
 * An http tool call ends with its client (docs/tool-contract.md §8): when the client
 * closes the POST's response stream, or cancels the request
 * (`notifications/cancelled`), the tool's program is interrupted, and the
 * session goes on serving.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  auth,
  connectHttp,
  echoTool,
  initializeSession,
  type InProcessServer,
  postMcp,
  serveInProcess,
  waitingTool
} from "../support/httpServer.js"
import { eventually } from "../support/eventually.js"
import { startIssuer, type TestIssuer } from "../support/issuer.js"

const AUDIENCE = "cancel-audience"

/** What the waiting tool went through, by label: "started", then "interrupted" if it was. */
const events: Array<string> = []

const wait = waitingTool(events)

let issuer: TestIssuer
let server: InProcessServer

beforeAll(async () => {
  issuer = await startIssuer({ audience: () => AUDIENCE })
  server = await serveInProcess(issuer, AUDIENCE, [wait, echoTool])
})

afterAll(async () => {
  await server.close()
  await issuer.close()
})

const call = (name: string, args: Record<string, unknown>, id: number) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name, arguments: args }
})

describe("a tool call whose client has gone", () => {
  it("is interrupted when the client closes the POST's response stream; the session goes on", async () => {
    const token = await issuer.token({ sub: "leaver" })
    const sessionId = await initializeSession(server.mcpUrl, token)
    const abort = new AbortController()
    // The response head comes with the first event, so the call is not awaited before the client gives up.
    const answer = postMcp(server.mcpUrl, call("fake_wait", { label: "dropped" }, 5), auth(token, sessionId), abort.signal).then(
      (r) => r.text()
    )
    expect(await eventually(() => events.includes("started dropped"))).toBe(true)
    abort.abort()
    await expect(answer).rejects.toThrow()
    expect(await eventually(() => events.includes("interrupted dropped"))).toBe(true)
    expect(server.logs.some((l) => l.text.includes("cancelled 1 request(s): the client went away"))).toBe(true)

    const after = await postMcp(server.mcpUrl, call("fake_echo", {}, 6), auth(token, sessionId))
    expect(after.status).toBe(200)
    expect(await after.text()).toContain('"user_id":"leaver"')
  }, 20_000)

  it("is interrupted when the client cancels the request (notifications/cancelled)", async () => {
    const session = await connectHttp(server.mcpUrl, await issuer.token({ sub: "canceller" }))
    const abort = new AbortController()
    const pending = session.client.callTool({ name: "fake_wait", arguments: { label: "cancelled" } }, undefined, {
      signal: abort.signal
    })
    const settled = pending.then(
      () => "resolved",
      () => "rejected"
    )
    expect(await eventually(() => events.includes("started cancelled"))).toBe(true)
    abort.abort("changed my mind")
    expect(await settled).toBe("rejected")
    expect(await eventually(() => events.includes("interrupted cancelled"))).toBe(true)
    expect((await session.call("fake_echo")).structuredContent).toMatchObject({ user_id: "canceller" })
    await session.close()
  }, 20_000)
})
