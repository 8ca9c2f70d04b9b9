/**
 * Pure rules of http mode: which sessions a cap closes (docs/tool-contract.md §8: exactly
 * the excess, never the one just opened, idle ones before any in use, and
 * within each group the least recently used first), which requests a POST
 * carries (cancelled when its client goes away), and Retry-After.
 */
import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import * as Policy from "../../src/mcp/httpPolicy.js"

const use = FastCheck.record({
  open: FastCheck.integer({ min: 0, max: 2 }),
  touched: FastCheck.integer({ min: 0, max: 1_000 })
})

const scenario = FastCheck.record({
  uses: FastCheck.array(use, { maxLength: 30 }),
  max: FastCheck.integer({ min: 1, max: 30 }),
  keepIndex: FastCheck.option(FastCheck.nat(), { nil: undefined })
})

const named = (uses: ReadonlyArray<{ readonly open: number; readonly touched: number }>) =>
  uses.map((u, i) => [`s${i}`, { ...u, lastUsed: 0 }] as const)

describe("the session cap rule", () => {
  it.prop("closes exactly the excess, never the kept session, each at most once", [scenario], ([{ uses, max, keepIndex }]) => {
    const sessions = named(uses)
    const keep = keepIndex === undefined || sessions.length === 0 ? undefined : sessions[keepIndex % sessions.length]?.[0]
    const closed = Policy.overCap(sessions, max, keep)
    const candidates = sessions.length - (keep === undefined ? 0 : 1)
    expect(closed.length).toBe(Math.min(Math.max(0, sessions.length - max), candidates))
    expect(new Set(closed).size).toBe(closed.length)
    if (keep !== undefined) expect(closed).not.toContain(keep)
  })

  it.prop("idle sessions go before any in use, least recently used first within each", [scenario], ([{ uses, max }]) => {
    const sessions = named(uses)
    const closed = new Set(Policy.overCap(sessions, max))
    const rank = ([, u]: (typeof sessions)[number]) => [u.open > 0 ? 1 : 0, u.touched] as const
    const before = (a: readonly [number, number], b: readonly [number, number]) => a[0] < b[0] || (a[0] === b[0] && a[1] <= b[1])
    for (const gone of sessions.filter(([id]) => closed.has(id))) {
      for (const stays of sessions.filter(([id]) => !closed.has(id))) {
        expect(before(rank(gone), rank(stays)), `${gone[0]} closed before ${stays[0]}`).toBe(true)
      }
    }
  })

  it("a tie in recency closes the session opened first", () => {
    const same = { open: 0, touched: 5, lastUsed: 0 }
    expect(Policy.overCap([["a", same], ["b", same], ["c", same]], 1)).toEqual(["a", "b"])
  })
})

describe("the requests of a POST body", () => {
  it("are the messages with a method and an id, single or batched", () => {
    expect(Policy.requestIds({ jsonrpc: "2.0", id: 3, method: "tools/call", params: {} })).toEqual([3])
    expect(
      Policy.requestIds([
        { jsonrpc: "2.0", id: "a", method: "tools/call" },
        { jsonrpc: "2.0", method: "notifications/initialized" },
        { jsonrpc: "2.0", id: 7, result: {} },
        { jsonrpc: "2.0", id: null, method: "ping" },
        "junk",
        { jsonrpc: "2.0", id: 8, method: "ping" }
      ])
    ).toEqual(["a", 8])
    expect(Policy.requestIds(null)).toEqual([])
  })
})

describe("Retry-After", () => {
  it("is the whole seconds until the retry, at least 1", () => {
    expect(Policy.retryAfterSeconds(10_000, 0)).toBe(10)
    expect(Policy.retryAfterSeconds(10_001, 0)).toBe(11)
    expect(Policy.retryAfterSeconds(500, 400)).toBe(1)
    expect(Policy.retryAfterSeconds(0, 400)).toBe(1)
    expect(Policy.retryAfterSeconds(undefined, 400)).toBe(1)
  })
})
