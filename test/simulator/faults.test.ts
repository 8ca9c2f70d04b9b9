import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { Fault, startSimulator } from "../../src/simulator/index.js"
import { type SimulatorWithApps, startSimulatorWithApps } from "../support/simulator.js"
import { basic, initFlow, ocs, pollForm } from "./helpers.js"

/** The failure a fetch rejects with when the connection is dropped. */
const outcome = (request: Promise<Response>): Promise<number | "dropped"> =>
  request.then(
    (r) => r.status,
    () => "dropped" as const
  )

describe("fault injection", () => {
  // The apps' routes are fault targets too (notes.list, dav.propfind).
  let sim: SimulatorWithApps
  beforeAll(async () => {
    sim = await startSimulatorWithApps()
  })
  afterEach(() => sim.clearFaults())
  afterAll(() => sim.close())

  it("latency delays the answer, which is otherwise normal", async () => {
    await sim.injectFault({ target: "init", fault: Fault.latency(60), times: 1 })
    const started = performance.now()
    const flow = await initFlow(sim.url)
    expect(performance.now() - started).toBeGreaterThanOrEqual(55)
    expect(flow.poll.token).toHaveLength(128)
  })

  it("a 5xx status for the next N requests, without touching state", async () => {
    const flow = await initFlow(sim.url)
    await sim.grant({ flow: flow.login, userId: "alice" })
    await sim.injectFault({ target: "poll", fault: Fault.status(503), times: 2 })
    expect((await pollForm(flow.poll.endpoint, flow.poll.token)).status).toBe(503)
    expect((await pollForm(flow.poll.endpoint, flow.poll.token)).status).toBe(503)
    expect((await pollForm(flow.poll.endpoint, flow.poll.token)).status).toBe(200)
    expect(await sim.listFaults()).toEqual([])
  })

  it("malformed JSON: 200 with a JSON content type and a broken body", async () => {
    const flow = await initFlow(sim.url)
    await sim.grant({ flow: flow.login, userId: "alice" })
    await sim.injectFault({ target: "poll", fault: Fault.malformedJson(), times: 1 })
    const response = await pollForm(flow.poll.endpoint, flow.poll.token)
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toContain("application/json")
    const text = await response.text()
    expect(() => JSON.parse(text)).toThrow()
    // The flow was not consumed.
    expect((await pollForm(flow.poll.endpoint, flow.poll.token)).status).toBe(200)
  })

  it("drop destroys the connection without an answer", async () => {
    await sim.injectFault({ target: "init", fault: Fault.drop(), times: 1 })
    expect(await outcome(fetch(`${sim.url}/index.php/login/v2`, { method: "POST" }))).toBe("dropped")
    expect(await outcome(fetch(`${sim.url}/index.php/login/v2`, { method: "POST" }))).toBe(200)
  })

  it("phase 'after': the poll consumes the flow but the answer is lost", async () => {
    const flow = await initFlow(sim.url)
    await sim.grant({ flow: flow.login, userId: "alice" })
    await sim.injectFault({ target: "poll", fault: Fault.drop(), times: 1, phase: "after" })
    expect(await outcome(pollForm(flow.poll.endpoint, flow.poll.token))).toBe("dropped")
    expect((await pollForm(flow.poll.endpoint, flow.poll.token)).status).toBe(404)
    expect((await sim.counters()).successfulPolls).toBeGreaterThanOrEqual(1)
  })

  it("a fault without a count lasts until cleared", async () => {
    const id = await sim.injectFault({ target: "ocs.user", fault: Fault.status(500) })
    for (let i = 0; i < 3; i++) expect((await ocs(sim.url, "/cloud/user")).status).toBe(500)
    await sim.clearFaults(id)
    expect((await ocs(sim.url, "/cloud/user")).status).toBe(401)
  })

  it("targets OCS app-password deletion without affecting other routes", async () => {
    const created = await sim.createAppPassword({ userId: "alice", format: "long" })
    const auth = basic("alice", created.password)
    await sim.injectFault({ target: "ocs.apppassword.delete", fault: Fault.status(502), times: 1 })
    expect((await ocs(sim.url, "/cloud/user", { authorization: auth })).status).toBe(200)
    expect((await ocs(sim.url, "/core/apppassword", { method: "DELETE", authorization: auth })).status).toBe(502)
    expect(await sim.appPasswordStatus(created.password)).toBe("alive")
    expect((await ocs(sim.url, "/core/apppassword", { method: "DELETE", authorization: auth })).status).toBe(200)
    expect(await sim.appPasswordStatus(created.password)).toBe("revoked")
  })

  it("targets any path prefix", async () => {
    await sim.injectFault({ target: { pathPrefix: "/ocs/" }, fault: Fault.status(503), times: 2 })
    expect((await ocs(sim.url, "/cloud/user")).status).toBe(503)
    expect((await ocs(sim.url, "/core/apppassword", { method: "DELETE" })).status).toBe(503)
    expect((await ocs(sim.url, "/cloud/user")).status).toBe(401)
  })

  it("never applies to the /__sim hooks", async () => {
    await sim.injectFault({ target: { pathPrefix: "/" }, fault: Fault.drop() })
    const listed = await fetch(`${sim.url}/__sim/faults`)
    expect(listed.status).toBe(200)
    expect(await outcome(fetch(`${sim.url}/index.php/login/v2`, { method: "POST" }))).toBe("dropped")
  })

  it("counts every arriving request per route, faulted ones included", async () => {
    await sim.resetCounters()
    await sim.injectFault({ target: "poll", fault: Fault.status(500), times: 1 })
    await pollForm(`${sim.url}/index.php/login/v2/poll`, "t")
    await pollForm(`${sim.url}/login/v2/poll`, "t")
    await ocs(sim.url, "/cloud/user")
    const counters = await sim.counters()
    expect(counters.requests).toEqual({ poll: 2, "ocs.user": 1 })
    expect(counters.polls).toBe(1)
  })

  it("HugeBody streams N bytes with a JSON or XML content type, Content-Length only when announced", async () => {
    await sim.injectFault({ target: "ocs.user", fault: Fault.hugeBody(3 * 1024 * 1024 + 5, "json"), times: 1 })
    const streamed = await ocs(sim.url, "/cloud/user")
    expect(streamed.status).toBe(200)
    expect(streamed.headers.get("content-type")).toContain("application/json")
    expect(streamed.headers.get("content-length")).toBeNull()
    const bytes = new Uint8Array(await streamed.arrayBuffer())
    expect(bytes.byteLength).toBe(3 * 1024 * 1024 + 5)
    expect(String.fromCharCode(bytes[0] ?? 0)).toBe("[")

    await sim.injectFault({ target: "dav.propfind", fault: Fault.hugeBody(1000, "xml", { announce: true }), times: 1 })
    const announced = await fetch(`${sim.url}/remote.php/dav/files/alice/`, { method: "PROPFIND" })
    expect(announced.headers.get("content-type")).toContain("application/xml")
    expect(announced.headers.get("content-length")).toBe("1000")
    expect((await announced.text()).startsWith("<?xml")).toBe(true)
  })

  it("HugeBody is made up as it is sent: a client that stops reading stops it", async () => {
    // A terabyte: it could never be held, only made up chunk by chunk.
    await sim.injectFault({ target: "ocs.user", fault: Fault.hugeBody(1024 ** 4, "json"), times: 1 })
    const reader = (await ocs(sim.url, "/cloud/user")).body?.getReader()
    const first = await reader?.read()
    expect(first?.value?.byteLength ?? 0).toBeGreaterThan(0)
    await reader?.cancel()
    // The simulator keeps serving.
    expect((await ocs(sim.url, "/cloud/user")).status).toBe(401)
  })

  it("EndlessChunks: every notes list answer is a full chunk of new notes with a new cursor, also over /__sim", async () => {
    const created = await sim.createAppPassword({ userId: "alice" })
    const list = (query: string) =>
      fetch(`${sim.url}/index.php/apps/notes/api/v1/notes${query}`, { headers: { Authorization: basic("alice", created.password) } })
    const injected = await fetch(`${sim.url}/__sim/faults`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ target: "notes.list", fault: { _tag: "EndlessChunks" }, times: 2 })
    })
    expect(injected.status).toBe(201)
    const first = await list("?chunkSize=3")
    const second = await list(`?chunkSize=3&chunkCursor=${first.headers.get("x-notes-chunk-cursor")}`)
    const ids = [...((await first.json()) as Array<{ id: number }>), ...((await second.json()) as Array<{ id: number }>)].map((n) => n.id)
    expect(new Set(ids).size).toBe(6)
    expect(second.headers.get("x-notes-chunk-cursor")).not.toBe(first.headers.get("x-notes-chunk-cursor"))

    await sim.injectFault({ target: "notes.list", fault: Fault.endlessChunks({ sameCursor: true }), times: 2 })
    const a = await list("")
    const b = await list("")
    expect(((await a.json()) as Array<unknown>).length).toBe(100)
    expect(b.headers.get("x-notes-chunk-cursor")).toBe(a.headers.get("x-notes-chunk-cursor"))
    expect((await b.json()) as Array<unknown>).toHaveLength(100)
  })

  it("a route key must be the core's or a mounted app's: without Notes mounted, notes.list is refused (400 over /__sim)", async () => {
    const core = await startSimulator()
    try {
      await expect(core.injectFault({ target: "notes.list", fault: Fault.status(500) })).rejects.toMatchObject({
        _tag: "SimulatorHookError",
        reason: "InvalidRequest"
      })
      const overHttp = await fetch(`${core.url}/__sim/faults`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ target: "nope.nothing", fault: { _tag: "Drop" } })
      })
      expect(overHttp.status).toBe(400)
      expect(await overHttp.json()).toMatchObject({ error: "InvalidRequest" })
      expect(await core.listFaults()).toEqual([])
      // Unclaimed paths count as "other", which is a core key; prefixes need no key.
      await core.injectFault({ target: "other", fault: Fault.status(500), times: 1 })
      await core.injectFault({ target: { pathPrefix: "/apps/notes/" }, fault: Fault.status(500), times: 1 })
      expect((await core.listFaults()).length).toBe(2)
    } finally {
      await core.close()
    }
    expect(await sim.injectFault({ target: "notes.list", fault: Fault.status(500), times: 1 })).toMatch(/^fault-/)
  })
})
