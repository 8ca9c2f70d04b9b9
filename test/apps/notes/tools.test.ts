/**
 * The Notes tools end to end in process: the real MCP server and adapter over
 * InMemoryTransport, the Notes client, and the simulated Notes app.
 */
import { Duration } from "effect"
import { describe, expect, it } from "vitest"
import { Fault } from "../../../src/simulator/index.js"
import { useHarness } from "../../support/inProcess.js"
import type { ToolResult } from "../../support/stdioServer.js"
import { ok } from "../../support/results.js"

const harness = useHarness({ user: "ada-local" })

const failed = (r: ToolResult, code: string) => {
  expect(r.isError).toBe(true)
  expect(r.structuredContent).toMatchObject({ success: false, error_code: code })
  return r.structuredContent
}

interface NoteOut {
  readonly id: number
  readonly title?: string
  readonly etag?: string
  readonly content?: string
  readonly snippet?: string
}

describe("notes tools", () => {
  it("lists the data tools with hints, scopes visible, object schemas", async () => {
    const h = await harness.start()
    const { tools } = await h.client.listTools()
    const byName = new Map(tools.map((t) => [t.name, t]))
    for (const name of ["nc_notes_list", "nc_notes_get", "nc_notes_search", "nc_notes_create", "nc_notes_update", "nc_notes_delete"]) {
      const tool = byName.get(name)
      expect(tool?.outputSchema?.type, name).toBe("object")
      expect(tool?.annotations?.openWorldHint, name).toBe(true)
    }
    expect(byName.get("nc_notes_list")?.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false })
    expect(byName.get("nc_notes_delete")?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true })
  })

  it("answers ProvisioningRequired before provisioning", async () => {
    const h = await harness.start()
    const r = failed(await h.call("nc_notes_list"), "ProvisioningRequired")
    expect(r.message).toContain("nc_auth_provision_access")
  })

  it("create → list → get → search → update (etag) → conflict → delete", async () => {
    const h = await harness.start()
    await h.provision(["notes.read", "notes.write"])
    await h.sim.seedNote({ userId: "ada-5c7e", title: "Recipes", content: "Pancakes need milk and eggs", category: "home", modified: 1_700_000_000 })

    const created = ok(await h.call("nc_notes_create", { title: "Plan", content: "Ship the release on Friday", category: "work" }))
    expect(created.status).toBe("created")
    const note = created["note"] as NoteOut
    expect(note.title).toBe("Plan")

    const listed = ok(await h.call("nc_notes_list"))
    const notes = listed["notes"] as Array<NoteOut>
    expect(notes.map((n) => n.title)).toEqual(["Plan", "Recipes"])
    expect(notes[0]).not.toHaveProperty("content")
    const work = ok(await h.call("nc_notes_list", { category: "work", include_content: true }))
    expect((work["notes"] as Array<NoteOut>).map((n) => n.content)).toEqual(["Ship the release on Friday"])
    const paged = ok(await h.call("nc_notes_list", { limit: 1 }))
    expect(paged["count"]).toBe(1)
    const next = ok(await h.call("nc_notes_list", { limit: 1, cursor: paged["next_cursor"] }))
    expect((next["notes"] as Array<NoteOut>).map((n) => n.title)).toEqual(["Recipes"])
    expect(next["next_cursor"]).toBeNull()

    const got = ok(await h.call("nc_notes_get", { id: note.id }))
    const full = got["note"] as NoteOut
    expect(full.content).toBe("Ship the release on Friday")

    const found = ok(await h.call("nc_notes_search", { query: "EGGS" }))
    expect(found["total_matches"]).toBe(1)
    expect((found["notes"] as Array<NoteOut>)[0]?.snippet).toContain("eggs")
    const none = ok(await h.call("nc_notes_search", { query: "zebra" }))
    expect(none["count"]).toBe(0)

    const updated = ok(await h.call("nc_notes_update", { id: note.id, etag: full.etag, content: "Ship on Monday" }))
    const newEtag = (updated["note"] as NoteOut).etag
    expect(newEtag).not.toBe(full.etag)
    const conflict = failed(await h.call("nc_notes_update", { id: note.id, etag: full.etag, content: "stale edit" }), "Conflict")
    expect(conflict.message).toContain("nc_notes_get")
    expect((await h.sim.listNotes("ada-5c7e")).find((n) => n.id === note.id)?.content).toBe("Ship on Monday")

    failed(await h.call("nc_notes_update", { id: note.id, etag: newEtag }), "InvalidArguments")
    ok(await h.call("nc_notes_delete", { id: note.id }))
    failed(await h.call("nc_notes_get", { id: note.id }), "NotFound")
    failed(await h.call("nc_notes_get", { id: "one" }), "InvalidArguments")
  })

  it("search reads the notes in chunks and finds matches in every chunk, title matches first", async () => {
    const h = await harness.start()
    await h.provision(["notes.read"])
    for (let i = 0; i < 250; i++) {
      await h.sim.seedNote({
        userId: "ada-5c7e",
        title: i === 7 ? "Needle in the title" : `Note ${i}`,
        content: i % 100 === 42 ? `line\nsome needle here ${i}` : `hay ${i}`,
        modified: 1_700_000_000 + i
      })
    }
    const found = ok(await h.call("nc_notes_search", { query: "needle", limit: 10 }))
    expect(found["total_matches"]).toBe(4)
    const hits = found["notes"] as Array<NoteOut>
    expect(hits[0]?.title).toBe("Needle in the title")
    expect(hits.slice(1).map((n) => n.title)).toEqual(["Note 242", "Note 142", "Note 42"])
    expect(hits.every((n) => n.content === undefined)).toBe(true)
    const counters = await h.sim.counters()
    expect(counters.requests["notes.list"] ?? 0).toBeGreaterThanOrEqual(3)
  })

  it("a grant of only files.read: notes tools and write tools answer InsufficientScope naming the scopes", async () => {
    const h = await harness.start()
    await h.provision(["files.read"])
    const read = failed(await h.call("nc_notes_list"), "InsufficientScope")
    expect(read["missing_scopes"]).toEqual(["notes.read"])
    expect(read.message).toContain("notes.read")
    const write = failed(await h.call("nc_notes_create", { title: "x" }), "InsufficientScope")
    expect(write["missing_scopes"]).toEqual(["notes.write"])
    const files = failed(await h.call("nc_files_write", { path: "a.txt", content: "x" }), "InsufficientScope")
    expect(files["missing_scopes"]).toEqual(["files.write"])
    expect(files.message).toContain("files.write")
    ok(await h.call("nc_files_list"))
  })

  it("a password revoked in Settings is detected on a data call: ProvisioningRequired, grant gone", async () => {
    const h = await harness.start()
    const password = await h.provision(["notes.read"])
    ok(await h.call("nc_notes_list"))
    await h.sim.revokeAppPassword(password)
    const r = failed(await h.call("nc_notes_list"), "ProvisioningRequired")
    expect(r.message).toContain("nc_auth_provision_access")
    expect(r.message).not.toContain(password)
    const status = await h.call("nc_auth_check_status")
    expect(status.structuredContent.status).toBe("not_initiated")
    failed(await h.call("nc_notes_list"), "ProvisioningRequired")
    expect(h.logs()).not.toContain(password)
  })
})

describe("notes tools against a broken Nextcloud", () => {
  it("a 100 MB notes list is a NextcloudError naming NC_MCP_MAX_RESPONSE_BYTES, and the server keeps serving", async () => {
    const h = await harness.start()
    await h.provision(["notes.read"])
    await h.sim.seedNote({ userId: "ada-5c7e", title: "Survivor" })
    await h.sim.injectFault({ target: "notes.list", fault: Fault.hugeBody(100 * 1024 * 1024, "json"), times: 1 })
    const r = failed(await h.call("nc_notes_list"), "NextcloudError")
    expect(r.message).toContain("NC_MCP_MAX_RESPONSE_BYTES")
    expect(((ok(await h.call("nc_notes_list"))["notes"]) as Array<NoteOut>).map((n) => n.title)).toEqual(["Survivor"])
  })

  it("a stalled Nextcloud: the call fails after NC_MCP_NEXTCLOUD_TIMEOUT_SECONDS, with one request and a message saying so", async () => {
    const h = await harness.start({ nextcloud: { requestTimeout: Duration.millis(500) } })
    await h.provision(["notes.read"])
    await h.sim.resetCounters()
    await h.sim.injectFault({ target: "notes.list", fault: Fault.latency(60_000) })
    const r = failed(await h.call("nc_notes_list"), "NextcloudUnreachable")
    expect(r.message).toContain("did not answer within 0.5 s while trying to list your notes")
    expect((await h.sim.counters()).requests["notes.list"]).toBe(1)
  })

  it("search on a Notes list that never ends stops after 100 chunks and says how many notes it searched", async () => {
    const h = await harness.start()
    await h.provision(["notes.read"])
    await h.sim.resetCounters()
    await h.sim.injectFault({ target: "notes.list", fault: Fault.endlessChunks() })
    const found = ok(await h.call("nc_notes_search", { query: "note 4242 of" }))
    expect(found).toMatchObject({ stopped_early: true, notes_searched: 10_000, total_matches: 1 })
    expect(found.message).toContain("stopped early after searching 10000 notes")
    expect((await h.sim.counters()).requests["notes.list"]).toBe(100)

    await h.sim.clearFaults()
    await h.sim.resetCounters()
    await h.sim.injectFault({ target: "notes.list", fault: Fault.endlessChunks({ sameCursor: true }) })
    const repeated = ok(await h.call("nc_notes_search", { query: "anything" }))
    expect(repeated).toMatchObject({ stopped_early: true, notes_searched: 200 })
    expect((await h.sim.counters()).requests["notes.list"]).toBe(2)
  })
})
