/**
 * Recipe times: any ISO 8601 duration of weeks, days, hours, minutes and
 * seconds becomes Cookbook's own `PT#H#M#S` of the same length, which
 * Cookbook's parser (modelled here as it is written in PHP) keeps unchanged,
 * so nothing is lost on the server; years and months are refused.
 */
import { FastCheck } from "effect"
import { describe, expect, it } from "vitest"
import { COOKBOOK_DURATION, formatDuration, parseDuration, toCookbookDuration } from "../../../src/apps/cookbook/durations.js"

/** `ISO8601DurationHelper::parseIsoFormat`: weeks, days (and years, months) are dropped, the rest carried over. */
const cookbookParses = (text: string): string | null => {
  const m = /^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$/.exec(text.trim())
  if (m === null) return null
  let h = Number.parseInt(m[6] ?? "0", 10) || 0
  let min = Number.parseInt(m[7] ?? "0", 10) || 0
  let s = Number.parseInt(m[8] ?? "0", 10) || 0
  min += Math.floor(s / 60)
  s %= 60
  h += Math.floor(min / 60)
  min %= 60
  return `PT${h}H${min}M${s}S`
}

/** An ISO 8601 duration written any valid way: parts present or left out, in ranges past their carry. */
const anyDuration = FastCheck.record({
  w: FastCheck.option(FastCheck.integer({ min: 0, max: 20 })),
  d: FastCheck.option(FastCheck.integer({ min: 0, max: 40 })),
  h: FastCheck.option(FastCheck.integer({ min: 0, max: 100 })),
  m: FastCheck.option(FastCheck.integer({ min: 0, max: 200 })),
  s: FastCheck.option(FastCheck.integer({ min: 0, max: 200 }))
})
  .filter((p) => [p.w, p.d, p.h, p.m, p.s].some((x) => x !== null))
  .map((p) => {
    const time = `${p.h === null ? "" : `${p.h}H`}${p.m === null ? "" : `${p.m}M`}${p.s === null ? "" : `${p.s}S`}`
    const text = `P${p.w === null ? "" : `${p.w}W`}${p.d === null ? "" : `${p.d}D`}${time === "" ? "" : `T${time}`}`
    const seconds = ((((p.w ?? 0) * 7 + (p.d ?? 0)) * 24 + (p.h ?? 0)) * 60 + (p.m ?? 0)) * 60 + (p.s ?? 0)
    return { text, seconds }
  })

describe("Cookbook durations", () => {
  it("keep their length, come out in Cookbook's form, and survive Cookbook's own parser unchanged", () => {
    FastCheck.assert(
      FastCheck.property(anyDuration, ({ text, seconds }) => {
        const converted = toCookbookDuration(text)
        expect("value" in converted, text).toBe(true)
        if (!("value" in converted)) return
        expect(converted.value).toMatch(COOKBOOK_DURATION)
        expect(parseDuration(converted.value)).toEqual({ seconds })
        expect(cookbookParses(converted.value)).toBe(converted.value)
        // Idempotent: converting Cookbook's form again changes nothing.
        expect(toCookbookDuration(converted.value)).toEqual(converted)
        expect(toCookbookDuration(text.toLowerCase())).toEqual(converted)
      }),
      { numRuns: 100 }
    )
  })

  it("formatDuration inverts parseDuration on every length up to a year", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.integer({ min: 0, max: 366 * 24 * 3600 }), (seconds) => {
        expect(parseDuration(formatDuration(seconds))).toEqual({ seconds })
      }),
      { numRuns: 100 }
    )
  })

  it("days would be dropped by Cookbook, so they become hours; years, months and junk are refused", () => {
    expect(cookbookParses("P1DT2H")).toBe("PT2H0M0S")
    expect(toCookbookDuration("P1DT2H")).toEqual({ value: "PT26H0M0S" })
    expect(toCookbookDuration("PT90M")).toEqual({ value: "PT1H30M0S" })
    expect(toCookbookDuration("P1Y")).toEqual({ problem: "calendar" })
    expect(toCookbookDuration("P2MT1H")).toEqual({ problem: "calendar" })
    for (const bad of ["", "P", "PT", "1:30", "PT1.5H", "T1H", "P1H", "PT-1M", "45 minutes"]) {
      expect(toCookbookDuration(bad), bad).toEqual({ problem: "format" })
    }
    expect(toCookbookDuration("P400D")).toEqual({ problem: "too long" })
  })
})
