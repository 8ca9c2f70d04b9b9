import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type PromiseSimulator, startSimulator } from "../../src/simulator/index.js"
import { basic, initFlow, pollForm, USER_AGENT } from "./helpers.js"

const ALNUM_128 = /^[0-9A-Za-z]{128}$/
const ALNUM_72 = /^[0-9A-Za-z]{72}$/
const TWENTY_MINUTES = 1_200_000

describe("Login Flow v2", () => {
  let sim: PromiseSimulator
  beforeAll(async () => {
    sim = await startSimulator()
  })
  afterAll(() => sim.close())

  it("init returns 128-character tokens and absolute URLs on the requested origin", async () => {
    const flow = await initFlow(sim.url)
    expect(flow.poll.token).toMatch(ALNUM_128)
    expect(flow.poll.endpoint).toBe(`${sim.url}/index.php/login/v2/poll`)
    const loginToken = flow.login.split("/").pop() ?? ""
    expect(loginToken).toMatch(ALNUM_128)
    expect(flow.login).toBe(`${sim.url}/index.php/login/v2/flow/${loginToken}`)
    expect(loginToken).not.toBe(flow.poll.token)
  })

  it("escapes slashes like PHP's json_encode", async () => {
    const response = await fetch(`${sim.url}/index.php/login/v2`, { method: "POST" })
    expect(response.headers.get("content-type")).toContain("application/json")
    expect(await response.text()).toContain("http:\\/\\/127.0.0.1")
  })

  it("init also answers without /index.php", async () => {
    const flow = await initFlow(sim.url, "/login/v2")
    expect(flow.poll.token).toMatch(ALNUM_128)
  })

  it("poll: 404 [] while pending, 200 exactly once after grant, then 404", async () => {
    const flow = await initFlow(sim.url)
    const pending = await pollForm(flow.poll.endpoint, flow.poll.token)
    expect(pending.status).toBe(404)
    expect(await pending.json()).toEqual([])

    const granted = await sim.grant({ flow: flow.login, userId: "alice" })
    expect(granted.appPassword).toMatch(ALNUM_72)
    expect(granted.name).toBe(USER_AGENT)

    const done = await pollForm(flow.poll.endpoint, flow.poll.token)
    expect(done.status).toBe(200)
    expect(await done.json()).toEqual({ server: sim.url, loginName: "alice", appPassword: granted.appPassword })

    const again = await pollForm(flow.poll.endpoint, flow.poll.token)
    expect(again.status).toBe(404)
    expect(await again.json()).toEqual([])

    const listed = await sim.listAppPasswords("alice")
    expect(listed.find((p) => p.password === granted.appPassword)).toMatchObject({ name: USER_AGENT, alive: true })
  })

  it("accepts the poll token as form body, JSON body or query string", async () => {
    for (const send of [
      (endpoint: string, token: string) => pollForm(endpoint, token),
      (endpoint: string, token: string) =>
        fetch(endpoint, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token }) }),
      (endpoint: string, token: string) => fetch(`${endpoint}?token=${token}`, { method: "POST" })
    ]) {
      const flow = await initFlow(sim.url)
      await sim.grant({ flow: flow.poll.token, userId: "alice" })
      const response = await send(flow.poll.endpoint, flow.poll.token)
      expect(response.status).toBe(200)
    }
  })

  it("unknown tokens and a missing token are 404 []", async () => {
    const unknown = await pollForm(`${sim.url}/index.php/login/v2/poll`, "x".repeat(128))
    expect(unknown.status).toBe(404)
    const missing = await fetch(`${sim.url}/index.php/login/v2/poll`, { method: "POST" })
    expect(missing.status).toBe(404)
    expect(await missing.json()).toEqual([])
  })

  it("a flow lives 1200 s: still pollable at 1199 s, gone at 1200 s (even if granted)", async () => {
    const flow = await initFlow(sim.url)
    await sim.advanceClock(1_199_000)
    await sim.grant({ flow: flow.login, userId: "alice" })
    const other = await initFlow(sim.url)
    await sim.grant({ flow: other.login, userId: "alice" })
    await sim.advanceClock(1_000)
    // `flow` is now 1200 s old; `other` only 1 s.
    expect((await pollForm(flow.poll.endpoint, flow.poll.token)).status).toBe(404)
    expect((await pollForm(other.poll.endpoint, other.poll.token)).status).toBe(200)
  })

  it("a pending flow is still 404 at 1199 s and cannot be granted after 1200 s", async () => {
    const flow = await initFlow(sim.url)
    await sim.advanceClock(1_199_000)
    expect((await pollForm(flow.poll.endpoint, flow.poll.token)).status).toBe(404)
    expect((await sim.listFlows()).some((f) => f.pollToken === flow.poll.token)).toBe(true)
    await sim.advanceClock(1_000)
    await expect(sim.grant({ flow: flow.login, userId: "alice" })).rejects.toMatchObject({ reason: "FlowExpired" })
    expect((await sim.listFlows()).some((f) => f.pollToken === flow.poll.token)).toBe(false)
  })

  it("deny keeps the flow pending from the client's view until expiry", async () => {
    const flow = await initFlow(sim.url)
    await sim.deny(flow.login)
    expect((await pollForm(flow.poll.endpoint, flow.poll.token)).status).toBe(404)
    await expect(sim.grant({ flow: flow.login, userId: "alice" })).rejects.toMatchObject({ reason: "FlowNotPending" })
    await sim.advanceClock(TWENTY_MINUTES)
    expect((await pollForm(flow.poll.endpoint, flow.poll.token)).status).toBe(404)
  })

  it("grants as a user whose login name differs from the uid, with a server from the browser side", async () => {
    const flow = await initFlow(sim.url)
    await sim.grant({ flow: flow.login, userId: "ada-5c7e", server: "https://cloud.example.org/nextcloud" })
    const body = (await (await pollForm(flow.poll.endpoint, flow.poll.token)).json()) as Record<string, string>
    expect(body).toMatchObject({ server: "https://cloud.example.org/nextcloud", loginName: "ada@example.org" })
  })

  it("grant with an existing app password hands over the same password (dashed UI format)", async () => {
    const existing = await sim.createAppPassword({ userId: "alice", name: "Phone", format: "dashed" })
    expect(existing.password).toMatch(/^([A-Za-z0-9]{5}-){4}[A-Za-z0-9]{5}$/)
    const flow = await initFlow(sim.url)
    await expect(
      sim.grantWithAppPassword({ flow: flow.login, loginName: "ALICE", appPassword: existing.password })
    ).rejects.toMatchObject({ reason: "InvalidAppPassword" })
    await sim.grantWithAppPassword({ flow: flow.login, loginName: "alice", appPassword: existing.password })
    const body = (await (await pollForm(flow.poll.endpoint, flow.poll.token)).json()) as Record<string, string>
    expect(body["appPassword"]).toBe(existing.password)
    expect((await sim.listAppPasswords("alice")).filter((p) => p.password === existing.password)).toHaveLength(1)
  })

  it("grant fails for unknown flows and users", async () => {
    await expect(sim.grant({ flow: "nope", userId: "alice" })).rejects.toMatchObject({ reason: "UnknownFlow" })
    const flow = await initFlow(sim.url)
    await expect(sim.grant({ flow: flow.login, userId: "nobody" })).rejects.toMatchObject({ reason: "UnknownUser" })
  })

  it("bad credentials on the poll request are a 401, as index.php logs clients in first", async () => {
    const flow = await initFlow(sim.url)
    const response = await fetch(flow.poll.endpoint, {
      method: "POST",
      headers: { Authorization: basic("alice", "wrong") },
      body: new URLSearchParams({ token: flow.poll.token })
    })
    expect(response.status).toBe(401)
  })

  it("counts inits, polls and successful polls", async () => {
    await sim.resetCounters()
    const flow = await initFlow(sim.url)
    await pollForm(flow.poll.endpoint, flow.poll.token)
    await sim.grant({ flow: flow.login, userId: "alice" })
    await pollForm(flow.poll.endpoint, flow.poll.token)
    await pollForm(flow.poll.endpoint, flow.poll.token)
    const counters = await sim.counters()
    expect(counters).toMatchObject({ inits: 1, polls: 3, successfulPolls: 1 })
    expect(counters.requests).toMatchObject({ init: 1, poll: 3 })
  })
})

describe("Login Flow v2 URLs and browser pages", () => {
  it("builds login and endpoint from a configured external base URL, without /index.php", async () => {
    const sim = await startSimulator({
      externalBaseUrl: (url) => url.replace("127.0.0.1", "localhost"),
      indexPhp: false
    })
    try {
      const flow = await initFlow(sim.url)
      const localhost = sim.url.replace("127.0.0.1", "localhost")
      expect(flow.poll.endpoint).toBe(`${localhost}/login/v2/poll`)
      expect(flow.login.startsWith(`${localhost}/login/v2/flow/`)).toBe(true)
      await sim.configure({ externalBaseUrl: "https://cloud.example.org" })
      const proxied = await initFlow(sim.url)
      expect(proxied.poll.endpoint).toBe("https://cloud.example.org/login/v2/poll")
      // The client calls the endpoint's path on its own base URL; the grant reports the external server.
      await sim.grant({ flow: proxied.login, userId: "alice" })
      const done = await pollForm(`${sim.url}/login/v2/poll`, proxied.poll.token)
      expect(await done.json()).toMatchObject({ server: "https://cloud.example.org" })
    } finally {
      await sim.close()
    }
  })

  it("overwriteWebroot goes verbatim into login and endpoint (a webroot ending in /, or a hostile one)", async () => {
    const sim = await startSimulator({ overwriteWebroot: "/" })
    try {
      const flow = await initFlow(sim.url)
      expect(flow.poll.endpoint).toBe(`${sim.url}//index.php/login/v2/poll`)
      expect(flow.login.startsWith(`${sim.url}//index.php/login/v2/flow/`)).toBe(true)
      // Over the HTTP hooks too.
      const configured = await fetch(`${sim.url}/__sim/config`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ overwriteWebroot: "//evil.example:8080" })
      })
      expect(await configured.json()).toMatchObject({ overwriteWebroot: "//evil.example:8080" })
      const hostile = await initFlow(sim.url)
      expect(hostile.poll.endpoint).toBe(`${sim.url}//evil.example:8080/index.php/login/v2/poll`)
      // The simulator itself still serves its own paths: the flow is granted by its login URL.
      await sim.grant({ flow: hostile.login, userId: "alice" })
      expect((await pollForm(`${sim.url}/index.php/login/v2/poll`, hostile.poll.token)).status).toBe(200)
    } finally {
      await sim.close()
    }
  })

  it("uses the Host header of the request when no external URL is configured", async () => {
    const sim = await startSimulator()
    try {
      const other = sim.url.replace("127.0.0.1", "localhost")
      const flow = await initFlow(other)
      expect(flow.poll.endpoint).toBe(`${other}/index.php/login/v2/poll`)
    } finally {
      await sim.close()
    }
  })

  it("landing page: 302 for a valid token, 403 for an invalid one; grant by hand completes the flow", async () => {
    const sim = await startSimulator()
    try {
      const flow = await initFlow(sim.url)
      const landing = await fetch(flow.login, { redirect: "manual" })
      expect(landing.status).toBe(302)
      expect(landing.headers.get("location")).toBe("/index.php/login/v2/flow")
      const cookie = (landing.headers.get("set-cookie") ?? "").split(";")[0] ?? ""
      const picker = await fetch(`${sim.url}/index.php/login/v2/flow`, { headers: { Cookie: cookie } })
      expect(picker.status).toBe(200)
      const page = await picker.text()
      expect(page).toContain("Connect to your account")
      expect(page).toContain(USER_AGENT)
      expect((await sim.listFlows()).find((f) => f.pollToken === flow.poll.token)?.started).toBe(true)

      const loginToken = flow.login.split("/").pop() ?? ""
      const grant = await fetch(`${sim.url}/index.php/login/v2/grant`, {
        method: "POST",
        body: new URLSearchParams({ stateToken: loginToken, user: "ada-5c7e" })
      })
      expect(grant.status).toBe(200)
      expect(await grant.text()).toContain("Account connected")
      const done = await pollForm(flow.poll.endpoint, flow.poll.token)
      expect(await done.json()).toMatchObject({ loginName: "ada@example.org", server: sim.url })

      const invalid = await fetch(`${sim.url}/index.php/login/v2/flow/${"y".repeat(128)}`, { redirect: "manual" })
      expect(invalid.status).toBe(403)
      expect(await invalid.text()).toContain("Your login token is invalid or has expired")
      const consumed = await fetch(flow.login, { redirect: "manual" })
      expect(consumed.status).toBe(403)
    } finally {
      await sim.close()
    }
  })

  it("user-agent allow-list: init still 200, browser pages 403 'Please use original client'", async () => {
    const sim = await startSimulator({ allowedUserAgents: ["^Nextcloud-Desktop"] })
    try {
      const flow = await initFlow(sim.url)
      const landing = await fetch(flow.login, { redirect: "manual" })
      expect(landing.status).toBe(403)
      expect(await landing.text()).toContain("Please use original client")
      await expect(sim.grant({ flow: flow.login, userId: "alice" })).rejects.toMatchObject({ reason: "ClientNotAllowed" })
      await sim.configure({ allowedUserAgents: ["/^nextcloud-mcp/i"] })
      expect((await fetch(flow.login, { redirect: "manual" })).status).toBe(302)
    } finally {
      await sim.close()
    }
  })
})
