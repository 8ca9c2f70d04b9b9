/**
 * Recipe times (`prepTime`, `cookTime`, `totalTime`) as ISO 8601 durations
 * (docs/nextcloud-protocol.md "Cookbook"). Cookbook stores them as
 * `PT<h>H<m>M<s>S` and, reading anything else, keeps only the hours,
 * minutes and seconds: `P1DT2H` would silently become two hours. So the tools
 * take any ISO 8601 duration of weeks, days, hours, minutes and seconds, turn
 * it into Cookbook's own form with the same length (a day is 24 hours, a week
 * 7 days), and refuse years and months, which have no fixed length.
 */

/** Cookbook's canonical form: what its parser reads back unchanged. */
export const COOKBOOK_DURATION = /^PT(\d+)H(\d+)M(\d+)S$/

/** More than a year of cooking is a typo. */
export const MAX_DURATION_SECONDS = 366 * 24 * 3600

const ISO = /^P(?!$)(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/

export type DurationProblem = "format" | "calendar" | "too long"

/** The length in seconds of an ISO 8601 duration; why not when it is none Cookbook can keep. */
export const parseDuration = (text: string): { readonly seconds: number } | { readonly problem: DurationProblem } => {
  const value = text.trim().toUpperCase()
  if (/^P(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T.*)?$/.test(value) && /^P(\d+Y|\d+M)/.test(value)) return { problem: "calendar" }
  const m = ISO.exec(value)
  if (m === null) return { problem: "format" }
  const [weeks, days, hours, minutes, seconds] = [m[1], m[2], m[3], m[4], m[5]].map((part) => (part === undefined ? 0 : Number(part)))
  const total = ((((weeks ?? 0) * 7 + (days ?? 0)) * 24 + (hours ?? 0)) * 60 + (minutes ?? 0)) * 60 + (seconds ?? 0)
  if (!Number.isSafeInteger(total) || total > MAX_DURATION_SECONDS) return { problem: "too long" }
  return { seconds: total }
}

/** `seconds` in Cookbook's form, `PT<h>H<m>M<s>S` (hours may exceed 24). */
export const formatDuration = (seconds: number): string => {
  const h = Math.floor(seconds / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = seconds % 60
  return `PT${h}H${m}M${s}S`
}

/** A duration in Cookbook's form, or why it cannot be one. */
export const toCookbookDuration = (text: string): { readonly value: string } | { readonly problem: DurationProblem } => {
  const parsed = parseDuration(text)
  return "seconds" in parsed ? { value: formatDuration(parsed.seconds) } : parsed
}

/** "1 h 30 min" for messages. */
export const describeDuration = (iso: string): string => {
  const parsed = parseDuration(iso)
  if (!("seconds" in parsed)) return iso
  const h = Math.floor(parsed.seconds / 3600)
  const m = Math.floor((parsed.seconds % 3600) / 60)
  return [h > 0 ? `${h} h` : "", m > 0 || h === 0 ? `${m} min` : ""].filter((p) => p !== "").join(" ")
}
