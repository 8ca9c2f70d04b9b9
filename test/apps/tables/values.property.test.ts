/**
 * Tables values by column type, as properties: every value the tools accept
 * is stored by Tables' own parsing unchanged and reads back as given (option
 * labels and ids, dates, times, numbers in range, check boxes, users); values
 * out of a column's range or options are refused before sending. An empty
 * text reads back as null, like every empty cell.
 */
import { Either, FastCheck as fc } from "effect"
import { describe, expect, it } from "vitest"
import type { Column } from "../../../src/apps/tables/Client.js"
import { parseCell, type SimColumn } from "../../../src/apps/tables/simulator.js"
import { decodeValue, encodeRow, encodeValue } from "../../../src/apps/tables/values.js"

const base = {
  tableId: 1,
  mandatory: false,
  numberMin: null,
  numberMax: null,
  numberDecimals: null,
  textMaxLength: null,
  textUnique: false,
  selectionOptions: [] as ReadonlyArray<{ id: number; label: string }>,
  usergroupMultipleItems: false,
  usergroupSelectUsers: true,
  usergroupSelectGroups: false,
  usergroupSelectTeams: false
}
const column = (id: number, type: string, subtype: string, extra: Partial<SimColumn> = {}): SimColumn => ({ ...base, id, title: `c${id}`, type, subtype, ...extra })

/** What Tables stores for what the tools send, read back as the tools present it. */
const roundTrip = (c: SimColumn, value: unknown) => {
  const encoded = encodeValue(c as unknown as Column, value)
  if (Either.isLeft(encoded)) throw new Error(encoded.left)
  return decodeValue(c as unknown as Column, parseCell(c, encoded.right))
}

const labels = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 10 }).filter((s) => !/^\d+$/.test(s) && !s.includes(",")), {
  minLength: 1,
  maxLength: 6,
  comparator: (a, b) => a.toLowerCase() === b.toLowerCase()
})

const pad = (n: number) => String(n).padStart(2, "0")

describe("Tables values by column type", () => {
  it("numbers within min/max round-trip; outside are refused", () => {
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: 0, max: 500 }), fc.integer({ min: -2000, max: 2000 }), (min, span, n) => {
        const c = column(1, "number", "", { numberMin: min, numberMax: min + span })
        const inRange = n >= min && n <= min + span
        const encoded = encodeValue(c as unknown as Column, n)
        expect(Either.isRight(encoded)).toBe(inRange)
        if (inRange) expect(roundTrip(c, n)).toBe(n)
      }),
      { numRuns: 100 }
    )
  })

  it("selection by label (any case) or id stores the option id and reads back as its label", () => {
    fc.assert(
      fc.property(labels, fc.nat(), fc.boolean(), fc.boolean(), (names, pick, byId, upper) => {
        const options = names.map((label, i) => ({ id: i + 1, label }))
        const c = column(2, "selection", "", { selectionOptions: options })
        const chosen = options[pick % options.length]!
        const given = byId ? chosen.id : upper ? chosen.label.toUpperCase() : chosen.label
        // Upper-casing can make a label match another's exactly; only check unambiguous ones.
        fc.pre(typeof given === "number" || options.filter((o) => o.label.toLowerCase() === given.toLowerCase()).length === 1)
        fc.pre(typeof given === "number" || options.every((o) => o === chosen || o.label !== given))
        expect(roundTrip(c, given)).toBe(chosen.label)
        expect(Either.isLeft(encodeValue(c as unknown as Column, options.length + 1))).toBe(true)
      }),
      { numRuns: 100 }
    )
  })

  it("multiple selection stores sorted unique ids and reads back as labels", () => {
    fc.assert(
      fc.property(labels, fc.array(fc.nat(), { maxLength: 8 }), (names, picks) => {
        const options = names.map((label, i) => ({ id: i + 1, label }))
        const c = column(3, "selection", "multi", { selectionOptions: options })
        const chosen = picks.map((p) => options[p % options.length]!)
        const expected = [...new Set(chosen.map((o) => o.id))].sort((a, b) => a - b).map((id) => options[id - 1]!.label)
        expect(roundTrip(c, chosen.map((o) => o.id))).toEqual(expected)
      }),
      { numRuns: 100 }
    )
  })

  it("dates, times and date-times round-trip in Tables' formats; impossible ones are refused", () => {
    fc.assert(
      fc.property(fc.date({ min: new Date("1900-01-01T00:00:00Z"), max: new Date("2199-12-31T23:59:00Z"), noInvalidDate: true }), (d) => {
        const date = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`
        const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`
        expect(roundTrip(column(4, "datetime", "date"), date)).toBe(date)
        expect(roundTrip(column(5, "datetime", "time"), time)).toBe(time)
        expect(roundTrip(column(6, "datetime", ""), `${date}T${time}`)).toBe(`${date} ${time}`)
        expect(roundTrip(column(6, "datetime", ""), `${date} ${time}`)).toBe(`${date} ${time}`)
      }),
      { numRuns: 100 }
    )
    for (const bad of ["2026-02-30", "2026-13-01", "26-01-01", "2026-01-01T10:00:00+01:00"]) {
      expect(Either.isLeft(encodeValue(column(4, "datetime", "date") as unknown as Column, bad)), bad).toBe(true)
      expect(Either.isLeft(encodeValue(column(6, "datetime", "") as unknown as Column, bad)), bad).toBe(true)
    }
  })

  it("check boxes, text and users round-trip; a mandatory column cannot be emptied or left out", () => {
    fc.assert(
      fc.property(fc.boolean(), fc.string({ minLength: 1, maxLength: 50 }), fc.array(fc.stringMatching(/^[a-z][a-z0-9._-]{0,15}$/), { minLength: 1, maxLength: 3 }), (checked, text, users) => {
        expect(roundTrip(column(7, "selection", "check"), checked)).toBe(checked)
        expect(roundTrip(column(8, "text", "long"), text)).toBe(text)
        const group = column(9, "usergroup", "", { usergroupMultipleItems: true })
        expect(roundTrip(group, users)).toEqual(users.map((id) => ({ id, type: "user" })))
        const mandatory = column(10, "text", "line", { mandatory: true, title: "Name" } as Partial<SimColumn>)
        expect(Either.isLeft(encodeValue(mandatory as unknown as Column, null))).toBe(true)
        const row = encodeRow([mandatory as unknown as Column, column(7, "selection", "check") as unknown as Column], { c7: checked }, true)
        expect(Either.isLeft(row) && row.left.some((p) => p.includes("mandatory"))).toBe(true)
      }),
      { numRuns: 50 }
    )
  })
})
