/**
 * The calendar tools end to end in process: the real MCP server and adapter,
 * the CalDAV client, and CalDAV in the simulated Nextcloud.
 */
import { FastCheck as fc } from "effect"
import ICAL from "ical.js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Fault } from "../../../src/simulator/index.js"
import { type Harness, startHarness, useHarness } from "../../support/inProcess.js"
import type { ToolResult } from "../../support/stdioServer.js"
import { failed, ok } from "../../support/results.js"
import { SEEDED } from "./fixtures.js"

const harness = useHarness({ user: "ada-local" })
const USER = "ada-5c7e"

interface EventOut {
  readonly id: string
  readonly calendar_id: string
  readonly summary: string | null
  readonly start: string
  readonly end: string
  readonly all_day: boolean
  readonly timezone: string | null
  readonly location: string | null
  readonly description: string | null
  readonly rrule: string | null
  readonly recurrence_id: string | null
  readonly etag: string | null
  readonly url: string
}

describe("calendar tools", () => {
  it("lists the tools with hints", async () => {
    const h = await harness.start()
    const { tools } = await h.client.listTools()
    const names = tools.map((t) => t.name)
    for (const name of ["nc_calendar_list_calendars", "nc_calendar_list_events", "nc_calendar_get_event", "nc_calendar_create_event", "nc_calendar_update_event", "nc_calendar_delete_event", "nc_calendar_find_free_time"]) {
      expect(names).toContain(name)
    }
    expect(tools.find((t) => t.name === "nc_calendar_delete_event")?.annotations).toMatchObject({ destructiveHint: true })
    expect(tools.find((t) => t.name === "nc_calendar_list_events")?.annotations).toMatchObject({ readOnlyHint: true })
  })

  it("lists calendars, and refuses without the scope", async () => {
    const h = await harness.start()
    await h.provision(["calendar.read"])
    failed(await h.call("nc_calendar_create_event", { calendar_id: "personal", summary: "x", start: "2026-12-25" }), "InsufficientScope")
    const r = ok(await h.call("nc_calendar_list_calendars"))
    expect(r["calendars"]).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: "personal", components: ["VEVENT", "VTODO"], read_only: false }),
        expect.objectContaining({ id: "contact_birthdays", read_only: true })
      ])
    )
  })

  it("creates an event in a zone with its VTIMEZONE, and reads it back unshifted", async () => {
    const h = await harness.start()
    await h.provision(["calendar.read", "calendar.write"])
    const created = ok(
      await h.call("nc_calendar_create_event", {
        calendar_id: "personal",
        summary: "Dinner, with \"friends\"; at 8",
        start: "2026-12-24T18:00:00+01:00",
        end: "2026-12-24T20:00:00+01:00",
        timezone: "Europe/Berlin",
        location: "Home",
        description: "Line 1\nLine 2"
      })
    )
    const event = created["event"] as EventOut
    expect(event).toMatchObject({
      start: "2026-12-24T18:00:00+01:00",
      end: "2026-12-24T20:00:00+01:00",
      timezone: "Europe/Berlin",
      all_day: false,
      summary: "Dinner, with \"friends\"; at 8",
      description: "Line 1\nLine 2",
      rrule: null
    })
    expect(event.etag).toMatch(/^"/)
    expect(event.url).toContain("/index.php/apps/calendar/")
    const [stored] = await h.sim.listCalendarObjects({ userId: USER, calendar: "personal" })
    expect(stored?.data).toContain("DTSTART;TZID=Europe/Berlin:20261224T180000")
    expect(stored?.data).toContain("BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin")
    const got = ok(await h.call("nc_calendar_get_event", { calendar_id: "personal", id: event.id }))
    expect(got["event"]).toMatchObject({ start: event.start, end: event.end, etag: event.etag })

    const allDay = ok(await h.call("nc_calendar_create_event", { calendar_id: "personal", summary: "Holiday", start: "2026-12-25" }))
    expect(allDay["event"]).toMatchObject({ start: "2026-12-25", end: "2026-12-26", all_day: true, timezone: null })
    failed(await h.call("nc_calendar_create_event", { calendar_id: "personal", summary: "x", start: "2026-12-25T10:00:00" }), "InvalidArguments")
    failed(await h.call("nc_calendar_create_event", { calendar_id: "personal", summary: "x", start: "2026-12-25T10:00:00Z", timezone: "Mars/Base" }), "InvalidArguments")
    failed(await h.call("nc_calendar_create_event", { calendar_id: "contact_birthdays", summary: "x", start: "2026-12-25" }), "PermissionDenied")
    failed(await h.call("nc_calendar_create_event", { calendar_id: "nope", summary: "x", start: "2026-12-25" }), "NotFound")
  })

  it("expands recurrences in the range with EXDATE and overrides, and pages", async () => {
    const h = await harness.start()
    await h.provision(["calendar.read"])
    await h.sim.seedCalendarObject({ userId: USER, calendar: "personal", name: "odd name.ics", data: SEEDED })
    const r = ok(await h.call("nc_calendar_list_events", { start: "2026-01-01", end: "2026-02-01" }))
    const events = r["events"] as ReadonlyArray<EventOut>
    expect(events.map((e) => [e.start, e.summary, e.recurrence_id])).toEqual([
      ["2026-01-05T09:00:00+01:00", "Standup", "2026-01-05T09:00:00+01:00"],
      ["2026-01-19T10:00:00+01:00", "Standup (late)", "2026-01-19T09:00:00+01:00"],
      ["2026-01-26T09:00:00+01:00", "Standup", "2026-01-26T09:00:00+01:00"]
    ])
    expect(events[0]?.rrule).toBe("FREQ=WEEKLY;COUNT=6;BYDAY=MO")
    const first = ok(await h.call("nc_calendar_list_events", { start: "2026-01-01", end: "2026-02-01", limit: 2 }))
    expect((first["events"] as ReadonlyArray<EventOut>).length).toBe(2)
    const next = ok(await h.call("nc_calendar_list_events", { start: "2026-01-01", end: "2026-02-01", limit: 2, cursor: first["next_cursor"] }))
    expect((next["events"] as ReadonlyArray<EventOut>).map((e) => e.start)).toEqual(["2026-01-26T09:00:00+01:00"])
    expect(next["next_cursor"]).toBeNull()
    failed(await h.call("nc_calendar_list_events", { start: "2026-03-01", end: "2026-04-01", cursor: first["next_cursor"] }), "InvalidArguments")
    const queried = ok(await h.call("nc_calendar_list_events", { start: "2026-01-01", end: "2026-02-01", query: "LATE" }))
    expect((queried["events"] as ReadonlyArray<EventOut>).map((e) => e.summary)).toEqual(["Standup (late)"])
  })

  it("updates only the given fields, keeping every other line byte for byte; stale if_match is a Conflict", async () => {
    const h = await harness.start()
    await h.provision(["calendar.read", "calendar.write"])
    const seeded = await h.sim.seedCalendarObject({ userId: USER, calendar: "personal", name: "odd name.ics", data: SEEDED })
    const updated = ok(await h.call("nc_calendar_update_event", { calendar_id: "personal", id: "standup-1", summary: "Daily standup", if_match: seeded.etag }))
    const event = updated["event"] as EventOut
    expect(event.summary).toBe("Daily standup")
    const [stored] = await h.sim.listCalendarObjects({ userId: USER, calendar: "personal" })
    expect(stored?.name).toBe("odd name.ics")
    const strip = (text: string) => text.split("\r\n").filter((l) => !/^(SUMMARY|DTSTAMP|LAST-MODIFIED):/.test(l))
    const before = strip(SEEDED)
    const after = strip(stored?.data ?? "")
    // The override keeps its own SUMMARY; every other line is as it was.
    expect(after).toEqual(before)
    expect(stored?.data).toContain("SUMMARY:Daily standup\r\n")
    expect(stored?.data).toContain("SUMMARY:Standup (late)\r\n")

    failed(await h.call("nc_calendar_update_event", { calendar_id: "personal", id: "standup-1", summary: "lost", if_match: seeded.etag }), "Conflict")
    failed(await h.call("nc_calendar_delete_event", { calendar_id: "personal", id: "standup-1", if_match: seeded.etag }), "Conflict")

    const moved = ok(await h.call("nc_calendar_update_event", { calendar_id: "personal", id: "standup-1", start: "2026-01-05T10:00:00+01:00" }))
    expect(moved["event"]).toMatchObject({ start: "2026-01-05T10:00:00+01:00", end: "2026-01-05T10:15:00+01:00", timezone: "Europe/Berlin" })

    ok(await h.call("nc_calendar_delete_event", { calendar_id: "personal", id: "standup-1", if_match: (moved["event"] as EventOut).etag }))
    failed(await h.call("nc_calendar_delete_event", { calendar_id: "personal", id: "standup-1" }), "NotFound")
    expect(await h.sim.listCalendarObjects({ userId: USER, calendar: "personal" })).toEqual([])
  })
})

describe("calendar tools against a failing Nextcloud", () => {
  it("answers NextcloudError for a 5xx and for an oversized answer, and recovers", async () => {
    const h = await harness.start()
    await h.provision(["calendar.read"])
    await h.sim.injectFault({ target: "caldav.report", fault: Fault.status(500) })
    const r = failed(await h.call("nc_calendar_list_events", { start: "2026-01-01", end: "2026-02-01" }), "NextcloudError")
    expect(r.message).toContain("while trying to list the events of calendar personal")
    await h.sim.clearFaults()
    await h.sim.injectFault({ target: "caldav.report", fault: Fault.hugeBody(64 * 1024 * 1024, "xml"), times: 1 })
    failed(await h.call("nc_calendar_list_events", { start: "2026-01-01", end: "2026-02-01" }), "NextcloudError")
    ok(await h.call("nc_calendar_list_events", { start: "2026-01-01", end: "2026-02-01" }))
  })
})

describe("calendar round trip (property)", () => {
  let h: Harness<{ readonly listCalendarObjects: (input: { userId: string; calendar?: string }) => Promise<ReadonlyArray<{ data: string }>> }>
  beforeAll(async () => {
    h = (await startHarness({ user: "ada-local" })) as never
    await h.provision(["calendar.read", "calendar.write"])
  }, 30_000)
  afterAll(async () => {
    await h?.close()
  })

  it("create → get returns every field as given, for arbitrary summaries, zones, all-day flags and rules", async () => {
    const zones = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "UTC", "Pacific/Chatham"]
    const input = fc.record({
      summary: fc.string({ minLength: 1, maxLength: 80, unit: "binary" }).filter((s) => s.trim() !== "" && !/[\u0000-\u0008\u000b-\u001f\u007f\ud800-\udfff]/.test(s)),
      allDay: fc.boolean(),
      zone: fc.option(fc.constantFrom(...zones), { nil: undefined }),
      day: fc.integer({ min: 0, max: 3000 }),
      minutes: fc.integer({ min: 0, max: 24 * 4 - 1 }).map((q) => q * 15),
      length: fc.integer({ min: 1, max: 48 }).map((q) => q * 30),
      offset: fc.constantFrom(0, 60, -300, 330, 525),
      rrule: fc.option(
        fc.record({ freq: fc.constantFrom("DAILY", "WEEKLY", "MONTHLY", "YEARLY"), interval: fc.integer({ min: 1, max: 3 }), count: fc.integer({ min: 1, max: 20 }) }).map(
          (r) => `FREQ=${r.freq};INTERVAL=${r.interval};COUNT=${r.count}`
        ),
        { nil: undefined }
      )
    })
    const pad = (n: number) => String(Math.abs(n)).padStart(2, "0")
    const offsetText = (m: number) => (m === 0 ? "Z" : `${m < 0 ? "-" : "+"}${pad(Math.trunc(m / 60))}:${pad(m % 60)}`)
    const local = (ms: number, offset: number) => new Date(ms + offset * 60_000).toISOString().slice(0, 19)
    await fc.assert(
      fc.asyncProperty(input, async (i) => {
        const base = Date.UTC(2025, 0, 1) + i.day * 86_400_000
        const startMs = base + i.minutes * 60_000
        const start = i.allDay ? new Date(base).toISOString().slice(0, 10) : `${local(startMs, i.offset)}${offsetText(i.offset)}`
        const end = i.allDay ? new Date(base + Math.ceil(i.length / 720) * 86_400_000).toISOString().slice(0, 10) : `${local(startMs + i.length * 60_000, i.offset)}${offsetText(i.offset)}`
        const created = ok(
          await h.call("nc_calendar_create_event", {
            calendar_id: "personal",
            summary: i.summary,
            start,
            end,
            all_day: i.allDay,
            ...(i.zone === undefined || i.allDay ? {} : { timezone: i.zone }),
            ...(i.rrule === undefined ? {} : { rrule: i.rrule })
          })
        )
        const event = created["event"] as EventOut
        const got = ok(await h.call("nc_calendar_get_event", { calendar_id: "personal", id: event.id }))["event"] as EventOut
        expect(got).toEqual(event)
        expect(got.summary).toBe(i.summary)
        expect(got.all_day).toBe(i.allDay)
        expect(got.rrule).toBe(i.rrule === undefined ? null : ICAL.Recur.fromString(i.rrule).toString())
        if (i.allDay) {
          expect([got.start, got.end]).toEqual([start, end])
        } else {
          expect(Date.parse(got.start)).toBe(Date.parse(start))
          expect(Date.parse(got.end)).toBe(Date.parse(end))
          if (i.zone === undefined) expect([got.start, got.end]).toEqual([start, end])
          else if (i.zone === "UTC") expect(got.start.endsWith("Z") && got.timezone === "UTC").toBe(true)
          else expect(got.timezone).toBe(i.zone)
        }
        ok(await h.call("nc_calendar_delete_event", { calendar_id: "personal", id: event.id }))
      }),
      { numRuns: 15 }
    )
  }, 120_000)
})
