import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { connectSimulator, type PromiseSimulator, type RemoteSimulator, startSimulator } from "../../src/simulator/index.js"
import { simulatorApps } from "../../src/apps/registry.js"
import { basic, initFlow, ocs, pollForm } from "./helpers.js"

const postJson = (url: string, body: unknown): Promise<Response> =>
  fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })

describe("HTTP hooks under /__sim (driven from another process)", () => {
  let sim: PromiseSimulator
  let remote: RemoteSimulator
  beforeAll(async () => {
    sim = await startSimulator()
    // Only the URL crosses over, as it would to another process.
    remote = connectSimulator(sim.url)
  })
  afterAll(() => sim.close())

  it("GET /__sim lists the endpoints", async () => {
    const response = await fetch(`${sim.url}/__sim`)
    expect(response.status).toBe(200)
    const body = (await response.json()) as { url: string; endpoints: ReadonlyArray<string> }
    expect(body.url).toBe(sim.url)
    expect(body.endpoints.some((e) => e.includes("/__sim/flows/grant"))).toBe(true)
  })

  it("grant by login URL over raw HTTP, then the client polls the credentials", async () => {
    const flow = await initFlow(sim.url)
    const granted = await postJson(`${sim.url}/__sim/flows/grant`, { flow: flow.login, userId: "ada-5c7e" })
    expect(granted.status).toBe(200)
    const grant = (await granted.json()) as { appPassword: string; loginName: string }
    expect(grant.loginName).toBe("ada@example.org")
    const polled = (await (await pollForm(flow.poll.endpoint, flow.poll.token)).json()) as { appPassword: string }
    expect(polled.appPassword).toBe(grant.appPassword)
  })

  it("errors are JSON with a reason and a fitting status", async () => {
    const unknown = await postJson(`${sim.url}/__sim/flows/grant`, { flow: "nope", userId: "alice" })
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toMatchObject({ error: "UnknownFlow" })
    const invalid = await postJson(`${sim.url}/__sim/flows/grant`, { userId: 3 })
    expect(invalid.status).toBe(400)
    expect(await invalid.json()).toMatchObject({ error: "InvalidRequest" })
    const badFault = await postJson(`${sim.url}/__sim/faults`, { target: "poll", fault: { _tag: "Status", status: 200 } })
    expect(badFault.status).toBe(400)
    await expect(remote.grant({ flow: "nope", userId: "alice" })).rejects.toMatchObject({
      _tag: "SimulatorHookError",
      reason: "UnknownFlow"
    })
  })

  it("grant, deny, revoke, list and status through the remote client", async () => {
    const first = await initFlow(sim.url)
    const flows = await remote.listFlows()
    const listed = flows.find((f) => f.pollToken === first.poll.token)
    expect(listed).toMatchObject({ state: "pending", clientName: "nextcloud-mcp tests (ci-host)" })
    expect(listed?.loginUrl).toBe(first.login)

    const grant = await remote.grant({ flow: first.login.split("/").pop() ?? "", userId: "alice" })
    expect((await pollForm(first.poll.endpoint, first.poll.token)).status).toBe(200)
    const auth = basic("alice", grant.appPassword)
    expect((await ocs(sim.url, "/cloud/user", { authorization: auth })).status).toBe(200)
    await remote.revokeAppPassword(grant.appPassword)
    expect((await ocs(sim.url, "/cloud/user", { authorization: auth })).status).toBe(401)
    expect(await remote.appPasswordStatus(grant.appPassword)).toBe("revoked")
    const passwords = await remote.listAppPasswords("alice")
    expect(passwords.find((p) => p.id === grant.appPasswordId)).toMatchObject({ alive: false, name: "nextcloud-mcp tests (ci-host)" })
    await expect(remote.revokeAppPassword(grant.appPassword)).rejects.toMatchObject({ reason: "UnknownAppPassword" })

    const second = await initFlow(sim.url)
    await remote.deny(second.login)
    expect((await pollForm(second.poll.endpoint, second.poll.token)).status).toBe(404)
  })

  it("grant with an existing app password and user management", async () => {
    const user = await remote.addUser({ userId: "e2a1", loginName: "eve@example.org", displayName: "Eve" })
    expect(user).toMatchObject({ userId: "e2a1", loginName: "eve@example.org", hasPassword: false })
    expect((await remote.listUsers()).map((u) => u.userId)).toContain("e2a1")
    const existing = await remote.createAppPassword({ userId: "e2a1", name: "Laptop" })
    const flow = await initFlow(sim.url)
    await remote.grantWithAppPassword({ flow: flow.login, loginName: "eve@example.org", appPassword: existing.password })
    const body = (await (await pollForm(flow.poll.endpoint, flow.poll.token)).json()) as { appPassword: string }
    expect(body.appPassword).toBe(existing.password)
  })

  it("clock, faults, counters and configuration", async () => {
    const before = await remote.now()
    await remote.advanceClock(1_200_000)
    expect((await remote.now()) - before).toBeGreaterThanOrEqual(1_200_000)

    await remote.resetCounters()
    const id = await remote.injectFault({ target: "init", fault: { _tag: "Status", status: 503 } })
    expect((await remote.listFaults()).map((f) => f.id)).toEqual([id])
    expect((await fetch(`${sim.url}/index.php/login/v2`, { method: "POST" })).status).toBe(503)
    await remote.clearFaults(id)
    await initFlow(sim.url)
    const counters = await remote.counters()
    expect(counters).toMatchObject({ inits: 1, requests: { init: 2 } })

    const config = await remote.configure({ externalBaseUrl: "https://nc.example.org", indexPhp: false })
    expect(config).toMatchObject({ externalBaseUrl: "https://nc.example.org", indexPhp: false })
    expect((await initFlow(sim.url)).poll.endpoint).toBe("https://nc.example.org/login/v2/poll")
    await remote.configure({ externalBaseUrl: null, indexPhp: true })
    await remote.resetBruteForce()
  })
})

describe("the mounted apps' hooks over HTTP", () => {
  it("are listed in the index and driven through each app's remote client", async () => {
    const apps = await simulatorApps()
    const sim = await startSimulator({ apps })
    try {
      const remote = connectSimulator(sim.url, { apps })
      const index = (await (await fetch(`${sim.url}/__sim`)).json()) as { endpoints: ReadonlyArray<string> }
      expect(index.endpoints.some((e) => e.includes("/__sim/notes"))).toBe(true)
      expect(index.endpoints.some((e) => e.includes("/__sim/files/read"))).toBe(true)
      const note = await remote.seedNote({ userId: "alice", title: "Seeded remotely", content: "x" })
      expect((await sim.listNotes("alice")).map((n) => n.id)).toEqual([note.id])
      await remote.seedFile({ userId: "alice", path: "Docs/a.txt", content: "hello" })
      expect((await remote.readFile({ userId: "alice", path: "Docs/a.txt" })).content).toBe("hello")
      await expect(remote.listNotes("nobody")).rejects.toMatchObject({ _tag: "SimulatorHookError", reason: "UnknownUser" })
    } finally {
      await sim.close()
    }
  })
})

