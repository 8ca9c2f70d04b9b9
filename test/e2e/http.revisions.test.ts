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
import { connectHttp, type HttpServerProcess, type HttpSession, postMcp, spawnHttpServer } from "../support/httpServer.js"
import { startIssuer, type TestIssuer } from "../support/issuer.js"
import { type SimulatorWithApps, startSimulatorWithApps } from "../support/simulator.js"

const AUDIENCE = "https://mcp.revisions.test/mcp"
const MODERN = "2026-07-28"

let issuer: TestIssuer
let sim: SimulatorWithApps
let server: HttpServerProcess
let dir: string
const closers: Array<() => Promise<void>> = []

const modernClient = async (token: string) => {
  const client = new ModernClient({ name: "modern-test-client", version: "0.0.1" }, { capabilities: {}, versionNegotiation: { mode: { pin: MODERN } } })
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
const envelope = { "io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {} }

const modernPost = (token: string, method: string, params: Record<string, unknown>, headers: Record<string, string> = {}) =>
  postMcp(
    server.mcpUrl,
    { jsonrpc: "2.0", id: 7, method, params: { ...params, _meta: envelope } },
    {
      authorization: `Bearer ${token}`,
      "mcp-protocol-version": MODERN,
      "mcp-method": method,
      ...(method === "tools/call" ? { "mcp-name": String(params["name"]) } : {}),
      ...headers
    }
  )

/** The JSON-RPC answer of a response, whether sent as JSON or as one SSE event. */
const answerOf = async (response: Response): Promise<Record<string, unknown>> => {
  const text = await response.text()
  if ((response.headers.get("content-type") ?? "").includes("text/event-stream")) {
    const data = text.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim())
    return JSON.parse(data[data.length - 1] ?? "{}") as Record<string, unknown>
  }
  return JSON.parse(text) as Record<string, unknown>
}

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
})
