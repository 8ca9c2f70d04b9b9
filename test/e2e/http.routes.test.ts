/**
 * The route table of http mode, on the http module served in process: the
 * health probe for any Host, the metadata's methods and CORS preflight, 405
 * with `Allow` for other methods on a known path, 404 elsewhere, paths
 * matched exactly, and the Host check before everything but the probe.
 */
import { request } from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { echoTool, type InProcessServer, serveInProcess } from "../support/httpServer.js"
import { startIssuer, type TestIssuer } from "../support/issuer.js"

const AUDIENCE = "routes-audience"

let issuer: TestIssuer
let server: InProcessServer

beforeAll(async () => {
  issuer = await startIssuer({ audience: () => AUDIENCE })
  server = await serveInProcess(issuer, AUDIENCE, [echoTool])
})

afterAll(async () => {
  await server.close()
  await issuer.close()
})

interface Answer {
  readonly status: number
  readonly headers: Record<string, string | Array<string> | undefined>
  readonly body: string
}

/** A raw request (any method, any Host), without a token. */
const send = (method: string, path: string, host?: string) =>
  new Promise<Answer>((resolve, reject) => {
    const url = new URL(server.url)
    const req = request(
      { host: url.hostname, port: url.port, path, method, headers: host === undefined ? {} : { host } },
      (res) => {
        let body = ""
        res.setEncoding("utf8")
        res.on("data", (chunk: string) => (body += chunk))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
      }
    )
    req.on("error", reject)
    req.end()
  })

const METADATA = "/.well-known/oauth-protected-resource/mcp"

describe("routes", () => {
  it("the health probe answers GET and HEAD whatever the Host; nothing else there", async () => {
    expect((await send("GET", "/healthz", "evil.example")).status).toBe(200)
    expect((await send("HEAD", "/healthz")).status).toBe(200)
    expect((await send("POST", "/healthz")).status).toBe(404)
  })

  it("the metadata answers GET and HEAD with CORS, a preflight with 204, other methods 405 with Allow", async () => {
    for (const path of [METADATA, "/.well-known/oauth-protected-resource"]) {
      const got = await send("GET", path)
      expect(got.status).toBe(200)
      expect(got.headers["access-control-allow-origin"]).toBe("*")
      expect(JSON.parse(got.body)).toMatchObject({ resource: server.mcpUrl })
      expect((await send("HEAD", path)).status).toBe(200)
      const preflight = await send("OPTIONS", path)
      expect(preflight.status).toBe(204)
      expect(preflight.headers["access-control-allow-methods"]).toBe("GET, HEAD, OPTIONS")
      const posted = await send("POST", path)
      expect(posted.status).toBe(405)
      expect(posted.headers["allow"]).toBe("GET, HEAD, OPTIONS")
    }
  })

  it("/mcp takes GET, POST and DELETE (with a token); another method is 405 with Allow", async () => {
    expect((await send("GET", "/mcp")).status).toBe(401)
    expect((await send("DELETE", "/mcp")).status).toBe(401)
    const put = await send("PUT", "/mcp")
    expect(put.status).toBe(405)
    expect(put.headers["allow"]).toBe("GET, POST, DELETE")
    expect(JSON.parse(put.body)).toMatchObject({ jsonrpc: "2.0", error: { code: -32000 } })
  })

  it("paths match exactly; anything else is 404, or 403 for a Host that is not this server's", async () => {
    for (const path of ["/MCP", "/mcp/", "//mcp", "/healthz/", "/nope", "/.well-known/oauth-protected-resource/MCP"]) {
      expect([path, (await send("GET", path)).status]).toEqual([path, 404])
    }
    expect((await send("GET", "/nope", "evil.example")).status).toBe(403)
    expect((await send("GET", "/mcp", "evil.example")).status).toBe(403)
    expect((await send("GET", "/mcp?x=1")).status).toBe(401)
  })
})
