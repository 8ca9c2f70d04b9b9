/**
 * The calendar and tasks contract, run the same way against the simulated
 * Nextcloud and against Radicale (a real CalDAV server, behind Nextcloud's DAV
 * paths): the tools' handlers with the CalDAV client on the shared transport,
 * and the stored iCalendar read back from the server itself. Each mistake
 * calendar tools are known for elsewhere has its case: times shifted or
 * written without their zone, no VTIMEZONE, all-day events and date-only due
 * dates turned into midnight UTC, recurrences that ignore EXDATE and moved
 * occurrences, properties lost on update, objects guessed at `<uid>.ics`.
 */
import { afterEach, describe, expect, it } from "vitest"
import { calendarSimulator } from "../../../src/apps/calendar/simulator.js"
import {
  createEvent,
  deleteEvent,
  findFreeTime,
  getEvent,
  listCalendars,
  listEvents,
  updateEvent
} from "../../../src/apps/calendar/tools.js"
import { completeTask, createTask, deleteTask, listTasks, updateTask } from "../../../src/apps/tasks/tools.js"
import { tasksSimulator } from "../../../src/apps/tasks/simulator.js"
import { CalDavLive } from "../../../src/nextcloud/caldav.js"
import * as Simulator from "../../../src/simulator/index.js"
import type { AnyTool } from "../../../src/tools/Tool.js"
import { type ContractServer, runDirect, succeeded, suiteServer } from "../../support/directTools.js"
import { radicaleAvailable, type RadicaleServer, startRadicale } from "../../support/radicale.js"
import { SEEDED, SEEDED_TODO, type TaskOut } from "./fixtures.js"


interface EventOut {
  readonly id: string
  readonly summary: string | null
  readonly start: string
  readonly end: string
  readonly all_day: boolean
  readonly timezone: string | null
  readonly rrule: string | null
  readonly recurrence_id: string | null
  readonly etag: string | null
}


const objectUrl = (server: ContractServer, name: string) =>
  `${server.host}/remote.php/dav/calendars/${encodeURIComponent(server.userId)}/personal/${encodeURIComponent(name)}`

const basic = (server: ContractServer) => `Basic ${Buffer.from(`${server.loginName}:${server.password}`).toString("base64")}`

/** Write an object as another client would. */
const seed = async (server: ContractServer, name: string, body: string) => {
  const answer = await fetch(objectUrl(server, name), {
    method: "PUT",
    headers: { authorization: basic(server), "content-type": "text/calendar; charset=utf-8" },
    body
  })
  if (answer.status !== 201 && answer.status !== 204) throw new Error(`seeding ${name}: ${answer.status} ${await answer.text()}`)
  return answer.headers.get("etag")
}

/** The object as the server keeps it. */
const raw = async (server: ContractServer, name: string) => {
  const answer = await fetch(objectUrl(server, name), { headers: { authorization: basic(server) } })
  return { status: answer.status, body: await answer.text() }
}

/** Content lines, unfolded, without line endings. */
const unfolded = (ics: string) => ics.replace(/\r?\n[ \t]/g, "").split(/\r?\n/).filter((l) => l !== "")

/** The lines of one top-level component (the n-th VEVENT/VTODO), unfolded. */
const componentLines = (ics: string, type: "VEVENT" | "VTODO", nth: number) => {
  const lines = unfolded(ics)
  const out: Array<Array<string>> = []
  let depth = 0
  for (const line of lines) {
    if (line.startsWith("BEGIN:")) {
      depth++
      if (depth === 2 && line === `BEGIN:${type}`) out.push([])
    }
    if (depth >= 2 && out.length > 0 && (depth > 2 || out[out.length - 1]?.at(-1) !== `END:${type}`)) out[out.length - 1]?.push(line)
    if (line.startsWith("END:")) depth--
  }
  return out[nth] ?? []
}

const property = (lines: ReadonlyArray<string>, name: string) => lines.filter((l) => l.startsWith(`${name};`) || l.startsWith(`${name}:`))

export const calendarContract = (start: () => Promise<ContractServer>) => {
  const server = suiteServer(start)
  // Each case starts from an empty calendar, whatever the one before left behind.
  afterEach(async () => {
    for (const name of await objectNames(server)) await fetch(objectUrl(server, name), { method: "DELETE", headers: { authorization: basic(server) } })
  })
  const call = (tool: AnyTool, input: unknown) => runDirect(server, CalDavLive, tool, input)
  const ok = async (tool: AnyTool, input: unknown) => succeeded(await call(tool, input))
  const events = async (input: Record<string, unknown>) => (await ok(listEvents, input))["events"] as ReadonlyArray<EventOut>

  it("lists the calendars with their component sets; the birthday calendar read-only", async () => {
    expect((await ok(listCalendars, {}))["calendars"]).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: "personal", components: ["VEVENT", "VTODO"], read_only: false }),
        expect.objectContaining({ id: "contact_birthdays", read_only: true })
      ])
    )
  })

  it("a zoned event is stored with its TZID and a VTIMEZONE, and read back unshifted", async () => {
    const event = (await ok(createEvent, {
      calendar_id: "personal",
      summary: "Dinner, with \"friends\"; at 8",
      start: "2026-12-24T18:00:00+01:00",
      end: "2026-12-24T20:00:00+01:00",
      timezone: "Europe/Berlin"
    }))["event"] as EventOut
    expect(event).toMatchObject({ start: "2026-12-24T18:00:00+01:00", end: "2026-12-24T20:00:00+01:00", timezone: "Europe/Berlin", all_day: false })
    const listed = await events({ start: "2026-12-24", end: "2026-12-25", query: "dinner" })
    expect(listed).toEqual([expect.objectContaining({ id: event.id, start: event.start, end: event.end })])
    expect((await ok(getEvent, { calendar_id: "personal", id: event.id }))["event"]).toEqual(listed[0])
    const [name] = await objectNames(server)
    const stored = unfolded((await raw(server, name as string)).body)
    expect(stored).toContain("DTSTART;TZID=Europe/Berlin:20261224T180000")
    expect(stored).toContain("DTEND;TZID=Europe/Berlin:20261224T200000")
    expect(stored).toContain("BEGIN:VTIMEZONE")
    expect(stored).toContain("TZID:Europe/Berlin")
    expect(stored).toContain("SUMMARY:Dinner\\, with \"friends\"\\; at 8")
    succeeded(await call(deleteEvent, { calendar_id: "personal", id: event.id }))
  })

  it("an all-day event is DATE-valued; a time with only an offset keeps that offset", async () => {
    const allDay = (await ok(createEvent, { calendar_id: "personal", summary: "Holiday", start: "2026-12-25" }))["event"] as EventOut
    expect(allDay).toMatchObject({ start: "2026-12-25", end: "2026-12-26", all_day: true, timezone: null })
    const offset = (await ok(createEvent, { calendar_id: "personal", summary: "Call NYC", start: "2026-12-28T09:30:00-05:00" }))["event"] as EventOut
    expect(offset).toMatchObject({ start: "2026-12-28T09:30:00-05:00", end: "2026-12-28T10:30:00-05:00" })
    const listed = await events({ start: "2026-12-25", end: "2026-12-29" })
    expect(listed.map((e) => [e.summary, e.start, e.end])).toEqual([
      ["Holiday", "2026-12-25", "2026-12-26"],
      ["Call NYC", "2026-12-28T09:30:00-05:00", "2026-12-28T10:30:00-05:00"]
    ])
    const bodies = await Promise.all((await objectNames(server)).map(async (n) => unfolded((await raw(server, n)).body)))
    expect(bodies.find((b) => b.includes("SUMMARY:Holiday"))).toEqual(expect.arrayContaining(["DTSTART;VALUE=DATE:20261225", "DTEND;VALUE=DATE:20261226"]))
    for (const e of [allDay, offset]) succeeded(await call(deleteEvent, { calendar_id: "personal", id: e.id }))
  })

  it("expands a series in the range with its EXDATE and moved occurrence, found at its own href, and pages", async () => {
    await seed(server, "odd name.ics", SEEDED)
    const all = await events({ start: "2026-01-01", end: "2026-02-01" })
    expect(all.map((e) => [e.start, e.summary, e.recurrence_id])).toEqual([
      ["2026-01-05T09:00:00+01:00", "Standup", "2026-01-05T09:00:00+01:00"],
      ["2026-01-19T10:00:00+01:00", "Standup (late)", "2026-01-19T09:00:00+01:00"],
      ["2026-01-26T09:00:00+01:00", "Standup", "2026-01-26T09:00:00+01:00"]
    ])
    expect(all[0]?.rrule).toBe("FREQ=WEEKLY;COUNT=6;BYDAY=MO")
    const first = await ok(listEvents, { start: "2026-01-01", end: "2026-02-01", limit: 2 })
    expect((first["events"] as ReadonlyArray<EventOut>).length).toBe(2)
    const rest = await ok(listEvents, { start: "2026-01-01", end: "2026-02-01", limit: 2, cursor: first["next_cursor"] })
    expect((rest["events"] as ReadonlyArray<EventOut>).map((e) => e.start)).toEqual(["2026-01-26T09:00:00+01:00"])
    expect(rest["next_cursor"]).toBeNull()
  })

  it("an update changes only the given fields at the object's own href; moving the series raises SEQUENCE; stale if_match is a Conflict", async () => {
    const etag = await seed(server, "odd name.ics", SEEDED)
    const before = await raw(server, "odd name.ics")
    const found = await events({ start: "2026-01-05", end: "2026-01-06" })
    const current = etag ?? found[0]?.etag
    const updated = (await ok(updateEvent, { calendar_id: "personal", id: "standup-1", summary: "Daily standup", if_match: current }))["event"] as EventOut
    expect(updated.summary).toBe("Daily standup")
    const after = await raw(server, "odd name.ics")
    const changing = /^(SUMMARY|DTSTAMP|LAST-MODIFIED)[;:]/
    if (server.sabre) {
      const strip = (text: string) => text.split("\r\n").filter((l) => !changing.test(l))
      expect(strip(after.body)).toEqual(strip(before.body))
    } else {
      const kept = unfolded(after.body)
      for (const line of unfolded(before.body).filter((l) => !changing.test(l))) expect(kept).toContain(line)
    }
    expect(property(componentLines(after.body, "VEVENT", 0), "SUMMARY")).toEqual(["SUMMARY:Daily standup"])
    expect(unfolded(after.body)).toContain("SUMMARY:Standup (late)")
    expect(property(componentLines(after.body, "VEVENT", 0), "SEQUENCE")).toEqual([])

    expect(await call(updateEvent, { calendar_id: "personal", id: "standup-1", summary: "lost", if_match: current })).toMatchObject({ ok: false, tag: "Conflict" })
    expect(await call(deleteEvent, { calendar_id: "personal", id: "standup-1", if_match: current })).toMatchObject({ ok: false, tag: "Conflict" })

    const moved = (await ok(updateEvent, { calendar_id: "personal", id: "standup-1", start: "2026-01-05T10:00:00+01:00" }))["event"] as EventOut
    expect(moved).toMatchObject({ start: "2026-01-05T10:00:00+01:00", end: "2026-01-05T10:15:00+01:00", timezone: "Europe/Berlin" })
    const master = componentLines((await raw(server, "odd name.ics")).body, "VEVENT", 0)
    expect(property(master, "DTSTART")).toEqual(["DTSTART;TZID=Europe/Berlin:20260105T100000"])
    expect(property(master, "SEQUENCE")).toEqual(["SEQUENCE:1"])

    succeeded(await call(deleteEvent, { calendar_id: "personal", id: "standup-1", if_match: moved.etag }))
    expect((await raw(server, "odd name.ics")).status).toBe(404)
    expect(await call(deleteEvent, { calendar_id: "personal", id: "standup-1" })).toMatchObject({ ok: false, tag: "NotFound" })
  })

  it("one occurrence is changed or deleted on its own; the series and its other occurrences stay", async () => {
    await seed(server, "series.ics", SEEDED)
    // A new override for the 26th: moved to 11:00, keeping the attendee and alarm of the series.
    const moved = (await ok(updateEvent, {
      calendar_id: "personal",
      id: "standup-1",
      recurrence_id: "2026-01-26T09:00:00+01:00",
      start: "2026-01-26T11:00:00+01:00"
    }))["event"] as EventOut
    expect(moved).toMatchObject({ start: "2026-01-26T11:00:00+01:00", end: "2026-01-26T11:15:00+01:00", recurrence_id: "2026-01-26T09:00:00+01:00", summary: "Standup" })
    let body = (await raw(server, "series.ics")).body
    const override = [0, 1, 2].map((n) => componentLines(body, "VEVENT", n)).find((c) => c.includes("RECURRENCE-ID;TZID=Europe/Berlin:20260126T090000")) ?? []
    expect(property(override, "DTSTART")).toEqual(["DTSTART;TZID=Europe/Berlin:20260126T110000"])
    expect(property(override, "RRULE")).toEqual([])
    expect(property(override, "ATTENDEE").length).toBe(1)
    expect(override).toContain("BEGIN:VALARM")
    expect(property(componentLines(body, "VEVENT", 0), "DTSTART")).toEqual(["DTSTART;TZID=Europe/Berlin:20260105T090000"])

    // The existing override of the 19th: only its summary changes.
    const renamed = (await ok(updateEvent, { calendar_id: "personal", id: "standup-1", recurrence_id: "2026-01-19T09:00:00+01:00", summary: "Standup (late, room 2)" }))[
      "event"
    ] as EventOut
    expect(renamed).toMatchObject({ start: "2026-01-19T10:00:00+01:00", recurrence_id: "2026-01-19T09:00:00+01:00", summary: "Standup (late, room 2)" })
    expect((await events({ start: "2026-01-01", end: "2026-02-01" })).map((e) => [e.start, e.summary])).toEqual([
      ["2026-01-05T09:00:00+01:00", "Standup"],
      ["2026-01-19T10:00:00+01:00", "Standup (late, room 2)"],
      ["2026-01-26T11:00:00+01:00", "Standup"]
    ])

    // Deleting one plain occurrence adds an EXDATE; deleting an overridden one removes its override too.
    succeeded(await call(deleteEvent, { calendar_id: "personal", id: "standup-1", recurrence_id: "2026-02-02T09:00:00+01:00" }))
    succeeded(await call(deleteEvent, { calendar_id: "personal", id: "standup-1", recurrence_id: "2026-01-19T09:00:00+01:00" }))
    expect((await events({ start: "2026-01-01", end: "2026-03-01" })).map((e) => e.start)).toEqual([
      "2026-01-05T09:00:00+01:00",
      "2026-01-26T11:00:00+01:00",
      "2026-02-09T09:00:00+01:00"
    ])
    body = (await raw(server, "series.ics")).body
    const master = componentLines(body, "VEVENT", 0)
    expect(property(master, "EXDATE").join(",")).toContain("20260202T090000")
    expect(property(master, "EXDATE").join(",")).toContain("20260119T090000")
    expect(property(master, "SEQUENCE")).toEqual(["SEQUENCE:2"])
    expect(unfolded(body).filter((l) => l.startsWith("RECURRENCE-ID"))).toEqual(["RECURRENCE-ID;TZID=Europe/Berlin:20260126T090000"])

    expect(await call(deleteEvent, { calendar_id: "personal", id: "standup-1", recurrence_id: "2026-02-02T09:00:00+01:00" })).toMatchObject({ ok: false, tag: "NotFound" })
    expect(await call(updateEvent, { calendar_id: "personal", id: "standup-1", recurrence_id: "2026-01-06T09:00:00+01:00", summary: "x" })).toMatchObject({
      ok: false,
      tag: "NotFound"
    })
    expect(await call(updateEvent, { calendar_id: "personal", id: "standup-1", recurrence_id: "2026-01-26T09:00:00+01:00", rrule: "FREQ=DAILY" })).toMatchObject({
      ok: false,
      tag: "InvalidArguments"
    })
    succeeded(await call(deleteEvent, { calendar_id: "personal", id: "standup-1" }))
  })

  it("finds free time within working hours around the series, in the caller's zone; none on a weekend", async () => {
    await seed(server, "free.ics", SEEDED)
    const lunch = (await ok(createEvent, { calendar_id: "personal", summary: "Lunch", start: "2026-01-05T12:00:00+01:00", end: "2026-01-05T13:00:00+01:00" }))["event"] as EventOut
    const r = await ok(findFreeTime, {
      start: "2026-01-05T00:00:00+01:00",
      end: "2026-01-06T00:00:00+01:00",
      timezone: "Europe/Berlin",
      work_start: "08:30",
      work_end: "17:00",
      min_duration_minutes: 30
    })
    expect(r["slots"]).toEqual([
      { start: "2026-01-05T08:30:00+01:00", end: "2026-01-05T09:00:00+01:00", duration_minutes: 30 },
      { start: "2026-01-05T09:15:00+01:00", end: "2026-01-05T12:00:00+01:00", duration_minutes: 165 },
      { start: "2026-01-05T13:00:00+01:00", end: "2026-01-05T17:00:00+01:00", duration_minutes: 240 }
    ])
    expect((await ok(findFreeTime, { start: "2026-01-10", end: "2026-01-12", timezone: "Europe/Berlin" }))["slots"]).toEqual([])
    succeeded(await call(deleteEvent, { calendar_id: "personal", id: lunch.id }))
    succeeded(await call(deleteEvent, { calendar_id: "personal", id: "standup-1" }))
  })

  it("tasks: a date-only due stays a DATE; completing writes STATUS, COMPLETED and PERCENT-COMPLETE; open ones listed by default", async () => {
    const task = (await ok(createTask, { summary: "Buy milk", due: "2026-12-24", priority: 1 }))["task"] as TaskOut
    expect(task).toMatchObject({ summary: "Buy milk", due: "2026-12-24", priority: 1, status: "NEEDS-ACTION", completed: null })
    const timed = (await ok(createTask, { summary: "Call Bob", due: "2026-12-20T15:00:00+01:00", timezone: "Europe/Berlin" }))["task"] as TaskOut
    expect(timed.due).toBe("2026-12-20T15:00:00+01:00")
    const bodies = await Promise.all((await objectNames(server)).map(async (n) => unfolded((await raw(server, n)).body)))
    expect(bodies.find((b) => b.includes("SUMMARY:Buy milk"))).toContain("DUE;VALUE=DATE:20261224")
    const bob = bodies.find((b) => b.includes("SUMMARY:Call Bob")) ?? []
    expect(bob).toContain("DUE;TZID=Europe/Berlin:20261220T150000")
    expect(bob).toContain("BEGIN:VTIMEZONE")

    const done = (await ok(completeTask, { calendar_id: "personal", id: task.id, if_match: task.etag }))["task"] as TaskOut
    expect(done).toMatchObject({ status: "COMPLETED", percent_complete: 100, due: "2026-12-24" })
    expect(done.completed).toMatch(/Z$/)
    const stored = (await Promise.all((await objectNames(server)).map(async (n) => unfolded((await raw(server, n)).body)))).find((b) => b.includes("SUMMARY:Buy milk")) ?? []
    expect(stored).toEqual(expect.arrayContaining(["STATUS:COMPLETED", "PERCENT-COMPLETE:100", "DUE;VALUE=DATE:20261224"]))
    expect(stored.some((l) => /^COMPLETED:\d{8}T\d{6}Z$/.test(l))).toBe(true)

    const open = (await ok(listTasks, {}))["tasks"] as ReadonlyArray<TaskOut>
    expect(open.map((t) => t.summary)).toEqual(["Call Bob"])
    const all = (await ok(listTasks, { include_completed: true }))["tasks"] as ReadonlyArray<TaskOut>
    expect(all.map((t) => t.summary).sort()).toEqual(["Buy milk", "Call Bob"])
    expect(await call(updateTask, { calendar_id: "personal", id: task.id, summary: "stale", if_match: task.etag })).toMatchObject({ ok: false, tag: "Conflict" })
    for (const t of [task, timed]) succeeded(await call(deleteTask, { calendar_id: "personal", id: t.id }))
    expect(await call(deleteTask, { calendar_id: "personal", id: task.id })).toMatchObject({ ok: false, tag: "NotFound" })
  })

  it("tasks: an update keeps the alarm, categories, relation and other apps' properties", async () => {
    await seed(server, "from-phone.ics", SEEDED_TODO)
    const before = unfolded((await raw(server, "from-phone.ics")).body)
    const updated = (await ok(updateTask, { calendar_id: "personal", id: "seeded-task", priority: 5, due: "2026-01-12" }))["task"] as TaskOut
    expect(updated).toMatchObject({ priority: 5, due: "2026-01-12", summary: "Water the plants" })
    const after = unfolded((await raw(server, "from-phone.ics")).body)
    for (const line of before.filter((l) => !/^(DUE|DTSTAMP|LAST-MODIFIED|PRIORITY)[;:]/.test(l))) expect(after).toContain(line)
    expect(after).toEqual(expect.arrayContaining(["DUE;VALUE=DATE:20260112", "PRIORITY:5"]))
    succeeded(await call(deleteTask, { calendar_id: "personal", id: "seeded-task" }))
  })
}

/** The names of the objects in the personal calendar (a PROPFIND of depth 1). */
const objectNames = async (server: ContractServer): Promise<Array<string>> => {
  const answer = await fetch(`${server.host}/remote.php/dav/calendars/${encodeURIComponent(server.userId)}/personal/`, {
    method: "PROPFIND",
    headers: { authorization: basic(server), depth: "1", "content-type": "application/xml" },
    body: '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>'
  })
  const xml = await answer.text()
  return [...xml.matchAll(/<(?:\w+:)?href>([^<]*\.ics)<\/(?:\w+:)?href>/g)].map((m) => decodeURIComponent((m[1] as string).split("/").pop() as string))
}

// --- the simulated Nextcloud --------------------------------------------------------

describe("calendar contract: simulated Nextcloud", () => {
  calendarContract(async () => {
    const sim = await Simulator.startSimulator({ apps: [calendarSimulator, tasksSimulator] })
    const pw = await sim.createAppPassword({ userId: "ada-5c7e" })
    return { host: sim.url, userId: "ada-5c7e", loginName: "ada@example.org", password: pw.password, sabre: true, close: () => sim.close() }
  })
})

// --- Radicale -----------------------------------------------------------------------

if (radicaleAvailable("calendar contract: Radicale")) {
  describe("calendar contract: Radicale", () => {
    let radicale: RadicaleServer
    calendarContract(async () => {
      radicale = await startRadicale([{ userId: "ada", password: "ada-secret" }])
      return { host: radicale.url, userId: "ada", loginName: "ada", password: "ada-secret", sabre: false, close: () => radicale.stop() }
    })
  })
}
