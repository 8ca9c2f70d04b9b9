/**
 * http mode when the identity provider misbehaves (docs/tool-contract.md §4, §8): strings
 * that are not JWTs never reach it, a discovery that hangs or fails is
 * answered 503 with Retry-After in bounded time, waiting requests share one
 * fetch, a failure is not retried during its cooldown, and an endless
 * document is cut off at the size cap while the server keeps serving.
 */
import { Option } from "effect"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { eventually } from "../support/eventually.js"
import { echoTool, initializeBody, postMcp, serveInProcess } from "../support/httpServer.js"
import { startIssuer, type TestIssuer } from "../support/issuer.js"

const AUDIENCE = "issuer-faults-audience"


let issuer: TestIssuer

/** A server that discovers the key set through the issuer's OpenID configuration. */
const serve = (overrides: Parameters<typeof serveInProcess>[3] = {}) =>
  serveInProcess(issuer, AUDIENCE, [echoTool], { jwksUrl: Option.none(), ...overrides })

const initialize = (mcpUrl: string, token: string) =>
  postMcp(mcpUrl, initializeBody, { authorization: `Bearer ${token}` }, AbortSignal.timeout(20_000))

beforeAll(async () => {
  issuer = await startIssuer({ audience: () => AUDIENCE })
})

afterEach(() => {
  issuer.fault("discovery", "ok")
  issuer.fault("jwks", "ok")
})

afterAll(async () => {
  await issuer.close()
})

describe("an identity provider in trouble", () => {
  it("300 strings that are not JWTs get 401 without a single request to the issuer", async () => {
    const server = await serve()
    issuer.fault("discovery", "fail")
    const before = issuer.fetches("discovery")
    const header = Buffer.from(JSON.stringify({ typ: "JWT" })).toString("base64url")
    const garbage = Array.from({ length: 300 }, (_, i) => (i % 2 === 0 ? `garbage-${i}` : `${header}.e30.${i}`))
    const statuses: Array<number> = []
    for (let i = 0; i < garbage.length; i += 50) {
      const batch = await Promise.all(
        garbage.slice(i, i + 50).map(async (token) => {
          const r = await initialize(server.mcpUrl, token)
          await r.text()
          return r.status
        })
      )
      statuses.push(...batch)
    }
    expect(new Set(statuses)).toEqual(new Set([401]))
    expect(issuer.fetches("discovery") - before).toBe(0)
    await server.close()
  }, 30_000)

  it("a discovery that never answers is answered 503 with Retry-After within the issuer timeout", async () => {
    const server = await serve({ verifier: { issuerTimeout: "300 millis" } })
    issuer.fault("discovery", "hang")
    const r = await initialize(server.mcpUrl, await issuer.token())
    expect(r.status).toBe(503)
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
    await r.text()
    await server.close()
  }, 25_000)

  it("six requests behind a slow, failing discovery share one fetch and are answered together", async () => {
    const server = await serve()
    issuer.fault("discovery", "fail")
    const before = issuer.fetches("discovery")
    const release = issuer.hold("discovery")
    const token = await issuer.token()
    const answers = Array.from({ length: 6 }, () => initialize(server.mcpUrl, token))
    expect(await eventually(() => issuer.fetches("discovery") > before)).toBe(true)
    release()
    const responses = await Promise.all(answers)
    expect(responses.map((r) => r.status)).toEqual(Array(6).fill(503))
    for (const r of responses) expect(r.headers.get("retry-after")).toMatch(/^[1-9]\d*$/)
    expect(issuer.fetches("discovery") - before).toBe(1)
    await server.close()
  }, 25_000)

  it("during the cooldown after a failure no request reaches the issuer", async () => {
    const server = await serve({ verifier: { failureCooldown: { initial: "60 seconds", max: "60 seconds" } } })
    issuer.fault("discovery", "fail")
    const before = issuer.fetches("discovery")
    const token = await issuer.token()
    const first = await initialize(server.mcpUrl, token)
    expect(first.status).toBe(503)
    for (let i = 0; i < 20; i++) {
      const r = await initialize(server.mcpUrl, token)
      expect(r.status).toBe(503)
      const retryAfter = Number(r.headers.get("retry-after"))
      expect(retryAfter).toBeGreaterThan(1)
      expect(retryAfter).toBeLessThanOrEqual(60)
      await r.text()
    }
    expect(issuer.fetches("discovery") - before).toBe(1)
    await server.close()
  }, 25_000)

  it("an endless discovery document is cut off at the size cap; the server keeps serving and recovers", async () => {
    const server = await serve({
      maxResponseBytes: 64 * 1024,
      verifier: { failureCooldown: { initial: "50 millis", max: "50 millis" } }
    })
    issuer.fault("discovery", "huge")
    const sentBefore = issuer.bytesSent("discovery")
    const token = await issuer.token()
    const r = await initialize(server.mcpUrl, token)
    expect(r.status).toBe(503)
    await r.text()
    expect(issuer.bytesSent("discovery") - sentBefore).toBeLessThan(24 * 1024 * 1024)
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
    issuer.fault("discovery", "ok")
    expect(
      await eventually(async () => {
        const again = await initialize(server.mcpUrl, token)
        await again.text()
        return again.status === 200
      })
    ).toBe(true)
    await server.close()
  }, 30_000)
})
