import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { deckSimulator } from "../../../src/apps/deck/simulator.js"
import { tablesSimulator } from "../../../src/apps/tables/simulator.js"
import { connectSimulator, startSimulator } from "../../../src/simulator/index.js"
import { basic } from "../../simulator/helpers.js"

const startWithTables = () => startSimulator({ apps: [tablesSimulator] })

describe("Tables in the simulator, on the wire", () => {
  let sim: Awaited<ReturnType<typeof startWithTables>>
  let auth: string
  beforeAll(async () => {
    sim = await startWithTables()
    await sim.addUser({ userId: "tom", password: "tom-password" })
    auth = basic("tom", (await sim.createAppPassword({ userId: "tom" })).password)
  })
  afterAll(() => sim.close())

  const call = (path: string, init: RequestInit = {}) =>
    fetch(`${sim.url}${path}`, {
      ...init,
      headers: { Authorization: auth, "OCS-APIRequest": "true", "Content-Type": "application/json", ...(init.headers as Record<string, string>) }
    })

  it("v2 is OCS (envelope, 412 without OCS-APIRequest, 404 in the envelope); v1 is plain JSON", async () => {
    const table = await sim.seedTable({ owner: "tom", title: "T", columns: [{ title: "Name", type: "text", mandatory: true }] })
    const listed = (await (await call("/ocs/v2.php/apps/tables/api/2/tables?format=json")).json()) as { ocs: { meta: { statuscode: number }; data: Array<{ title: string }> } }
    expect(listed.ocs.meta.statuscode).toBe(200)
    expect(listed.ocs.data.map((t) => t.title)).toEqual(["T"])
    const csrf = await fetch(`${sim.url}/ocs/v2.php/apps/tables/api/2/tables?format=json`, { headers: { Authorization: auth } })
    expect(csrf.status).toBe(412)
    const missing = await call("/ocs/v2.php/apps/tables/api/2/tables/999999?format=json")
    expect(missing.status).toBe(404)
    expect(((await missing.json()) as { ocs: { data: { message: string } } }).ocs.data.message).toContain("not found")
    const mandatory = await call(`/ocs/v2.php/apps/tables/api/2/tables/${table.id}/rows?format=json`, { method: "POST", body: JSON.stringify({ data: {} }) })
    expect(mandatory.status).toBe(400)

    const anonymous = await fetch(`${sim.url}/index.php/apps/tables/api/1/rows/1`)
    expect(anonymous.status).toBe(401)
    const noRow = await call("/index.php/apps/tables/api/1/rows/999999")
    expect(noRow.status).toBe(404)
    expect(await noRow.json()).toHaveProperty("message")
    const noUpdate = await call("/apps/tables/api/1/rows/999999", { method: "PUT", body: JSON.stringify({ data: {} }) })
    expect(noUpdate.status).toBe(500)
  })

  it("the Deck and Tables hooks work over HTTP through their remote clients", async () => {
    const both = await startSimulator({ apps: [deckSimulator, tablesSimulator] })
    try {
      const remote = connectSimulator(both.url, { apps: [deckSimulator, tablesSimulator] })
      const board = await remote.seedBoard({ owner: "alice", title: "Remote", stacks: ["S"] })
      const card = await remote.seedCard({ stackId: board.stacks[0]!.id, title: "C" })
      expect((await remote.listDeckCards(board.stacks[0]!.id)).map((c) => c.id)).toEqual([card.id])
      const table = await remote.seedTable({ owner: "alice", title: "T", columns: [{ title: "A", type: "text" }] })
      await remote.seedRow({ tableId: table.id, data: { [table.columns[0]!.id]: "x" } })
      expect((await remote.listTableRows(table.id)).map((r) => r.data[String(table.columns[0]!.id)])).toEqual(["x"])
      await expect(remote.seedTable({ owner: "nobody", title: "T" })).rejects.toMatchObject({ reason: "UnknownUser" })
    } finally {
      await both.close()
    }
  })
})
