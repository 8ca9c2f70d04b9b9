import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { deckSimulator } from "../../../src/apps/deck/simulator.js"
import { startSimulator } from "../../../src/simulator/index.js"
import { basic } from "../../simulator/helpers.js"

const startWithDeck = () => startSimulator({ apps: [deckSimulator] })

describe("Deck in the simulator, on the wire", () => {
  let sim: Awaited<ReturnType<typeof startWithDeck>>
  let auth: string
  beforeAll(async () => {
    sim = await startWithDeck()
    await sim.addUser({ userId: "dora", password: "dora-password" })
    auth = basic("dora", (await sim.createAppPassword({ userId: "dora" })).password)
  })
  afterAll(() => sim.close())

  const call = (path: string, init: RequestInit = {}) =>
    fetch(`${sim.url}${path}`, {
      ...init,
      headers: { Authorization: auth, "OCS-APIRequest": "true", "Content-Type": "application/json", ...(init.headers as Record<string, string>) }
    })

  it("answers Deck's envelopes: 401 without login, {status, message} errors, ETag on a card, 304 on If-None-Match", async () => {
    const anonymous = await fetch(`${sim.url}/index.php/apps/deck/api/v1.0/boards`)
    expect(anonymous.status).toBe(401)
    const board = await sim.seedBoard({ owner: "dora", title: "B", stacks: ["S"] })
    const stack = board.stacks[0]!
    const missingTitle = await call(`/index.php/apps/deck/api/v1.0/boards/${board.id}/stacks/${stack.id}/cards`, { method: "POST", body: "{}" })
    expect(missingTitle.status).toBe(400)
    expect(await missingTitle.json()).toEqual({ status: 400, message: "title must be provided" })
    const denied = await call(`/apps/deck/api/v1.1/boards/999999`)
    expect(denied.status).toBe(403)
    expect(await denied.json()).toEqual({ status: 403, message: "Permission denied" })

    const created = await call(`/index.php/apps/deck/api/v1.0/boards/${board.id}/stacks/${stack.id}/cards`, {
      method: "POST",
      body: JSON.stringify({ title: "Card", type: "plain", order: 999 })
    })
    const card = (await created.json()) as { id: number; owner: string; ETag: string }
    expect(card.owner).toBe("dora")
    const got = await call(`/index.php/apps/deck/api/v1.0/boards/${board.id}/stacks/${stack.id}/cards/${card.id}`)
    expect(got.headers.get("etag")).toBe(`"${card.ETag}"`)
    const again = await call(`/index.php/apps/deck/api/v1.0/boards/${board.id}/stacks/${stack.id}/cards/${card.id}`, {
      headers: { "If-None-Match": `"${card.ETag}"` }
    })
    expect(again.status).toBe(304)
  })

  it("an update without duedate, startdate or done clears them, as Deck's does", async () => {
    const board = await sim.seedBoard({ owner: "dora", title: "B", stacks: ["S"] })
    const stack = board.stacks[0]!
    const card = await sim.seedCard({ stackId: stack.id, title: "Dated", duedate: "2026-01-02T03:04:05Z", startdate: "2026-01-01T00:00:00Z", done: "2026-01-03T00:00:00Z" })
    const put = await call(`/index.php/apps/deck/api/v1.0/boards/${board.id}/stacks/${stack.id}/cards/${card.id}`, {
      method: "PUT",
      body: JSON.stringify({ title: "Dated", type: "plain", owner: "dora", order: 0 })
    })
    expect(put.status).toBe(200)
    expect(await sim.getDeckCard(card.id)).toMatchObject({ duedate: null, startdate: null, done: null })
  })

  it("comments are OCS: the envelope, and 412 without OCS-APIRequest", async () => {
    const board = await sim.seedBoard({ owner: "dora", title: "B", stacks: ["S"] })
    const card = await sim.seedCard({ stackId: board.stacks[0]!.id, title: "C" })
    const path = `/ocs/v2.php/apps/deck/api/v1.0/cards/${card.id}/comments?format=json`
    const noHeader = await fetch(`${sim.url}${path}`, { method: "POST", headers: { Authorization: auth }, body: JSON.stringify({ message: "x" }) })
    expect(noHeader.status).toBe(412)
    const posted = await call(path, { method: "POST", body: JSON.stringify({ message: "Hello" }) })
    expect(posted.status).toBe(200)
    const body = (await posted.json()) as { ocs: { meta: { statuscode: number }; data: { message: string; objectId: string } } }
    expect(body.ocs.meta.statuscode).toBe(200)
    expect(body.ocs.data).toMatchObject({ message: "Hello", objectId: String(card.id) })
    const listed = (await (await call(path)).json()) as { ocs: { data: Array<{ message: string }> } }
    expect(listed.ocs.data.map((c) => c.message)).toEqual(["Hello"])
    const other = await call(`/ocs/v2.php/apps/deck/api/v1.0/cards/999999/comments?format=json`, { method: "POST", body: JSON.stringify({ message: "x" }) })
    expect(other.status).toBe(403)
  })
})
