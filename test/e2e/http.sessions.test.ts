/**
 * http mode with several people on one server process: provisioning per user
 * with no cross-visibility, sessions bound to their user, elicitation over
 * the POST's stream, shutdown with clients connected, and configuration
 * errors (each checked in process, one as a process).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { runHttp } from "../../src/commands/http.js"
import { type PromiseSimulator, startSimulator } from "../../src/simulator/index.js"
import {
  connectHttp,
  type HttpServerProcess,
  type HttpSession,
  initializeBody,
  postMcp,
  runHttpCommand,
  SPAWN_DEADLINE_MS,
  spawnHttpServer
} from "../support/httpServer.js"
import { runCommandInProcess } from "../support/commandInProcess.js"
import { eventually } from "../support/eventually.js"
import { startIssuer, type TestIssuer } from "../support/issuer.js"
import { tempDir } from "../support/stdioServer.js"

const KEY = Buffer.alloc(32, 9).toString("base64")
const AUDIENCE = "nextcloud-mcp-test"

let issuer: TestIssuer
let sim: PromiseSimulator
let tmp: ReturnType<typeof tempDir>
/** Shared by the tests that only need a running server; each uses its own user ids. */
let shared: HttpServerProcess
const open: Array<HttpSession> = []

const env = () => ({
  NEXTCLOUD_HOST: sim.url,
  NC_MCP_DB: `${tmp.dir}/state.db`,
  NC_MCP_OIDC_ISSUER: issuer.url,
  NC_MCP_AUDIENCE: AUDIENCE,
  NC_MCP_ENCRYPTION_KEY: KEY,
  NC_MCP_POLL_INTERVAL_SECONDS: "3600"
})

const connect = async (...args: Parameters<typeof connectHttp>) => {
  const session = await connectHttp(...args)
  open.push(session)
  return session
}

beforeAll(async () => {
  issuer = await startIssuer({ audience: () => AUDIENCE })
  sim = await startSimulator()
  tmp = tempDir()
  shared = await spawnHttpServer({ env: env() })
})

afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close().catch(() => undefined)))
})

afterAll(async () => {
  await shared?.stop()
  await sim?.close()
  await issuer?.close()
  tmp?.cleanup()
})

describe("several users on one server", () => {
  it("provision independently: no cross-visibility of status, scopes or login URLs", async () => {
    const { mcpUrl } = shared
    const alice = await connect(mcpUrl, await issuer.token({ sub: "alice", scope: "openid" }))
    const bob = await connect(mcpUrl, await issuer.token({ sub: "bob", scope: "openid" }))

    const a = (await alice.call("nc_auth_provision_access", { scopes: ["notes.read"] })).structuredContent
    const b = (await bob.call("nc_auth_provision_access", { scopes: ["files.read", "files.write"] })).structuredContent
    expect(a).toMatchObject({ status: "login_required", user_id: "alice", requested_scopes: ["notes.read"] })
    expect(b).toMatchObject({ status: "login_required", user_id: "bob", requested_scopes: ["files.read", "files.write"] })
    expect(a.login_url).not.toBe(b.login_url)

    await sim.grant({ flow: a.login_url, userId: "alice" })
    const aliceDone = (await alice.call("nc_auth_check_status")).structuredContent
    expect(aliceDone).toMatchObject({ status: "provisioned", user_id: "alice", username: "alice", scopes: ["notes.read"] })
    const bobStill = (await bob.call("nc_auth_check_status")).structuredContent
    expect(bobStill).toMatchObject({ status: "pending", user_id: "bob" })
    expect(JSON.stringify(bobStill)).not.toContain(a.login_url)
    expect(JSON.stringify(bobStill)).not.toContain("notes.read")
    expect(JSON.stringify(aliceDone)).not.toContain(b.login_url)

    // bob signs in to Nextcloud as ada: the MCP user id and the Nextcloud account are separate.
    await sim.grant({ flow: b.login_url, userId: "ada-5c7e" })
    expect((await bob.call("nc_auth_check_status")).structuredContent).toMatchObject({
      status: "provisioned",
      user_id: "bob",
      username: "ada@example.org",
      scopes: ["files.read", "files.write"]
    })
    // Revoking one user's access leaves the other's alone, even with a second session of the same user.
    const alice2 = await connect(mcpUrl, await issuer.token({ sub: "alice" }))
    expect((await alice2.call("nc_auth_revoke_access")).structuredContent.status).toBe("revoked")
    expect((await alice.call("nc_auth_check_status")).structuredContent.status).toBe("not_initiated")
    expect((await bob.call("nc_auth_check_status")).structuredContent.status).toBe("provisioned")
  })

  it("a session answers only the user who opened it", async () => {
    const { mcpUrl } = shared
    const aliceToken = await issuer.token({ sub: "alice-2" })
    const alice = await connect(mcpUrl, aliceToken)
    const sessionId = alice.transport.sessionId as string
    expect(sessionId).toBeTruthy()
    const bobToken = await issuer.token({ sub: "bob-2" })
    const call = { jsonrpc: "2.0", id: 9, method: "tools/call", params: { name: "nc_auth_check_status", arguments: {} } }
    const hijack = await postMcp(mcpUrl, call, { authorization: `Bearer ${bobToken}`, "mcp-session-id": sessionId })
    expect(hijack.status).toBe(404)
    expect(await hijack.json()).toMatchObject({ error: { code: -32001, message: "Session not found" } })
    const del = await fetch(mcpUrl, { method: "DELETE", headers: { authorization: `Bearer ${bobToken}`, "mcp-session-id": sessionId } })
    expect(del.status).toBe(404)
    const stream = await fetch(mcpUrl, {
      headers: { authorization: `Bearer ${bobToken}`, "mcp-session-id": sessionId, accept: "text/event-stream" }
    })
    expect(stream.status).toBe(404)
    // The owner is unaffected.
    expect((await alice.call("nc_auth_check_status")).structuredContent["user_id"]).toBe("alice-2")
    const own = await postMcp(mcpUrl, call, { authorization: `Bearer ${aliceToken}`, "mcp-session-id": sessionId })
    expect(own.status).toBe(200)
    expect(await own.text()).toContain("alice-2")
  })

  it("NC_MCP_MAX_SESSIONS_PER_USER caps one user's sessions (the older one answers 404)", async () => {
    const own = tempDir()
    const s = await spawnHttpServer({ env: { ...env(), NC_MCP_DB: `${own.dir}/state.db`, NC_MCP_MAX_SESSIONS_PER_USER: "1" } })
    const token = await issuer.token({ sub: "capped" })
    const open = async () => {
      const r = await postMcp(s.mcpUrl, initializeBody, { authorization: `Bearer ${token}` })
      await r.text()
      return r.headers.get("mcp-session-id") as string
    }
    const status = async (sessionId: string) => {
      const r = await postMcp(
        s.mcpUrl,
        { jsonrpc: "2.0", id: 2, method: "tools/list", params: {} },
        { authorization: `Bearer ${token}`, "mcp-session-id": sessionId }
      )
      await r.text()
      return r.status
    }
    const first = await open()
    const second = await open()
    expect(await status(first)).toBe(404)
    expect(await status(second)).toBe(200)
    await s.stop()
    own.cleanup()
  })

  it("NC_MCP_MAX_RESPONSE_BYTES caps the issuer's answers and NC_MCP_MAX_SESSIONS all sessions", async () => {
    const own = tempDir()
    const s = await spawnHttpServer({
      env: { ...env(), NC_MCP_DB: `${own.dir}/state.db`, NC_MCP_MAX_RESPONSE_BYTES: "2048", NC_MCP_MAX_SESSIONS: "1" }
    })
    const first = await issuer.token({ sub: "everyone-1" })
    const second = await issuer.token({ sub: "everyone-2" })
    const open = async (token: string) => {
      const r = await postMcp(s.mcpUrl, initializeBody, { authorization: `Bearer ${token}` })
      await r.text()
      return { status: r.status, sessionId: r.headers.get("mcp-session-id") }
    }
    // A discovery document within the default cap but past the configured one.
    issuer.fault("discovery", { padBytes: 8 * 1024 })
    expect((await open(first)).status).toBe(503)
    issuer.fault("discovery", "ok")
    // Once the failure's cooldown is over, the issuer is asked again.
    let opened = await open(first)
    expect(await eventually(async () => (opened = await open(first)).status === 200)).toBe(true)
    expect((await open(second)).status).toBe(200)
    const call = { jsonrpc: "2.0", id: 2, method: "tools/list", params: {} }
    const gone = await postMcp(s.mcpUrl, call, { authorization: `Bearer ${first}`, "mcp-session-id": opened.sessionId as string })
    expect(gone.status).toBe(404)
    await s.stop()
    own.cleanup()
  })

  it("after DELETE the session id is gone (404), so the client re-initialises", async () => {
    const { mcpUrl } = shared
    const token = await issuer.token({ sub: "alice-3" })
    const alice = await connect(mcpUrl, token)
    const sessionId = alice.transport.sessionId as string
    await alice.transport.terminateSession()
    const after = await postMcp(
      mcpUrl,
      { jsonrpc: "2.0", id: 3, method: "tools/list", params: {} },
      { authorization: `Bearer ${token}`, "mcp-session-id": sessionId }
    )
    expect(after.status).toBe(404)
  })
})

describe("elicitation over HTTP", () => {
  it("URL mode: the login URL is elicited on the tool call's stream and the answer comes back", async () => {
    const { mcpUrl } = shared
    const alice = await connect(mcpUrl, await issuer.token({ sub: "url-user" }), {
      capabilities: { elicitation: { url: {} } },
      answers: ["accept"]
    })
    const r = (await alice.call("nc_auth_provision_access", { scopes: ["notes.read"] })).structuredContent
    // Accepted: the person opened the link, so the flow is pending.
    expect(r.status).toBe("pending")
    expect(r.login_url).toMatch(new RegExp(`^${sim.url}/index.php/login/v2/flow/`))
    expect(alice.elicitations).toHaveLength(1)
    expect(alice.elicitations[0]).toMatchObject({ mode: "url", url: r.login_url })
  })

  it("form mode: a declined prompt is reported as declined", async () => {
    const { mcpUrl } = shared
    const bob = await connect(mcpUrl, await issuer.token({ sub: "form-user" }), {
      capabilities: { elicitation: { form: {} } },
      answers: ["decline"]
    })
    const r = (await bob.call("nc_auth_provision_access")).structuredContent
    expect(bob.elicitations).toHaveLength(1)
    expect(bob.elicitations[0]?.mode).toBe("form")
    expect(bob.elicitations[0]?.message).toContain(`${sim.url}/index.php/login/v2/flow/`)
    expect(r.status).toBe("declined")
    expect(r.success).toBe(false)
  })
})

describe("process lifecycle", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`${signal} with clients connected (open SSE streams) exits 0`, async () => {
      const own = tempDir()
      const s = await spawnHttpServer({ env: { ...env(), NC_MCP_DB: `${own.dir}/state.db` } })
      const alice = await connect(s.mcpUrl, await issuer.token({ sub: "alice" }))
      await connect(s.mcpUrl, await issuer.token({ sub: "bob" }))
      await alice.call("nc_auth_check_status")
      const exited = s.stop(signal)
      // A hang shows up as a kill (exit code null), not as a slow test.
      const killer = setTimeout(() => s.child.kill("SIGKILL"), SPAWN_DEADLINE_MS)
      const code = await exited
      clearTimeout(killer)
      own.cleanup()
      expect(code).toBe(0)
    })
  }

  it("configuration errors exit 1 with one line naming the variable", async () => {
    const base = { ...env(), NC_MCP_LOG_LEVEL: "info" }
    const cases: Array<[Record<string, string>, string]> = [
      [{ NC_MCP_OIDC_ISSUER: "not a url" }, "NC_MCP_OIDC_ISSUER"],
      [{ NC_MCP_ENCRYPTION_KEY: "" }, "NC_MCP_ENCRYPTION_KEY"],
      [{ NC_MCP_PUBLIC_URL: "ftp://x" }, "NC_MCP_PUBLIC_URL"],
      [{ NC_MCP_OIDC_JWKS_URL: "nope", NC_MCP_OIDC_ISSUER: "" }, "NC_MCP_OIDC_JWKS_URL"],
      [{ NC_MCP_SESSION_IDLE_MINUTES: "soon" }, "NC_MCP_SESSION_IDLE_MINUTES"],
      [{ NC_MCP_MAX_SESSIONS_PER_USER: "0" }, "NC_MCP_MAX_SESSIONS_PER_USER"],
      [{ NC_MCP_MAX_SESSIONS: "0" }, "NC_MCP_MAX_SESSIONS"]
    ]
    const settings = (patch: Record<string, string>) => {
      const merged: Record<string, string> = { ...base, ...patch }
      for (const [k, v] of Object.entries(patch)) if (v === "") delete merged[k]
      return merged
    }
    // Each case in process, with its settings alone: the line the process would print.
    for (const [patch, variable] of cases) {
      const line = (await runCommandInProcess(runHttp({ host: "127.0.0.1", port: 0 }), settings(patch))).failure
      expect(line, variable).toMatch(/^nextcloud-mcp: configuration error: [^\n]*\n$/)
      expect(line, variable).toContain(variable)
    }
    // One as the real process: exit 1, that one line on stderr, nothing on stdout.
    const [patch, variable] = cases[0] as (typeof cases)[number]
    const r = await runHttpCommand({ env: settings(patch) })
    expect(r.code, variable).toBe(1)
    const lines = r.stderr.trim().split("\n")
    expect(lines, r.stderr).toHaveLength(1)
    expect(lines[0]).toContain(variable)
    expect(r.stdout).toBe("")
  })
})
