import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { notesSimulator } from "../../../src/apps/notes/simulator.js"
import { startSimulator } from "../../../src/simulator/index.js"
import { basic } from "../../simulator/helpers.js"

/** Only this app mounted: its part needs nothing but the core. */
const startWithNotes = () => startSimulator({ apps: [notesSimulator] })

interface NoteJson {
  readonly id: number
  readonly etag?: string
  readonly title?: string
  readonly content?: string
  readonly category?: string
  readonly favorite?: boolean
  readonly readonly?: boolean
  readonly modified?: number
}

describe("Notes API v1", () => {
  let sim: Awaited<ReturnType<typeof startWithNotes>>
  let auth: string
  let base: string
  beforeAll(async () => {
    sim = await startWithNotes()
    await sim.addUser({ userId: "nora", password: "nora-password" })
    const created = await sim.createAppPassword({ userId: "nora" })
    auth = basic("nora", created.password)
    base = `${sim.url}/index.php/apps/notes/api/v1/notes`
  })
  afterAll(() => sim.close())

  const call = (path: string, init: RequestInit = {}) =>
    fetch(`${base}${path}`, { ...init, headers: { Authorization: auth, ...(init.headers as Record<string, string>) } })

  it("creates, reads with an ETag, lists, updates with If-Match, deletes", async () => {
    const created = await call("", { method: "POST", body: JSON.stringify({ content: "# Groceries\nmilk", category: "home" }) })
    expect(created.status).toBe(200)
    const note = (await created.json()) as NoteJson
    expect(note).toMatchObject({ title: "Groceries", content: "# Groceries\nmilk", category: "home", favorite: false, readonly: false })
    expect(Object.keys(note).sort()).toEqual(["category", "content", "etag", "favorite", "id", "modified", "readonly", "title"])

    const got = await call(`/${note.id}`)
    expect(got.headers.get("etag")).toBe(`"${note.etag}"`)
    expect(((await got.json()) as NoteJson).content).toBe("# Groceries\nmilk")

    const stale = await call(`/${note.id}`, { method: "PUT", headers: { "If-Match": '"nope"' }, body: JSON.stringify({ content: "x" }) })
    expect(stale.status).toBe(412)
    expect(((await stale.json()) as NoteJson).content).toBe("# Groceries\nmilk")

    const updated = await call(`/${note.id}`, { method: "PUT", headers: { "If-Match": `"${note.etag}"` }, body: JSON.stringify({ content: "eggs", favorite: true }) })
    expect(updated.status).toBe(200)
    const after = (await updated.json()) as NoteJson
    expect(after).toMatchObject({ content: "eggs", favorite: true, title: "Groceries" })
    expect(after.etag).not.toBe(note.etag)

    expect((await call(`/${note.id}`, { method: "DELETE" })).status).toBe(200)
    expect((await call(`/${note.id}`)).status).toBe(404)
    expect((await call(`/${note.id}`, { method: "DELETE" })).status).toBe(404)
    expect((await call(`/${note.id}`, { method: "PUT", body: "{}" })).status).toBe(404)
  })

  it("401 on bad credentials; a revoked app password stops working", async () => {
    expect((await fetch(base, { headers: { Authorization: basic("nora", "wrong") } })).status).toBe(401)
    expect((await fetch(base)).status).toBe(401)
    const extra = await sim.createAppPassword({ userId: "nora" })
    expect((await fetch(base, { headers: { Authorization: basic("nora", extra.password) } })).status).toBe(200)
    await sim.revokeAppPassword(extra.password)
    expect((await fetch(base, { headers: { Authorization: basic("nora", extra.password) } })).status).toBe(401)
  })

  it("lists by category, with exclude, pruneBefore and chunked paging", async () => {
    await sim.addUser({ userId: "paul" })
    const pw = (await sim.createAppPassword({ userId: "paul" })).password
    for (let i = 1; i <= 5; i++) await sim.seedNote({ userId: "paul", title: `n${i}`, content: `c${i}`, category: i % 2 === 0 ? "even" : "odd", modified: 1000 + i })
    const get = (query: string) => fetch(`${base}${query}`, { headers: { Authorization: basic("paul", pw) } })

    const all = (await (await get("")).json()) as Array<NoteJson>
    expect(all.map((n) => n.title)).toEqual(["n5", "n4", "n3", "n2", "n1"])

    const even = (await (await get("?category=even&exclude=content,etag")).json()) as Array<NoteJson>
    expect(even.map((n) => n.title)).toEqual(["n4", "n2"])
    expect(even[0]).not.toHaveProperty("content")
    expect(even[0]).not.toHaveProperty("etag")

    const pruned = (await (await get("?pruneBefore=1004")).json()) as Array<NoteJson>
    expect(pruned.find((n) => n.title === "n5")).toBeDefined()
    expect(pruned.filter((n) => Object.keys(n).length === 1)).toHaveLength(3)

    const first = await get("?chunkSize=2")
    const cursor = first.headers.get("x-notes-chunk-cursor")
    expect(cursor).not.toBeNull()
    expect(((await first.json()) as Array<NoteJson>).map((n) => n.title)).toEqual(["n5", "n4"])
    const second = await get(`?chunkSize=2&chunkCursor=${cursor}`)
    expect(((await second.json()) as Array<NoteJson>).map((n) => n.title)).toEqual(["n3", "n2"])
    const third = await get(`?chunkSize=2&chunkCursor=${second.headers.get("x-notes-chunk-cursor")}`)
    expect(((await third.json()) as Array<NoteJson>).map((n) => n.title)).toEqual(["n1"])
    expect(third.headers.get("x-notes-chunk-cursor")).toBeNull()
    expect((await get("?chunkCursor=garbage")).status).toBe(400)
  })

  it("read-only notes refuse writes with 403; titles stay unique per category", async () => {
    const ro = await sim.seedNote({ userId: "nora", title: "Shared", content: "x", readonly: true })
    expect((await call(`/${ro.id}`, { method: "PUT", body: JSON.stringify({ content: "y" }) })).status).toBe(403)
    expect((await call(`/${ro.id}`, { method: "DELETE" })).status).toBe(403)
    const again = (await (await call("", { method: "POST", body: JSON.stringify({ title: "Shared", content: "z" }) })).json()) as NoteJson
    expect(again.title).toBe("Shared (2)")
    expect((await sim.listNotes("nora")).map((n) => n.title)).toContain("Shared (2)")
  })

  it("counts requests per route key and injects faults on them", async () => {
    await sim.resetCounters()
    await sim.injectFault({ target: "notes.list", fault: { _tag: "Status", status: 503 }, times: 1 })
    expect((await call("")).status).toBe(503)
    expect((await call("")).status).toBe(200)
    expect((await sim.counters()).requests["notes.list"]).toBe(2)
  })
})
