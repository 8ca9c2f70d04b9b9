/**
 * http mode, the edge: bearer tokens (docs/tool-contract.md §4), resource metadata,
 * health, Host/Origin checks, body limits and session ids, against the built
 * server process and a local issuer.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ALL_SCOPES } from "../../src/domain/Scope.js"
import { type PromiseSimulator, startSimulator } from "../../src/simulator/index.js"
import {
  connectHttp,
  type HttpServerProcess,
  initializeBody,
  postMcp,
  spawnHttpServer
} from "../support/httpServer.js"
import { startIssuer, type TestIssuer } from "../support/issuer.js"

export const TEST_KEY = Buffer.alloc(32, 7).toString("base64")

let issuer: TestIssuer
let sim: PromiseSimulator
let server: HttpServerProcess
let audience = ""

beforeAll(async () => {
  issuer = await startIssuer({ audience: () => audience })
  sim = await startSimulator()
  server = await spawnHttpServer({
    env: {
      NEXTCLOUD_HOST: sim.url,
      NC_MCP_DB: ":memory:",
      NC_MCP_OIDC_ISSUER: issuer.url,
      NC_MCP_ENCRYPTION_KEY: TEST_KEY,
      NC_MCP_POLL_INTERVAL_SECONDS: "3600"
    }
  })
  // NC_MCP_AUDIENCE is unset: the default audience is <public URL>/mcp.
  audience = server.mcpUrl
})

afterAll(async () => {
  await server?.stop()
  await sim?.close()
  await issuer?.close()
})

const metadataUrl = () => `${server.url}/.well-known/oauth-protected-resource/mcp`

const expect401 = async (response: Response, tokenGiven: boolean) => {
  expect(response.status).toBe(401)
  const challenge = response.headers.get("www-authenticate") ?? ""
  expect(challenge).toMatch(/^Bearer /)
  expect(challenge).toContain(`resource_metadata="${metadataUrl()}"`)
  if (tokenGiven) expect(challenge).toContain('error="invalid_token"')
  else expect(challenge).not.toContain("error=")
  return (await response.json()) as { error: string; error_description: string }
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

describe("bearer tokens", () => {
  it("no token → 401 with resource_metadata and no error", async () => {
    await expect401(await postMcp(server.mcpUrl, initializeBody), false)
    const get = await fetch(server.mcpUrl, { headers: { accept: "text/event-stream" } })
    await expect401(get, false)
  })

  it("a non-bearer Authorization header → 401 invalid_token", async () => {
    await expect401(await postMcp(server.mcpUrl, initializeBody, { authorization: "Basic YWxpY2U6eA==" }), true)
  })

  it("garbage, a bad signature, expiry, another audience or issuer, and a future nbf → 401 invalid_token", async () => {
    const cases: Array<[string, Promise<string>, string]> = [
      ["garbage", Promise.resolve("not.a.jwt"), "malformed"],
      ["foreign key", issuer.foreignToken(), "signature"],
      ["expired", issuer.token({ expiresIn: -120 }), "expired"],
      ["audience", issuer.token({ audience: "https://elsewhere.example/mcp" }), "audience"],
      ["issuer", issuer.token({ issuer: "https://evil.example" }), "issuer"],
      ["not yet valid", issuer.token({ notBefore: 300 }), "not valid yet"]
    ]
    for (const [label, token, reason] of cases) {
      const body = await expect401(await postMcp(server.mcpUrl, initializeBody, bearer(await token)), true)
      expect(body.error_description, label).toContain(reason)
    }
  })

  it("tolerates 60 s of clock skew on exp and nbf", async () => {
    for (const token of [await issuer.token({ expiresIn: -30 }), await issuer.token({ notBefore: 30 })]) {
      const r = await postMcp(server.mcpUrl, initializeBody, bearer(token))
      expect(r.status).toBe(200)
      await r.body?.cancel()
    }
  })

  it("a valid token connects; scopes come from `scope` or `scp`", async () => {
    const viaScope = await connectHttp(server.mcpUrl, await issuer.token({ sub: "carol", scope: "openid notes:read" }))
    const viaScp = await connectHttp(server.mcpUrl, await issuer.token({ sub: "dave", scp: ["files.read"] }))
    const status = await viaScp.call("nc_auth_check_status")
    expect(status.structuredContent).toMatchObject({ status: "not_initiated", user_id: "dave" })
    expect((await viaScope.call("nc_auth_check_status")).structuredContent["user_id"]).toBe("carol")
    await viaScope.close()
    await viaScp.close()
  })

  it("the bearer token never appears in the server's log", async () => {
    const token = await issuer.foreignToken({ sub: "mallory" })
    await (await postMcp(server.mcpUrl, initializeBody, bearer(token))).body?.cancel()
    const good = await issuer.token({ sub: "erin" })
    const session = await connectHttp(server.mcpUrl, good)
    await session.call("nc_auth_check_status")
    await session.close()
    expect(server.stderr()).not.toContain(token.split(".")[2] as string)
    expect(server.stderr()).not.toContain(good.split(".")[2] as string)
  })
})

describe("public endpoints", () => {
  it("GET /healthz answers 200 without auth, whatever the Host", async () => {
    const r = await fetch(`${server.url}/healthz`)
    expect(r.status).toBe(200)
    expect(await r.json()).toEqual({ status: "ok" })
  })

  it("serves RFC 9728 metadata at both well-known paths", async () => {
    for (const url of [metadataUrl(), `${server.url}/.well-known/oauth-protected-resource`]) {
      const r = await fetch(url)
      expect(r.status).toBe(200)
      const doc = (await r.json()) as Record<string, unknown>
      expect(doc).toMatchObject({
        resource: server.mcpUrl,
        authorization_servers: [issuer.url],
        bearer_methods_supported: ["header"]
      })
      const scopes = doc["scopes_supported"] as Array<string>
      expect([...scopes].sort()).toEqual(["openid", ...ALL_SCOPES].sort())
      expect(scopes).toHaveLength(21)
    }
  })

  it("unknown paths are 404", async () => {
    expect((await fetch(`${server.url}/nope`)).status).toBe(404)
  })
})

describe("DNS rebinding and limits", () => {
  const raw = async (path: string, headers: Record<string, string>) => {
    const { request } = await import("node:http")
    return new Promise<number>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: server.port, path, method: "GET", headers }, (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      req.on("error", reject)
      req.end()
    })
  }

  it("refuses a forged Host on /mcp and the metadata, but not on /healthz", async () => {
    const token = await issuer.token()
    expect(await raw("/mcp", { host: "evil.example:80", authorization: `Bearer ${token}` })).toBe(403)
    expect(await raw("/.well-known/oauth-protected-resource/mcp", { host: "evil.example" })).toBe(403)
    expect(await raw("/healthz", { host: "evil.example" })).toBe(200)
    expect(await raw("/.well-known/oauth-protected-resource/mcp", { host: `localhost:${server.port}` })).toBe(200)
  })

  it("refuses a foreign Origin on /mcp, even with a valid token", async () => {
    const token = await issuer.token()
    const r = await postMcp(server.mcpUrl, initializeBody, { ...bearer(token), origin: "http://evil.example" })
    expect(r.status).toBe(403)
    const ok = await postMcp(server.mcpUrl, initializeBody, { ...bearer(token), origin: server.url })
    expect(ok.status).toBe(200)
    await ok.body?.cancel()
  })

  it("a body over 7 MiB is 413; invalid JSON is a JSON-RPC parse error", async () => {
    const token = await issuer.token()
    const big = JSON.stringify({ ...initializeBody, padding: "x".repeat(7 * 1024 * 1024) })
    expect((await postMcp(server.mcpUrl, big, bearer(token))).status).toBe(413)
    const bad = await postMcp(server.mcpUrl, "{not json", bearer(token))
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({ error: { code: -32700 } })
  })

  it("an unknown session id is a 404 JSON-RPC error; a request without one that is not initialize is 400", async () => {
    const token = await issuer.token()
    const list = { jsonrpc: "2.0", id: 2, method: "tools/list", params: {} }
    const unknown = await postMcp(server.mcpUrl, list, { ...bearer(token), "mcp-session-id": "no-such-session" })
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toMatchObject({ jsonrpc: "2.0", error: { code: -32001 } })
    const missing = await postMcp(server.mcpUrl, list, bearer(token))
    expect(missing.status).toBe(400)
  })
})
