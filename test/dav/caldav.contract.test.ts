/**
 * The CalDAV client's contract, run against the simulated Nextcloud and
 * against Radicale (a real CalDAV server at Nextcloud's DAV paths): the same
 * expectations on both.
 */
import { HttpClient } from "@effect/platform"
import { Effect, Exit, Redacted, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { calendarSimulator } from "../../src/apps/calendar/simulator.js"
import { type CalDavShape, makeCalDav } from "../../src/nextcloud/caldav.js"
import ICAL from "ical.js"
import {
  componentsOf,
  editObject,
  ensureTimezones,
  instantAt,
  newCalendarObject,
  occurrencesIn,
  outputTime,
  parseCalendar,
  placementOf,
  textProperty,
  timeProperty,
  utcNow,
  valueProperty
} from "../../src/nextcloud/caldavIcal.js"
import { HttpClientLive } from "../../src/nextcloud/HttpClientLive.js"
import { NextcloudConfig } from "../../src/nextcloud/NextcloudConfig.js"
import type { DavAccount } from "../../src/nextcloud/Ocs.js"
import * as Simulator from "../../src/simulator/index.js"
import { radicaleAvailable, startRadicale } from "../support/radicale.js"

interface Target {
  readonly url: string
  readonly account: DavAccount
  readonly stop: () => Promise<void>
}

const clientFor = (url: string): Promise<CalDavShape> =>
  Effect.runPromise(
    Effect.gen(function* () {
      return makeCalDav(yield* HttpClient.HttpClient, yield* NextcloudConfig)
    }).pipe(Effect.provide(HttpClientLive), Effect.provide(NextcloudConfig.make(url)))
  )

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)

const event = (uid: string, start: string, extra = "") =>
  [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    "PRODID:-//contract//EN",
    "BEGIN:VEVENT",
    `UID:${uid}`,
    "DTSTAMP:20260101T000000Z",
    `DTSTART:${start}`,
    "DURATION:PT1H",
    "SUMMARY:contract",
    ...(extra === "" ? [] : [extra]),
    "END:VEVENT",
    "END:VCALENDAR",
    ""
  ].join("\r\n")

const todo = (uid: string) =>
  ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//contract//EN", "BEGIN:VTODO", `UID:${uid}`, "DTSTAMP:20260101T000000Z", "SUMMARY:task", "DUE;VALUE=DATE:20260110", "END:VTODO", "END:VCALENDAR", ""].join("\r\n")

const contract = (name: string, start: () => Promise<Target>) =>
  describe(`CalDAV client contract: ${name}`, () => {
    let target: Target
    let caldav: CalDavShape
    beforeAll(async () => {
      await run(ensureTimezones)
      target = await start()
      caldav = await clientFor(target.url)
    })
    afterAll(async () => {
      await target?.stop()
    })

    it("lists the calendars with their components and read-only flag", async () => {
      const calendars = await run(caldav.calendars(target.account))
      const personal = calendars.find((c) => c.id === "personal")
      expect(personal).toMatchObject({ name: "Personal", readOnly: false })
      expect(personal?.components).toEqual(expect.arrayContaining(["VEVENT", "VTODO"]))
      expect(personal?.url.pathname).toBe(`/remote.php/dav/calendars/${target.account.userId}/personal/`)
      expect(calendars.find((c) => c.id === "contact_birthdays")?.readOnly).toBe(true)
      expect(calendars.map((c) => c.id)).not.toContain("inbox")
    })

    it("creates, finds by time range (recurrences included) and UID, updates at an etag, deletes by href", async () => {
      const cal = await run(caldav.calendar(target.account, "personal"))
      const single = await run(caldav.create(target.account, cal, "single-1", event("single-1", "20260105T100000Z")))
      const weird = await run(caldav.create(target.account, cal, "weird uid/with:chars", event("weird uid/with:chars", "20260301T100000Z")))
      await run(caldav.create(target.account, cal, "weekly-1", event("weekly-1", "20250106T090000Z", "RRULE:FREQ=WEEKLY")))
      await run(caldav.create(target.account, cal, "todo-1", todo("todo-1")))
      expect(single.etag).not.toBeNull()
      expect(weird.url.pathname).not.toContain("weird")

      const dup = await run(Effect.flip(caldav.create(target.account, cal, "single-1", event("single-1", "20260105T100000Z"))))
      expect(dup._tag).toBe("NextcloudPreconditionFailed")

      const january = await run(caldav.query(target.account, cal, "VEVENT", { range: { startMs: Date.UTC(2026, 0, 1), endMs: Date.UTC(2026, 1, 1) } }))
      expect(january.map((o) => o.url.pathname).sort()).toEqual([single.url.pathname, `${cal.url.pathname}weekly-1.ics`].sort())
      const todos = await run(caldav.query(target.account, cal, "VTODO", {}))
      expect(todos).toHaveLength(1)
      const byUid = await run(caldav.query(target.account, cal, "VEVENT", { uid: "weird uid/with:chars" }))
      expect(byUid.map((o) => o.url.pathname)).toEqual([weird.url.pathname])
      expect(byUid[0]?.etag).toBe(weird.etag)

      const updated = await run(caldav.update(target.account, single.url, event("single-1", "20260105T110000Z"), single.etag))
      expect(updated.etag).not.toBe(single.etag)
      const stale = await run(Effect.flip(caldav.update(target.account, single.url, event("single-1", "20260105T120000Z"), single.etag)))
      expect(stale._tag).toBe("NextcloudPreconditionFailed")
      const staleDelete = await run(Effect.flip(caldav.remove(target.account, single.url, single.etag)))
      expect(staleDelete._tag).toBe("NextcloudPreconditionFailed")
      await run(caldav.remove(target.account, single.url, updated.etag))
      const gone = await run(Effect.flip(caldav.remove(target.account, single.url, null)))
      expect(gone._tag).toBe("NextcloudNotFound")
      const read = await run(caldav.get(target.account, weird.url))
      expect(read.data).toContain("UID:weird uid/with:chars")
    })

    it("stores what the tools write: TZID with VTIMEZONE, minimal-diff edits, recurrences expanded", async () => {
      const cal = await run(caldav.calendar(target.account, "personal"))
      const start = instantAt(Date.UTC(2026, 5, 1, 7), placementOf("America/New_York", 0))
      const data = newCalendarObject("vevent", [
        textProperty("uid", "tz-1"),
        valueProperty("dtstamp", utcNow(Date.UTC(2026, 0, 1))),
        timeProperty("dtstart", start),
        valueProperty("duration", ICAL.Duration.fromString("PT30M")),
        valueProperty("rrule", ICAL.Recur.fromString("FREQ=DAILY;COUNT=3")),
        textProperty("summary", "zoned")
      ]).replace("END:VEVENT", "ATTENDEE;CN=\"Doe, Jane\";PARTSTAT=ACCEPTED:mailto:jane@example.org\r\nX-CUSTOM;X-P=1:keep\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT5M\r\nDESCRIPTION:soon\r\nEND:VALARM\r\nEND:VEVENT")
      const created = await run(caldav.create(target.account, cal, "tz-1", data))
      const edited = editObject(created.data, "vevent", [{ name: "summary", properties: [textProperty("summary", "renamed")] }])
      expect(edited).not.toBeNull()
      const updated = await run(caldav.update(target.account, created.url, edited ?? "", created.etag))
      const [found] = await run(caldav.query(target.account, cal, "VEVENT", { uid: "tz-1" }))
      expect(found?.etag).toBe(updated.etag)
      const stored = found?.data ?? ""
      for (const line of ["SUMMARY:renamed", "X-CUSTOM;X-P=1:keep", "TRIGGER:-PT5M", "TZID:America/New_York", "mailto:jane@example.org"]) {
        expect(stored.replace(/\r\n[ \t]/g, "")).toContain(line)
      }
      const vcalendar = parseCalendar(stored)
      const { occurrences } = occurrencesIn(componentsOf(vcalendar, "vevent"), Date.UTC(2026, 5, 1), Date.UTC(2026, 5, 10))
      expect(occurrences.map((o) => outputTime(o.start).value)).toEqual([
        "2026-06-01T03:00:00-04:00",
        "2026-06-02T03:00:00-04:00",
        "2026-06-03T03:00:00-04:00"
      ])
      await run(caldav.remove(target.account, created.url, updated.etag))
    })

    it("refuses writes into a read-only calendar and an unknown calendar id", async () => {
      const birthdays = await run(caldav.calendar(target.account, "contact_birthdays"))
      const refused = await run(Effect.flip(caldav.create(target.account, birthdays, "b-1", event("b-1", "20260105T100000Z"))))
      expect(refused._tag).toBe("NextcloudForbidden")
      const missing = await run(Effect.flip(caldav.calendar(target.account, "nope")))
      expect(missing._tag).toBe("NextcloudNotFound")
    })
  })

contract("simulated Nextcloud", async () => {
  const scope = await Effect.runPromise(Scope.make())
  const sim = await Effect.runPromise(Simulator.make({ apps: [calendarSimulator] }).pipe(Scope.extend(scope)))
  const pw = await Effect.runPromise(sim.createAppPassword({ userId: "ada-5c7e" }))
  return {
    url: sim.url,
    account: { loginName: "ada@example.org", userId: "ada-5c7e", appPassword: Redacted.make(pw.password) },
    stop: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
})

if (radicaleAvailable("CalDAV client contract: Radicale")) {
  contract("Radicale", async () => {
    const radicale = await startRadicale([{ userId: "ada", password: "ada-pw" }])
    return { url: radicale.url, account: { loginName: "ada", userId: "ada", appPassword: Redacted.make("ada-pw") }, stop: radicale.stop }
  })
}

