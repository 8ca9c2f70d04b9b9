/**
 * The tasks tools end to end in process, on CalDAV in the simulated
 * Nextcloud (served by the calendar part).
 */
import { describe, expect, it } from "vitest"
import { useHarness } from "../../support/inProcess.js"
import type { ToolResult } from "../../support/stdioServer.js"

const harness = useHarness({ user: "ada-local" })
const USER = "ada-5c7e"

const ok = (r: ToolResult) => {
  expect(r.isError ?? false, JSON.stringify(r.structuredContent)).toBe(false)
  return r.structuredContent
}

const failed = (r: ToolResult, code: string) => {
  expect(r.isError, JSON.stringify(r.structuredContent)).toBe(true)
  expect(r.structuredContent).toMatchObject({ success: false, error_code: code })
}

interface TaskOut {
  readonly id: string
  readonly calendar_id: string
  readonly summary: string | null
  readonly due: string | null
  readonly completed: string | null
  readonly status: string | null
  readonly priority: number | null
  readonly percent_complete: number | null
  readonly etag: string | null
  readonly url: string
}

const SEEDED_TODO = [
  "BEGIN:VCALENDAR",
  "VERSION:2.0",
  "PRODID:-//Tasks.org//EN",
  "BEGIN:VTODO",
  "UID:seeded-task",
  "DTSTAMP:20250101T000000Z",
  "SUMMARY:Water the plants",
  "DUE;VALUE=DATE:20260110",
  "X-APPLE-SORT-ORDER:12345",
  "CATEGORIES:home,garden",
  "RELATED-TO;RELTYPE=PARENT:parent-uid",
  "BEGIN:VALARM",
  "ACTION:DISPLAY",
  "TRIGGER;RELATED=END:-PT1H",
  "DESCRIPTION:due soon",
  "END:VALARM",
  "END:VTODO",
  "END:VCALENDAR",
  ""
].join("\r\n")

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
