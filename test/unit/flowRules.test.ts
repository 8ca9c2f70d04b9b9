/**
 * The pure decisions of provisioning as laws over generated inputs: where a
 * flow stands, when a pending flow is shown again, the sliding flow-start
 * limit, what a scope change does now and what it needs a login for, and
 * narrowing a pending widening.
 */
import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc, Redacted } from "effect"
import { UserId } from "../../src/domain/Ids.js"
import * as Scopes from "../../src/domain/Scope.js"
import {
  flowStartRetryAfter,
  flowState,
  isReusable,
  narrowedPendingUpdate,
  planScopeChange,
  sameGrant
} from "../../src/provisioning/flowRules.js"
import type { PendingFlow } from "../../src/storage/Storage.js"

const canonical = fc.subarray([...Scopes.ALL_SCOPES])
const grantable = fc.option(canonical, { nil: null })
const scopeList = fc.array(fc.constantFrom(...Scopes.ALL_SCOPES), { maxLength: 25 })
const time = fc.integer({ min: 0, max: 10_000_000 })

const flowArb = fc.record({
  requestedScopes: grantable,
  purpose: fc.constantFrom("provision" as const, "update" as const),
  createdAt: time,
  lifetime: fc.integer({ min: 1, max: 2_000_000 })
}).map(({ createdAt, lifetime, purpose, requestedScopes }): PendingFlow => ({
  userId: UserId.make("alice"),
  pollToken: Redacted.make("token"),
  pollEndpoint: "https://cloud.test/login/v2/poll",
  loginUrl: Redacted.make("https://cloud.test/login/v2/flow/x"),
  requestedScopes,
  purpose,
  elicitationId: null,
  createdAt,
  expiresAt: createdAt + lifetime
}))

const set = (xs: ReadonlyArray<Scopes.Scope>) => new Set(xs)
const subset = (a: ReadonlyArray<Scopes.Scope>, b: ReadonlyArray<Scopes.Scope>) => a.every((s) => set(b).has(s))

describe("where a flow stands", () => {
  it.prop("pending strictly before its deadline, expired from it on, none without a flow", [fc.option(flowArb, { nil: null }), time], ([flow, now]) => {
    const state = flowState(flow, now)
    if (flow === null) expect(state._tag).toBe("None")
    else expect(state).toEqual({ _tag: now < flow.expiresAt ? "Pending" : "Expired", flow })
  })

  it.prop("a pending flow is shown again only while unexpired, to provision, with the very same scopes", [flowArb, grantable, time], ([flow, requested, now]) => {
    expect(isReusable(flow, requested, now)).toBe(
      now < flow.expiresAt && flow.purpose === "provision" && sameGrant(flow.requestedScopes, requested)
    )
    // The same scopes in another order or with duplicates are the same request.
    if (requested !== null) expect(isReusable(flow, [...requested].reverse(), now)).toBe(isReusable(flow, requested, now))
  })

  it.prop("unrestricted is the same grant only as unrestricted, never as the full list", [grantable], ([g]) => {
    expect(sameGrant(g, g)).toBe(true)
    expect(sameGrant(null, [...Scopes.ALL_SCOPES])).toBe(false)
    expect(sameGrant(g, null)).toBe(g === null)
  })
})

describe("the flow-start limit", () => {
  const scenario = fc.record({
    starts: fc.array(time, { maxLength: 12 }).map((xs) => [...xs].sort((a, b) => a - b)),
    now: time,
    windowMs: fc.integer({ min: 1_000, max: 3_600_000 }),
    limit: fc.integer({ min: 1, max: 6 })
  })

  it.prop("refused exactly when `limit` starts lie in the window (now - window, now]", [scenario], ([{ limit, now, starts, windowMs }]) => {
    const inWindow = starts.filter((at) => at > now - windowMs && at <= now).length
    expect(flowStartRetryAfter(starts, now, windowMs, limit) === null).toBe(inWindow < limit)
  })

  it.prop("retry_after is the first whole second at which another start fits", [scenario], ([{ limit, now, starts, windowMs }]) => {
    const retry = flowStartRetryAfter(starts, now, windowMs, limit)
    if (retry === null) return
    expect(retry).toBeGreaterThanOrEqual(1)
    // Starts after `now` have not happened yet; only those up to now count then too.
    const past = starts.filter((at) => at <= now)
    expect(flowStartRetryAfter(past, now + retry * 1000, windowMs, limit)).toBeNull()
    if (retry > 1) expect(flowStartRetryAfter(past, now + (retry - 1) * 1000, windowMs, limit)).not.toBeNull()
  })
})

describe("a scope change", () => {
  it.prop("aims at the grant minus the removals plus the additions; nothing to do when that is the grant", [grantable, scopeList, scopeList], ([grant, add, remove]) => {
    const current = Scopes.expand(grant)
    const target = Scopes.union(Scopes.difference(current, remove), add)
    const change = planScopeChange(grant, add, remove)
    const expected = target.length === 0 ? "Empty" : Scopes.equals(target, current) ? "Unchanged" : "Change"
    expect(change._tag).toBe(expected)
    if (change._tag === "Change") expect(change.target).toEqual(target)
  })

  it.prop("never grants without a login what the grant lacks; removals not added back apply at once", [grantable, scopeList, scopeList], ([grant, add, remove]) => {
    const change = planScopeChange(grant, add, remove)
    if (change._tag !== "Change") return
    const current = Scopes.expand(grant)
    expect(subset(change.applyNow, current)).toBe(true)
    const removed = Scopes.difference(remove, add)
    expect(change.applyNow.some((s) => removed.includes(s))).toBe(false)
    // What the login brings keeps everything in force meanwhile.
    expect(subset(change.applyNow, change.target)).toBe(true)
  })

  it.prop("widens exactly when the target has scopes the grant lacks; otherwise it applies whole, at once", [grantable, scopeList, scopeList], ([grant, add, remove]) => {
    const change = planScopeChange(grant, add, remove)
    if (change._tag !== "Change") return
    const current = Scopes.expand(grant)
    expect(change.widens).toBe(!subset(change.target, current))
    if (!change.widens) {
      expect(change.applyNow).toEqual(change.target)
      expect(change.narrows).toBe(true)
    }
    expect(change.narrows).toBe(!Scopes.equals(change.applyNow, current))
  })

  it("an unrestricted grant can only narrow", () => {
    const change = planScopeChange(null, ["notes.read"], ["news.write"])
    expect(change).toMatchObject({ _tag: "Change", widens: false, narrows: true })
    expect(change._tag === "Change" && change.target).toHaveLength(Scopes.ALL_SCOPES.length - 1)
  })
})

describe("narrowing a pending widening", () => {
  it.prop("only an unexpired update loses the removed scopes; anything else is left alone", [fc.option(flowArb, { nil: null }), scopeList, time], ([flow, remove, now]) => {
    const narrowed = narrowedPendingUpdate(flow, remove, now)
    if (flow === null || flow.purpose !== "update" || now >= flow.expiresAt) {
      expect(narrowed).toBeNull()
      return
    }
    expect(narrowed).toEqual({
      ...flow,
      requestedScopes: Scopes.difference(Scopes.expand(flow.requestedScopes), remove)
    })
    expect(narrowed?.requestedScopes?.some((s) => remove.includes(s))).toBe(false)
  })
})
