/**
 * Both protocol revisions on one running http server (the built server, one
 * process, SQLite, the simulated Nextcloud): a 2026-07-28 client (stateless,
 * `server/discover`, the per-request `_meta` envelope) and a 2025-11-25
 * client (a session opened by `initialize`) provision, list and call tools
 * side by side, and see the same user's grant. Raw requests check what the
 * SDK clients hide: no session header, cache hints on the per-user list,
 * `Mcp-Method` checked against the body, the 403 challenge naming every
 * scope a call needs.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from "@modelcontextprotocol/client"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ALL_SCOPES } from "../../src/domain/Scope.js"
import { TOOLS_LIST_TTL_MS } from "../../src/mcp/modern.js"
import { eventually } from "../support/eventually.js"
import {
  answerOf,
  connectHttp,
  envelopeOf,
  type HttpServerProcess,
  type HttpSession,
  modernPost as postModern,
  postMcp,
  spawnHttpServer
} from "../support/httpServer.js"
import { startIssuer, type TestIssuer } from "../support/issuer.js"
import { type SimulatorWithApps, startSimulatorWithApps } from "../support/simulator.js"

const AUDIENCE = "https://mcp.revisions.test/mcp"
const MODERN = "2026-07-28"

let issuer: TestIssuer
let sim: SimulatorWithApps
let server: HttpServerProcess
let dir: string
const closers: Array<() => Promise<void>> = []

const modernClient = async (token: string, answer?: (request: { readonly mode?: string; readonly url?: string; readonly message: string }) => "accept" | "decline" | "cancel") => {
  const client = new ModernClient(
    { name: "modern-test-client", version: "0.0.1" },
    { capabilities: answer === undefined ? {} : { elicitation: { url: {} } }, versionNegotiation: { mode: { pin: MODERN } } }
  )
  if (answer !== undefined) {
    client.setRequestHandler("elicitation/create", async (request) => ({ action: answer(request.params as never) }))
  }
  await client.connect(new ModernTransport(new URL(server.mcpUrl), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }))
  closers.push(() => client.close())
  return client
}

const legacyClient = async (token: string): Promise<HttpSession> => {
  const session = await connectHttp(server.mcpUrl, token)
  closers.push(() => session.close())
  return session
}

/** The `_meta` envelope a 2026-07-28 request carries. */
const envelope = envelopeOf()

const modernPost = (token: string, method: string, params: Record<string, unknown>, headers: Record<string, string> = {}) =>
  postModern(server.mcpUrl, token, method, params, { headers })

beforeAll(async () => {
  issuer = await startIssuer({ audience: () => AUDIENCE })
  sim = await startSimulatorWithApps()
  dir = mkdtempSync(path.join(tmpdir(), "ncmcp-revisions-"))
  server = await spawnHttpServer({
    env: {
      NEXTCLOUD_HOST: sim.url,
      NC_MCP_DB: path.join(dir, "state.db"),
      NC_MCP_ENCRYPTION_KEY: Buffer.alloc(32, 3).toString("base64"),
      NC_MCP_OIDC_ISSUER: issuer.url,
      NC_MCP_AUDIENCE: AUDIENCE,
      NC_MCP_POLL_INTERVAL_SECONDS: "0.2"
    }
  })
})

afterAll(async () => {
  await Promise.all(closers.map((close) => close().catch(() => undefined)))
  await server?.stop()
  await sim?.close()
  await issuer?.close()
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

describe("MCP 2026-07-28 and 2025-11-25 on one http server", () => {
  it("a 2026-07-28 client provisions and uses the tools statelessly; a 2025-11-25 client of the same user sees the grant", async () => {
    const token = await issuer.token({ sub: "alice", scope: ALL_SCOPES.join(" ") })
    const modern = await modernClient(token)
    expect(modern.getNegotiatedProtocolVersion()).toBe(MODERN)
    const names = (await modern.listTools()).tools.map((t) => t.name)
    expect(names).toContain("nc_auth_provision_access")
    expect(names).toContain("nc_notes_create")

    const started = await modern.callTool({ name: "nc_auth_provision_access", arguments: { scopes: ["notes.read", "notes.write"] } })
    const loginUrl = (started.structuredContent as { login_url: string }).login_url
    expect(loginUrl).toContain("/login/v2/flow/")
    // Without elicitation the URL is in the text the client shows.
    expect(JSON.stringify(started.content)).toContain(loginUrl)
    await sim.grant({ flow: loginUrl, userId: "alice" })
    const status = async () => ((await modern.callTool({ name: "nc_auth_check_status", arguments: {} })).structuredContent as { status: string }).status
    expect(await eventually(async () => (await status()) === "provisioned")).toBe(true)

    const created = await modern.callTool({ name: "nc_notes_create", arguments: { title: "From 2026", content: "stateless" } })
    expect(created.isError ?? false, JSON.stringify(created.structuredContent)).toBe(false)

    const legacy = await legacyClient(token)
    const listed = await legacy.call("nc_notes_list")
    expect(listed.isError ?? false, JSON.stringify(listed.structuredContent)).toBe(false)
    expect(JSON.stringify(listed.structuredContent)).toContain("From 2026")
    // And the other way round: the 2025 session's write is read by the 2026 client.
    const second = await legacy.call("nc_notes_create", { title: "From 2025", content: "session" })
    expect(second.isError ?? false, JSON.stringify(second.structuredContent)).toBe(false)
    const seen = await modern.callTool({ name: "nc_notes_list", arguments: {} })
    expect(JSON.stringify(seen.structuredContent)).toContain("From 2025")
  })

  it("answers without a session, marks the per-user tools/list private with a short ttl, in a stable order", async () => {
    const token = await issuer.token({ sub: "bob", scope: "notes.read" })
    const first = await modernPost(token, "tools/list", {})
    expect(first.status).toBe(200)
    expect(first.headers.get("mcp-session-id")).toBeNull()
    const answer = (await answerOf(first))["result"] as { tools: Array<{ name: string }>; ttlMs: number; cacheScope: string }
    expect(answer.cacheScope).toBe("private")
    expect(answer.ttlMs).toBe(TOOLS_LIST_TTL_MS)
    expect(answer.tools.map((t) => t.name)).toContain("nc_notes_list")
    // Only what the token allows.
    expect(answer.tools.map((t) => t.name)).not.toContain("nc_notes_create")
    const again = (await answerOf(await modernPost(token, "tools/list", {})))["result"] as { tools: Array<{ name: string }> }
    expect(again.tools.map((t) => t.name)).toEqual(answer.tools.map((t) => t.name))

    const discovered = (await answerOf(await modernPost(token, "server/discover", {})))["result"] as { supportedVersions: Array<string> }
    expect(discovered.supportedVersions).toContain(MODERN)
  })

  it("refuses an Mcp-Method header that does not match the body, and a call the token does not cover with a 403 naming the scopes it needs", async () => {
    const token = await issuer.token({ sub: "bob", scope: "notes.read" })
    const mismatch = await modernPost(token, "tools/list", {}, { "mcp-method": "tools/call" })
    expect(mismatch.status).toBe(400)
    expect(((await answerOf(mismatch))["error"] as { code: number }).code).toBe(-32020)

    const refused = await modernPost(token, "tools/call", { name: "nc_notes_update", arguments: { id: 1, content: "x" } })
    expect(refused.status).toBe(403)
    const challenge = refused.headers.get("www-authenticate") ?? ""
    expect(challenge).toContain('error="insufficient_scope"')
    expect(challenge).toContain('scope="notes.write"')
    expect(challenge).toContain("resource_metadata=")
    await refused.text()
  })

  it("a 2025-11-25 request without a session is still refused as before, and its session never serves a 2026 request of another user", async () => {
    const token = await issuer.token({ sub: "bob", scope: "notes.read" })
    const bare = await postMcp(server.mcpUrl, { jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }, { authorization: `Bearer ${token}` })
    expect(bare.status).toBe(400)
    await bare.text()
    // A modern request naming a session id is answered statelessly for its own caller.
    const other = await issuer.token({ sub: "carol", scope: "notes.read" })
    const legacy = await legacyClient(token)
    const sessionId = legacy.transport.sessionId as string
    const crossed = await modernPost(other, "tools/call", { name: "nc_auth_check_status", arguments: {} }, { "mcp-session-id": sessionId })
    const result = (await answerOf(crossed))["result"] as { structuredContent: { status: string } }
    expect(result.structuredContent.status).toBe("not_initiated")
  })

  it("shows the login URL through InputRequiredResult to a client that declares URL elicitation, and takes its answer on the second round", async () => {
    const token = await issuer.token({ sub: "dora", scope: ALL_SCOPES.join(" ") })
    const shown: Array<{ mode?: string; url?: string; message: string }> = []
    const modern = await modernClient(token, (request) => {
      shown.push(request)
      return "accept"
    })
    const started = await modern.callTool({ name: "nc_auth_provision_access", arguments: { scopes: ["notes.read"] } })
    expect(shown).toHaveLength(1)
    expect(shown[0]?.mode).toBe("url")
    const loginUrl = shown[0]?.url as string
    expect(loginUrl).toContain("/login/v2/flow/")
    expect(shown[0]?.message).toContain(loginUrl)
    // Accepted: the login is pending, and the URL is in the text all the same.
    expect(started.structuredContent).toMatchObject({ status: "pending", login_url: loginUrl })
    expect(JSON.stringify(started.content)).toContain(loginUrl)
    await sim.grant({ flow: loginUrl, userId: "ada-5c7e" })
    const status = async () => ((await modern.callTool({ name: "nc_auth_check_status", arguments: {} })).structuredContent as { status: string }).status
    expect(await eventually(async () => (await status()) === "provisioned")).toBe(true)

    const declining = await modernClient(await issuer.token({ sub: "erin", scope: ALL_SCOPES.join(" ") }), () => "decline")
    const declined = await declining.callTool({ name: "nc_auth_provision_access", arguments: { scopes: ["notes.read"] } })
    expect(declined.isError).toBe(true)
    expect(declined.structuredContent).toMatchObject({ status: "declined" })
    expect(((await declining.callTool({ name: "nc_auth_check_status", arguments: {} })).structuredContent as { status: string }).status).toBe("not_initiated")
  })

  it("refuses a tampered requestState and another user's, changing nothing", async () => {
    const frank = await issuer.token({ sub: "frank", scope: ALL_SCOPES.join(" ") })
    const grace = await issuer.token({ sub: "grace", scope: ALL_SCOPES.join(" ") })
    const withUrl = { ...envelope, "io.modelcontextprotocol/clientCapabilities": { elicitation: { url: {} } } }
    const call = (token: string, params: Record<string, unknown>) =>
      postMcp(
        server.mcpUrl,
        { jsonrpc: "2.0", id: 9, method: "tools/call", params: { name: "nc_auth_provision_access", arguments: { scopes: ["notes.read"] }, ...params, _meta: withUrl } },
        { authorization: `Bearer ${token}`, "mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": "nc_auth_provision_access" }
      )
    const first = (await answerOf(await call(frank, {})))["result"] as { resultType: string; requestState: string; inputRequests: Record<string, { method: string }> }
    expect(first.resultType).toBe("input_required")
    expect(first.inputRequests["login"]?.method).toBe("elicitation/create")
    const accept = { login: { action: "accept" } }
    const [head, mac] = [first.requestState.slice(0, first.requestState.lastIndexOf(".")), first.requestState.slice(first.requestState.lastIndexOf(".") + 1)]
    const tampered = `${head}.${mac.startsWith("A") ? "B" : "A"}${mac.slice(1)}`
    for (const [token, state] of [[frank, tampered], [grace, first.requestState]] as const) {
      const refused = await answerOf(await call(token, { inputResponses: accept, requestState: state }))
      expect((refused["error"] as { code: number }).code).toBe(-32602)
    }
    // Grace has no flow; Frank's is still waiting for his answer.
    const graceStatus = (await answerOf(await modernPost(grace, "tools/call", { name: "nc_auth_check_status", arguments: {} })))["result"] as { structuredContent: { status: string } }
    expect(graceStatus.structuredContent.status).toBe("not_initiated")
    const second = (await answerOf(await call(frank, { inputResponses: accept, requestState: first.requestState })))["result"] as { structuredContent: { status: string } }
    expect(second.structuredContent.status).toBe("pending")
  })

  describe("the login wait as a task (io.modelcontextprotocol/tasks)", () => {
    const TASKS = { extensions: { "io.modelcontextprotocol/tasks": {} } }
    const withTasks = (token: string, method: string, params: Record<string, unknown>, capabilities: Record<string, unknown> = TASKS) =>
      postModern(server.mcpUrl, token, method, params, { capabilities }).then(answerOf)
    type Task = { resultType: string; taskId: string; status: string; statusMessage?: string; ttlMs: number; pollIntervalMs: number; createdAt: string; result?: { structuredContent: { status: string } }; inputRequests?: Record<string, { method: string; params: { url: string } }> }
    const taskOf = (answer: Record<string, unknown>) => answer["result"] as Task

    it("provisioning becomes a task that completes when the app password is stored; another user cannot see it; a client without the extension is refused", async () => {
      const token = await issuer.token({ sub: "hank", scope: ALL_SCOPES.join(" ") })
      const created = taskOf(await withTasks(token, "tools/call", { name: "nc_auth_provision_access", arguments: { scopes: ["notes.read"] } }))
      expect(created).toMatchObject({ resultType: "task", status: "working" })
      expect(created).not.toHaveProperty("requestState")
      expect(created.ttlMs).toBeGreaterThan(0)
      expect(created.ttlMs).toBeLessThanOrEqual(20 * 60_000)
      expect(Number.isInteger(created.pollIntervalMs)).toBe(true)
      const loginUrl = /(http\S+\/login\/v2\/flow\/\S+)/.exec(created.statusMessage ?? "")?.[1] as string
      expect(loginUrl).toBeDefined()
      // The tool's text comes with the task, the URL in it.
      expect(JSON.stringify((created as Task & { content?: unknown }).content)).toContain(loginUrl)

      const working = taskOf(await withTasks(token, "tasks/get", { taskId: created.taskId }))
      expect(working).toMatchObject({ resultType: "complete", taskId: created.taskId, status: "working" })
      expect(working.result).toBeUndefined()

      const other = await issuer.token({ sub: "ivy", scope: ALL_SCOPES.join(" ") })
      expect(((await withTasks(other, "tasks/get", { taskId: created.taskId }))["error"] as { code: number }).code).toBe(-32602)
      expect(((await withTasks(token, "tasks/get", { taskId: created.taskId }, {}))["error"] as { code: number }).code).toBe(-32021)
      expect(((await withTasks(token, "tasks/get", { taskId: `${created.taskId}x` }))["error"] as { code: number }).code).toBe(-32602)
      expect(((await withTasks(token, "tasks/list", {}))["error"] as { code: number }).code).toBe(-32601)

      await sim.grant({ flow: loginUrl, userId: "ada-5c7e" })
      const done = await eventually(async () => taskOf(await withTasks(token, "tasks/get", { taskId: created.taskId })).status === "completed")
      expect(done).toBe(true)
      const completed = taskOf(await withTasks(token, "tasks/get", { taskId: created.taskId }))
      expect(completed.result?.structuredContent.status).toBe("provisioned")
      // Without a login to wait for, the tool answers at once.
      const again = (await withTasks(token, "tools/call", { name: "nc_auth_provision_access", arguments: { scopes: ["notes.read"] } }))["result"] as { resultType: string; structuredContent: { status: string } }
      expect(again.resultType).toBe("complete")
      expect(again.structuredContent.status).toBe("already_provisioned")
    })

    it("cancelling the task cancels the login; the URL is an input request for a client that declares URL elicitation, answered by tasks/update", async () => {
      const token = await issuer.token({ sub: "jack", scope: ALL_SCOPES.join(" ") })
      const first = taskOf(await withTasks(token, "tools/call", { name: "nc_auth_provision_access", arguments: { scopes: ["notes.read"] } }))
      expect((await withTasks(token, "tasks/cancel", { taskId: first.taskId }))["result"]).toEqual(expect.objectContaining({ resultType: "complete" }))
      expect((await withTasks(token, "tasks/cancel", { taskId: first.taskId }))["result"]).toEqual(expect.objectContaining({ resultType: "complete" }))
      expect(taskOf(await withTasks(token, "tasks/get", { taskId: first.taskId })).status).toBe("cancelled")
      const status = (await withTasks(token, "tools/call", { name: "nc_auth_check_status", arguments: {} }))["result"] as { structuredContent: { status: string } }
      expect(status.structuredContent.status).toBe("not_initiated")

      const both = { ...TASKS, elicitation: { url: {} } }
      const created = taskOf(await withTasks(token, "tools/call", { name: "nc_auth_provision_access", arguments: { scopes: ["notes.read"] } }, both))
      expect(created).toMatchObject({ resultType: "task", status: "input_required" })
      const asking = taskOf(await withTasks(token, "tasks/get", { taskId: created.taskId }, both))
      expect(asking.status).toBe("input_required")
      expect(asking.inputRequests?.["login"]?.method).toBe("elicitation/create")
      expect(asking.inputRequests?.["login"]?.params.url).toContain("/login/v2/flow/")
      const ack = await withTasks(token, "tasks/update", { taskId: asking.taskId, inputResponses: { login: { action: "accept" } } }, both)
      expect(ack["result"]).toEqual(expect.objectContaining({ resultType: "complete" }))
      const after = taskOf(await withTasks(token, "tasks/get", { taskId: asking.taskId }, both))
      expect(after.status).toBe("working")
      expect(after.inputRequests).toBeUndefined()
    })
  })
})
