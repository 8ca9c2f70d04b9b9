/**
 * The tasks tools end to end in process, on CalDAV in the simulated
 * Nextcloud (served by the calendar part).
 */
import { FastCheck as fc } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Harness, startHarness, useHarness } from "../../support/inProcess.js"
import { failed, ok } from "../../support/results.js"
import { SEEDED_TODO, type TaskOut } from "../calendar/fixtures.js"

const harness = useHarness({ user: "ada-local" })
const USER = "ada-5c7e"


describe("tasks tools", () => {
  it("creates with a date-only due that stays a DATE, lists open ones, completes, pages", async () => {
    const h = await harness.start()
    await h.provision(["todo.read", "todo.write"])
    const created = ok(await h.call("nc_tasks_create", { summary: "Buy milk", due: "2026-12-24", priority: 1 }))
    const task = created["task"] as TaskOut
    expect(task).toMatchObject({ calendar_id: "personal", summary: "Buy milk", due: "2026-12-24", priority: 1, status: "NEEDS-ACTION", completed: null })
    expect(task.url).toContain("/index.php/apps/tasks/#/calendars/personal/tasks/")
    const [stored] = await h.sim.listCalendarObjects({ userId: USER, calendar: "personal" })
    expect(stored?.data).toContain("DUE;VALUE=DATE:20261224\r\n")
    expect(stored?.data).toContain("BEGIN:VTODO")

    const timed = ok(await h.call("nc_tasks_create", { summary: "Call Bob", due: "2026-12-20T15:00:00+01:00", timezone: "Europe/Berlin" }))["task"] as TaskOut
    expect(timed.due).toBe("2026-12-20T15:00:00+01:00")
    ok(await h.call("nc_tasks_create", { summary: "Someday" }))

    const listed = ok(await h.call("nc_tasks_list", { limit: 2 }))
    expect((listed["tasks"] as ReadonlyArray<TaskOut>).map((t) => t.summary)).toEqual(["Call Bob", "Buy milk"])
    const rest = ok(await h.call("nc_tasks_list", { limit: 2, cursor: listed["next_cursor"] }))
    expect((rest["tasks"] as ReadonlyArray<TaskOut>).map((t) => t.summary)).toEqual(["Someday"])
    expect(rest["next_cursor"]).toBeNull()

    const done = ok(await h.call("nc_tasks_complete", { calendar_id: "personal", id: task.id, if_match: task.etag }))["task"] as TaskOut
    expect(done).toMatchObject({ status: "COMPLETED", percent_complete: 100, due: "2026-12-24" })
    expect(done.completed).toMatch(/Z$/)
    const open = ok(await h.call("nc_tasks_list"))
    expect((open["tasks"] as ReadonlyArray<TaskOut>).map((t) => t.summary)).toEqual(["Call Bob", "Someday"])
    const all = ok(await h.call("nc_tasks_list", { include_completed: true }))
    expect((all["tasks"] as ReadonlyArray<TaskOut>)).toHaveLength(3)

    failed(await h.call("nc_tasks_update", { calendar_id: "personal", id: task.id, summary: "stale", if_match: task.etag }), "Conflict")
    ok(await h.call("nc_tasks_delete", { calendar_id: "personal", id: task.id }))
    failed(await h.call("nc_tasks_delete", { calendar_id: "personal", id: task.id }), "NotFound")
    failed(await h.call("nc_tasks_create", { summary: "x", due: "24.12.2026" }), "InvalidArguments")
    failed(await h.call("nc_tasks_create", { summary: "x", calendar_id: "contact_birthdays" }), "InvalidArguments")
  })

  it("updates only the given fields of a task another client wrote, byte for byte otherwise", async () => {
    const h = await harness.start()
    await h.provision(["todo.read", "todo.write"])
    const seeded = await h.sim.seedCalendarObject({ userId: USER, calendar: "personal", name: "from-phone.ics", data: SEEDED_TODO })
    const updated = ok(await h.call("nc_tasks_update", { calendar_id: "personal", id: "seeded-task", priority: 5, due: "2026-01-12", if_match: seeded.etag }))["task"] as TaskOut
    expect(updated).toMatchObject({ priority: 5, due: "2026-01-12", summary: "Water the plants" })
    const [stored] = await h.sim.listCalendarObjects({ userId: USER, calendar: "personal" })
    expect(stored?.name).toBe("from-phone.ics")
    const strip = (text: string) => text.split("\r\n").filter((l) => !/^(DUE|PRIORITY|DTSTAMP|LAST-MODIFIED)[;:]/.test(l))
    expect(strip(stored?.data ?? "")).toEqual(strip(SEEDED_TODO))
    expect(stored?.data).toContain("DUE;VALUE=DATE:20260112\r\n")
    const completed = ok(await h.call("nc_tasks_complete", { calendar_id: "personal", id: "seeded-task" }))["task"] as TaskOut
    expect(completed.status).toBe("COMPLETED")
    const reopened = ok(await h.call("nc_tasks_update", { calendar_id: "personal", id: "seeded-task", status: "NEEDS-ACTION", percent_complete: 0 }))["task"] as TaskOut
    expect(reopened).toMatchObject({ status: "NEEDS-ACTION", completed: null, percent_complete: 0 })
  })
})

describe("tasks round trip (property)", () => {
  let h: Harness<object>
  beforeAll(async () => {
    h = (await startHarness({ user: "ada-local" })) as never
    await h.provision(["todo.read", "todo.write"])
  }, 30_000)
  afterAll(async () => {
    await h?.close()
  })

  it("create → list returns every field as given, for arbitrary summaries, descriptions, priorities and due dates or times", async () => {
    const text = (max: number) =>
      fc.string({ minLength: 1, maxLength: max, unit: "binary" }).filter((s) => s.trim() !== "" && !/[\u0000-\u0008\u000b-\u001f\u007f\ud800-\udfff]/.test(s))
    const pad = (n: number) => String(Math.abs(n)).padStart(2, "0")
    const due = fc.oneof(
      fc.constant(undefined),
      fc.integer({ min: 0, max: 3000 }).map((d) => ({ due: new Date(Date.UTC(2025, 0, 1) + d * 86_400_000).toISOString().slice(0, 10) })),
      fc
        .record({
          at: fc.integer({ min: 0, max: 3000 * 96 }).map((q) => Date.UTC(2025, 0, 1) + q * 15 * 60_000),
          offset: fc.constantFrom(0, 60, -300, 330, 525),
          zone: fc.option(fc.constantFrom("Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC"), { nil: undefined })
        })
        .map(({ at, offset, zone }) => ({
          due: `${new Date(at + offset * 60_000).toISOString().slice(0, 19)}${offset === 0 ? "Z" : `${offset < 0 ? "-" : "+"}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`}`,
          ...(zone === undefined ? {} : { timezone: zone })
        }))
    )
    const input = fc.record({ summary: text(80), description: fc.option(text(200), { nil: undefined }), priority: fc.option(fc.integer({ min: 0, max: 9 }), { nil: undefined }), due })
    await fc.assert(
      fc.asyncProperty(input, async (i) => {
        const created = ok(
          await h.call("nc_tasks_create", {
            summary: i.summary,
            ...(i.description === undefined ? {} : { description: i.description }),
            ...(i.priority === undefined ? {} : { priority: i.priority }),
            ...(i.due ?? {})
          })
        )["task"] as TaskOut & { description: string | null }
        const listed = (ok(await h.call("nc_tasks_list", { include_completed: true }))["tasks"] as ReadonlyArray<TaskOut>).find((t) => t.id === created.id)
        expect(listed).toEqual(created)
        expect(created.summary).toBe(i.summary)
        expect(created.description).toBe(i.description ?? null)
        expect(created.priority).toBe(i.priority ?? null)
        if (i.due === undefined) expect(created.due).toBeNull()
        else if (!i.due.due.includes("T")) expect(created.due).toBe(i.due.due)
        else {
          expect(Date.parse(created.due ?? "")).toBe(Date.parse(i.due.due))
          if (!("timezone" in i.due)) expect(created.due).toBe(i.due.due)
        }
        ok(await h.call("nc_tasks_delete", { calendar_id: "personal", id: created.id }))
      }),
      { numRuns: 15 }
    )
  }, 120_000)
})
