/**
 * Both protocol revisions over stdio (the built server process): a client
 * pinned to MCP 2026-07-28 (a `server/discover` probe, then stateless
 * requests) provisions, writes a note and reads the login URL through
 * `InputRequiredResult`; then a 2025-11-25 client on the same database finds
 * the grant and the note. stdout carries only JSON-RPC in both.
 */
import { Client as ModernClient } from "@modelcontextprotocol/client"
import { StdioClientTransport as ModernStdioTransport } from "@modelcontextprotocol/client/stdio"
import { describe, expect, it } from "vitest"
import { claimsEnvelope } from "../../src/mcp/stdio.js"
import { MAIN, useStdioFixture } from "../support/stdioServer.js"

const MODERN = "2026-07-28"
const fx = useStdioFixture("alice-local")

describe("MCP 2026-07-28 and 2025-11-25 over stdio", () => {
  it("the first message decides the revision: only the 2026-07-28 envelope claims it", () => {
    const envelope = { "io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {} }
    expect(claimsEnvelope(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "server/discover", params: { _meta: envelope } }))).toBe(true)
    expect(claimsEnvelope(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: { _meta: envelope } }))).toBe(true)
    expect(claimsEnvelope(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "c", version: "1" } } }))).toBe(false)
    expect(claimsEnvelope(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: { _meta: { progressToken: 1 } } }))).toBe(false)
    expect(claimsEnvelope("not json")).toBe(false)
    expect(claimsEnvelope("[]")).toBe(false)
  })

  it("a 2026-07-28 client provisions (login URL as InputRequiredResult) and writes; a 2025-11-25 client then sees the grant and the note", async () => {
    const shown: Array<{ mode?: string; url?: string }> = []
    const transport = new ModernStdioTransport({
      command: process.execPath,
      args: [MAIN, "stdio"],
      env: { PATH: process.env["PATH"] ?? "", ...fx.env() },
      stderr: "pipe"
    })
    const modern = new ModernClient({ name: "modern-stdio-client", version: "0.0.1" }, { capabilities: { elicitation: { url: {} } }, versionNegotiation: { mode: { pin: MODERN } } })
    modern.setRequestHandler("elicitation/create", async (request) => {
      shown.push(request.params as { mode?: string; url?: string })
      return { action: "accept" }
    })
    try {
      await modern.connect(transport)
      expect(modern.getNegotiatedProtocolVersion()).toBe(MODERN)
      const started = await modern.callTool({ name: "nc_auth_provision_access", arguments: { scopes: ["notes.read", "notes.write"] } })
      expect(shown.map((s) => s.mode)).toEqual(["url"])
      const loginUrl = shown[0]?.url as string
      expect(started.structuredContent).toMatchObject({ status: "pending", login_url: loginUrl })
      await fx.sim.grant({ flow: loginUrl, userId: "alice" })
      const checked = await modern.callTool({ name: "nc_auth_check_status", arguments: {} })
      expect((checked.structuredContent as { status: string }).status).toBe("provisioned")
      const created = await modern.callTool({ name: "nc_notes_create", arguments: { title: "Over stdio, 2026", content: "x" } })
      expect(created.isError ?? false, JSON.stringify(created.structuredContent)).toBe(false)
    } finally {
      await modern.close()
    }

    const legacy = await fx.start()
    expect((await legacy.call("nc_auth_check_status")).structuredContent.status).toBe("provisioned")
    expect(JSON.stringify((await legacy.call("nc_notes_list")).structuredContent)).toContain("Over stdio, 2026")
    for (const line of legacy.stdout().split("\n").filter((l) => l.trim() !== "")) expect(JSON.parse(line)).toMatchObject({ jsonrpc: "2.0" })
  })
})
