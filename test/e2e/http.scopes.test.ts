/**
 * The two-layer scope rule in http mode: the token layer, enforced at the
 * HTTP edge (tools/list filtered, tools/call refused with 403
 * insufficient_scope), on a fake tool list served in-process by the real
 * http module; plus the pure Host/Origin and scope-gate rules.
 */
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { Array as Arr, Effect, Exit, Layer, Option, Schema, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { CurrentUser } from "../../src/auth/CurrentUser.js"
import { ElicitationCompletions } from "../../src/auth/Elicitation.js"
import { serveHttp } from "../../src/mcp/http/serve.js"
import * as Policy from "../../src/mcp/httpPolicy.js"
import type { Scope as AppScope } from "../../src/domain/Scope.js"
import { allTools } from "../../src/apps/registry.js"
import * as Tool from "../../src/tools/Tool.js"
import { everyoneGranted } from "../support/fakes.js"
import { connectHttp, postMcp } from "../support/httpServer.js"
import { startIssuer, type TestIssuer } from "../support/issuer.js"

const fakeTool = (name: string, scopes: ReadonlyArray<AppScope>) => {
  const definition = {
    name,
    title: name,
    description: `needs ${scopes.join(", ") || "nothing"}`,
    annotations: { readOnlyHint: true },
    input: Schema.Struct({ text: Schema.optional(Schema.String) }),
    output: Tool.response(["ok"], { user_id: Schema.String }),
    handler: () => Effect.map(CurrentUser, (user) => ({ status: "ok" as const, message: "done", user_id: user.userId }))
  }
  return Arr.isNonEmptyReadonlyArray(scopes) ? Tool.make({ ...definition, scopes }) : Tool.open(definition)
}

const tools = [
  fakeTool("fake_open", []),
  fakeTool("fake_notes_read", ["notes.read"]),
  fakeTool("fake_notes_write", ["notes.read", "notes.write"]),
  fakeTool("fake_files_write", ["files.write"])
]

describe("scope gate (pure)", () => {
  const scopes = new Map(tools.map((t) => [t.name, t.scopes]))
  const call = (id: number, name: string) => ({ jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: {} } })

  it("lets through calls the token covers, auth tools, unknown tools and other methods", () => {
    expect(Policy.scopeDenial(call(1, "fake_notes_read"), scopes, ["notes.read"])).toBeUndefined()
    expect(Policy.scopeDenial(call(1, "fake_open"), scopes, [])).toBeUndefined()
    expect(Policy.scopeDenial(call(1, "no_such_tool"), scopes, [])).toBeUndefined()
    expect(Policy.scopeDenial({ jsonrpc: "2.0", id: 1, method: "tools/list" }, scopes, [])).toBeUndefined()
    expect(Policy.scopeDenial(call(1, "fake_files_write"), scopes, null)).toBeUndefined()
    expect(Policy.scopeDenial("garbage", scopes, [])).toBeUndefined()
  })

  it("refuses a call missing a scope, naming everything the tool needs", () => {
    expect(Policy.scopeDenial(call(7, "fake_notes_write"), scopes, ["notes.read"])).toEqual({
      needed: ["notes.read", "notes.write"],
      missing: ["notes.write"],
      id: 7,
      tools: ["fake_notes_write"]
    })
  })

  it("inspects every message of a batch", () => {
    const denial = Policy.scopeDenial(
      [call(1, "fake_notes_read"), { jsonrpc: "2.0", method: "notifications/initialized" }, call(2, "fake_files_write"), call(3, "fake_notes_write")],
      scopes,
      ["notes.read"]
    )
    expect(denial).toEqual({
      needed: ["files.write", "notes.read", "notes.write"],
      missing: ["files.write", "notes.write"],
      id: 2,
      tools: ["fake_files_write", "fake_notes_write"]
    })
  })

  it("builds the RFC 6750 challenges", () => {
    const ep = Policy.endpoints(new URL("https://mcp.example.com/"))
    expect(ep.resource).toBe("https://mcp.example.com/mcp")
    expect(Policy.insufficientScopeChallenge(ep, ["notes.read", "notes.write"])).toBe(
      'Bearer error="insufficient_scope", scope="notes.read notes.write", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"'
    )
    expect(Policy.unauthorizedChallenge(ep, false)).toBe(
      'Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"'
    )
  })
})

describe("Host and Origin (pure)", () => {
  it("allows the served address, its loopback aliases and the public host", () => {
    const hosts = Policy.allowedHosts({ host: "127.0.0.1", port: 8000 }, new URL("https://mcp.example.com"))
    for (const ok of ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "mcp.example.com", "MCP.example.com:443"]) {
      expect(Policy.hostAllowed(hosts, ok), ok).toBe(true)
    }
    for (const bad of ["evil.example", "127.0.0.1:8001", "mcp.example.com:8443", "localhost", undefined]) {
      expect(Policy.hostAllowed(hosts, bad), String(bad)).toBe(false)
    }
    expect(Policy.originAllowed(hosts, undefined)).toBe(true)
    expect(Policy.originAllowed(hosts, "https://mcp.example.com")).toBe(true)
    expect(Policy.originAllowed(hosts, "http://localhost:8000")).toBe(true)
    expect(Policy.originAllowed(hosts, "https://evil.example")).toBe(false)
    expect(Policy.originAllowed(hosts, "null")).toBe(false)
  })

  it("on a wildcard address only names that can reach it are allowed", () => {
    const hosts = Policy.allowedHosts({ host: "0.0.0.0", port: 8000 }, new URL("http://0.0.0.0:8000"))
    expect(Policy.hostAllowed(hosts, "localhost:8000")).toBe(true)
    expect(Policy.hostAllowed(hosts, "attacker.example:8000")).toBe(false)
  })
})

describe("token scopes over HTTP (fake tools, in-process server)", () => {
  let issuer: TestIssuer
  let scope: Scope.CloseableScope
  let mcpUrl = ""

  beforeAll(async () => {
    issuer = await startIssuer({ audience: () => "test-audience" })
    scope = Effect.runSync(Scope.make())
    const served = await Effect.runPromise(
      Effect.gen(function* () {
        const runtime = yield* Layer.toRuntime(Layer.merge(ElicitationCompletions.layer, everyoneGranted))
        return yield* serveHttp({
          host: "127.0.0.1",
          port: 0,
          issuer: issuer.url,
          jwksUrl: Option.some(new URL(issuer.jwksUrl)),
          audience: Option.some("test-audience"),
          publicUrl: Option.none(),
          tools,
          runtime
        })
      }).pipe(Scope.extend(scope))
    )
    mcpUrl = served.endpoints.resource
  })

  afterAll(async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await issuer.close()
  })

  it("tools/list shows only the tools the token's scopes cover", async () => {
    const none = await connectHttp(mcpUrl, await issuer.token({ scope: "openid" }))
    expect((await none.client.listTools()).tools.map((t) => t.name)).toEqual(["fake_open"])
    const reader = await connectHttp(mcpUrl, await issuer.token({ scope: "notes:read profile" }))
    expect((await reader.client.listTools()).tools.map((t) => t.name)).toEqual(["fake_open", "fake_notes_read"])
    const writer = await connectHttp(mcpUrl, await issuer.token({ scp: ["notes.read", "notes.write", "files.write"] }))
    expect((await writer.client.listTools()).tools.map((t) => t.name)).toEqual(tools.map((t) => t.name))
    await Promise.all([none.close(), reader.close(), writer.close()])
  })

  it("a tools/call the token does not cover is 403 insufficient_scope; covered ones run", async () => {
    const token = await issuer.token({ sub: "alice", scope: "notes.read" })
    const session = await connectHttp(mcpUrl, token)
    expect((await session.call("fake_notes_read")).structuredContent).toMatchObject({ status: "ok", user_id: "alice" })
    expect((await session.call("fake_open")).structuredContent.status).toBe("ok")
    const refused = await session.call("fake_notes_write").then(
      () => undefined,
      (e: unknown) => e
    )
    expect(refused).toBeInstanceOf(StreamableHTTPError)
    expect((refused as StreamableHTTPError).code).toBe(403)

    const sessionId = session.transport.sessionId as string
    const headers = {
      authorization: `Bearer ${token}`,
      "mcp-session-id": sessionId,
      "mcp-protocol-version": session.transport.protocolVersion ?? "2025-06-18"
    }
    const raw = await postMcp(
      mcpUrl,
      { jsonrpc: "2.0", id: 41, method: "tools/call", params: { name: "fake_notes_write", arguments: {} } },
      headers
    )
    expect(raw.status).toBe(403)
    expect(raw.headers.get("www-authenticate")).toBe(
      `Bearer error="insufficient_scope", scope="notes.read notes.write", resource_metadata="${mcpUrl.replace(/\/mcp$/, "")}/.well-known/oauth-protected-resource/mcp"`
    )
    expect(await raw.json()).toMatchObject({ jsonrpc: "2.0", id: 41, error: { message: expect.stringContaining("notes.write") } })

    const batch = await postMcp(
      mcpUrl,
      [
        { jsonrpc: "2.0", id: 42, method: "tools/call", params: { name: "fake_notes_read", arguments: {} } },
        { jsonrpc: "2.0", id: 43, method: "tools/call", params: { name: "fake_files_write", arguments: {} } }
      ],
      headers
    )
    expect(batch.status).toBe(403)
    expect(batch.headers.get("www-authenticate")).toContain('scope="files.write"')
    await session.close()
  })

  it("a refreshed token with more scopes works on the same session", async () => {
    const narrow = await issuer.token({ sub: "bob", scope: "notes.read" })
    const session = await connectHttp(mcpUrl, narrow)
    const sessionId = session.transport.sessionId as string
    const wide = await issuer.token({ sub: "bob", scope: "notes.read notes.write" })
    const r = await postMcp(
      mcpUrl,
      { jsonrpc: "2.0", id: 5, method: "tools/call", params: { name: "fake_notes_write", arguments: {} } },
      { authorization: `Bearer ${wide}`, "mcp-session-id": sessionId }
    )
    expect(r.status).toBe(200)
    expect(await r.text()).toContain('\\"user_id\\":\\"bob\\"')
    await session.close()
  })
})

describe("the registry's scoped tools", () => {
  const scoped = allTools.filter((t) => t.scopes.length > 0)
  const unscoped = allTools.filter((t) => t.scopes.length === 0)

  it("the auth tools need no token scope, so every caller sees them", () => {
    expect(unscoped.map((t) => t.name)).toEqual(
      expect.arrayContaining(["nc_auth_provision_access", "nc_auth_check_status", "nc_auth_update_scopes", "nc_auth_revoke_access"])
    )
  })

  it.skipIf(scoped.length === 0)("a token without a tool's scopes neither lists nor may call it", () => {
    const byName = new Map(allTools.map((t) => [t.name, t.scopes]))
    for (const tool of scoped) {
      const denial = Policy.scopeDenial(
        { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: tool.name } },
        byName,
        []
      )
      expect(denial?.needed).toEqual([...tool.scopes].sort())
    }
  })
})
