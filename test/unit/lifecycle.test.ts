/**
 * The credential lifecycle under TestClock, over a scripted Nextcloud and
 * real in-memory SQLite: `wait_seconds` (woken on completion, timing out,
 * progress, cancellation, bounded by the deadline), the 20-minute deadline,
 * the flow-start rate limit, revocation online and offline, replacement,
 * orphan safety, stale passwords and the audit trail.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Layer, Option, Redacted, type Scope, TestClock } from "effect"
import { ScopeCache } from "../../src/auth/ScopeCache.js"
import { LoginFlows } from "../../src/provisioning/LoginFlows.js"
import { makePoller } from "../../src/provisioning/Poller.js"
import { Provisioning } from "../../src/provisioning/Provisioning.js"
import type { ProvisioningConfigShape } from "../../src/provisioning/ProvisioningConfig.js"
import { Storage } from "../../src/storage/Storage.js"
import { requireScopes } from "../../src/tools/access.js"
import { checkStatus, provisionAccess, revokeAccess, updateScopes } from "../../src/tools/auth.js"
import type * as Tool from "../../src/tools/Tool.js"
import {
  ALICE,
  auditOf,
  eventsOf,
  failingCompleteFlow,
  type FakeNextcloud,
  flowOf,
  grantOf,
  lifecycleLayer,
  makeFakeNextcloud,
  memoryStorage,
  requestLayer
} from "../support/lifecycle.js"

const SECOND = 1000
const MINUTE = 60 * SECOND

type Progress = Array<{ progress: number; total: number | undefined; message: string }>
type Services = Layer.Layer.Success<ReturnType<typeof lifecycleLayer>> | Scope.Scope

const run = <A, E>(
  fake: FakeNextcloud,
  body: Effect.Effect<A, E, Services>,
  config: Partial<ProvisioningConfigShape> = {},
  storage = memoryStorage()
) => body.pipe(Effect.scoped, Effect.provide(lifecycleLayer(fake, config, storage)))

const call = <I, O, R>(tool: Tool.OpenTool<I, O, R>, input: I, progress: Progress = []) =>
  tool.handler(input, { tool: tool.name }).pipe(Effect.provide(requestLayer(progress)))

/** Provision and complete through check_status (no poller), returning the password handed over. */
const provisioned = (fake: FakeNextcloud, password: string, scopes?: Array<string>) =>
  Effect.gen(function* () {
    yield* call(provisionAccess, scopes === undefined ? {} : { scopes })
    fake.script(-1, { completed: password })
    const done = yield* call(checkStatus, {})
    expect(done.status).toBe("provisioned")
  })

/** The result of a fiber that must have finished by now (fails instead of hanging under TestClock). */
const settledResult = <A, E>(fiber: Fiber.Fiber<A, E>) =>
  Fiber.poll(fiber).pipe(
    Effect.flatMap(Option.match({ onNone: () => Effect.die("still waiting"), onSome: (exit) => exit }))
  )

describe("nc_auth_check_status wait_seconds", () => {
  it.effect("returns as soon as the background poller completes the flow, with progress on the way", () => {
    const fake = makeFakeNextcloud()
    const progress: Progress = []
    return run(
      fake,
      Effect.gen(function* () {
        yield* call(provisionAccess, {})
        yield* makePoller
        fake.script(0, "pending", "pending", { completed: "pw-1" })
        const waiting = yield* Effect.fork(call(checkStatus, { wait_seconds: 60 }, progress))
        yield* TestClock.adjust(3 * SECOND)
        expect(Option.isNone(yield* Fiber.poll(waiting))).toBe(true)
        // the third poll (at most 3 × 6 s in) completes it
        yield* TestClock.adjust(15 * SECOND)
        const result = yield* settledResult(waiting)
        expect(result).toMatchObject({ status: "provisioned", username: "alice@example.org" })
        expect(result.message).toContain("provisioned successfully")
        const completedAt = fake.pollsOf(0).at(-1)?.at ?? Number.NaN
        expect(completedAt).toBeLessThanOrEqual(18 * SECOND)
        // progress every second while waiting, none after the completion
        expect(progress.length).toBeGreaterThanOrEqual(3)
        expect(progress.every((p) => p.total === 60 && p.progress <= completedAt / SECOND)).toBe(true)
        expect(progress.map((p) => p.progress)).toEqual([...progress.map((p) => p.progress)].sort((a, b) => a - b))
        expect(progress[0]?.message).toContain("Waiting")
      }),
      // Only the background poller polls here; polls for waiting clients are tested on their own.
      { waitingPollInterval: Duration.minutes(10) }
    )
  })

  it.effect("without a completion it returns pending when the wait ends, having reported progress each second", () => {
    const fake = makeFakeNextcloud()
    const progress: Progress = []
    return run(
      fake,
      Effect.gen(function* () {
        yield* call(provisionAccess, {})
        yield* makePoller
        const waiting = yield* Effect.fork(call(checkStatus, { wait_seconds: 10 }, progress))
        yield* TestClock.adjust(10 * SECOND - 1)
        expect(Option.isNone(yield* Fiber.poll(waiting))).toBe(true)
        yield* TestClock.adjust(1)
        const result = yield* Fiber.join(waiting)
        expect(result).toMatchObject({ status: "pending" })
        // one report per second; the one at the very end may or may not precede the timeout
        expect(progress.map((p) => p.progress).slice(0, 10)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
        expect(progress.length).toBeLessThanOrEqual(11)
        expect(progress.every((p) => p.total === 10)).toBe(true)
      }),
      { pollInterval: Duration.seconds(3) }
    )
  })

  it.effect("wakes on a completion by another caller (no poller), without polling storage", () => {
    const fake = makeFakeNextcloud()
    return run(
      fake,
      Effect.gen(function* () {
        yield* call(provisionAccess, {})
        const waiting = yield* Effect.fork(call(checkStatus, { wait_seconds: 120 }))
        yield* TestClock.adjust(5 * SECOND)
        const polls = fake.polls.length
        fake.script(0, { completed: "pw-1" })
        const flows = yield* LoginFlows
        yield* flows.poll(ALICE)
        yield* TestClock.adjust(0)
        const result = yield* settledResult(waiting)
        expect(result.status).toBe("provisioned")
        expect(fake.polls.length).toBe(polls + 1)
      })
    )
  })

  it.effect("cancelling the request ends the wait at once", () => {
    const fake = makeFakeNextcloud()
    const progress: Progress = []
    return run(
      fake,
      Effect.gen(function* () {
        yield* call(provisionAccess, {})
        const waiting = yield* Effect.fork(call(checkStatus, { wait_seconds: 120 }, progress))
        yield* TestClock.adjust(2 * SECOND)
        const exit = yield* Fiber.interrupt(waiting)
        expect(Exit.isInterrupted(exit)).toBe(true)
        const reported = progress.length
        yield* TestClock.adjust(MINUTE)
        expect(progress.length).toBe(reported)
        expect(yield* flowOf()).not.toBeNull()
      })
    )
  })

  it.effect("never waits past the flow's deadline, and then says it expired", () => {
    const fake = makeFakeNextcloud()
    return run(
      fake,
      Effect.gen(function* () {
        yield* call(provisionAccess, {})
        yield* TestClock.adjust(19 * MINUTE + 30 * SECOND)
        const waiting = yield* Effect.fork(call(checkStatus, { wait_seconds: 120 }))
        yield* TestClock.adjust(30 * SECOND)
        const result = yield* Fiber.join(waiting)
        expect(result.status).toBe("not_initiated")
        expect(result.message).toContain("expired")
      })
    )
  })
})

describe("20-minute deadline", () => {
  it.effect("pending at 19:59.999 (and polled), expired at exactly 20:00 (not polled), audited once", () => {
    const fake = makeFakeNextcloud()
    return run(
      fake,
      Effect.gen(function* () {
        yield* call(provisionAccess, {})
        yield* TestClock.adjust(20 * MINUTE - 1)
        const pending = yield* call(checkStatus, {})
        expect(pending).toMatchObject({ status: "pending", expires_in_seconds: 0 })
        expect(fake.pollsOf(0)).toHaveLength(1)
        yield* TestClock.adjust(1)
        const expired = yield* call(checkStatus, {})
        expect(expired.status).toBe("not_initiated")
        expect(expired.message).toContain("expired")
        expect(fake.pollsOf(0)).toHaveLength(1)
        expect((yield* call(checkStatus, {})).message).toContain("expired")
        expect(yield* eventsOf()).toEqual(["flow_started", "flow_expired"])
        // a new provision starts a new flow
        const again = yield* call(provisionAccess, {})
        expect(again.status).toBe("login_required")
        expect(fake.tokens).toHaveLength(2)
      })
    )
  })
})

describe("flow-start rate limit", () => {
  it.effect("5 per sliding hour by default; the 6th is RateLimited with retry_after_seconds until the oldest leaves the window", () => {
    const fake = makeFakeNextcloud()
    return run(
      fake,
      Effect.gen(function* () {
        // distinct scopes, so each call starts a new flow instead of showing the pending one again
        const scopes = [["notes.read"], ["notes.write"], ["files.read"], ["files.write"], ["calendar.read"], ["calendar.write"]]
        for (let i = 0; i < 5; i++) {
          expect((yield* call(provisionAccess, { scopes: scopes[i] as Array<string> })).status).toBe("login_required")
          yield* TestClock.adjust(10 * MINUTE)
        }
        // at 50 min: the start at 0 leaves the window at 60 min
        const limited = yield* Effect.flip(call(provisionAccess, { scopes: scopes[5] as Array<string> }))
        expect(limited).toMatchObject({ _tag: "RateLimited", retry_after_seconds: 600 })
        expect((limited as { message: string }).message).toContain("Try again in 10 minutes")
        // showing the pending flow again is not a new start
        expect((yield* call(provisionAccess, { scopes: scopes[4] as Array<string> })).status).toBe("login_required")
        yield* TestClock.adjust(10 * MINUTE - 1)
        expect(yield* Effect.flip(call(provisionAccess, { scopes: scopes[5] as Array<string> }))).toMatchObject({
          _tag: "RateLimited",
          retry_after_seconds: 1
        })
        yield* TestClock.adjust(1)
        expect((yield* call(provisionAccess, { scopes: scopes[5] as Array<string> })).status).toBe("login_required")
        expect(fake.tokens).toHaveLength(6)
        const denied = (yield* auditOf()).filter((e) => e.event === "access_denied")
        expect(denied.map((e) => e.detail)).toEqual([
          { reason: "flow_start_rate_limit", retry_after_seconds: 1, tool: "nc_auth_provision_access" },
          { reason: "flow_start_rate_limit", retry_after_seconds: 600, tool: "nc_auth_provision_access" }
        ])
      })
    )
  })

  it.effect("the limit is configurable and also covers flows started to add scopes", () => {
    const fake = makeFakeNextcloud()
    return run(
      fake,
      Effect.gen(function* () {
        yield* provisioned(fake, "pw-1", ["notes.read"])
        expect((yield* call(updateScopes, { add_scopes: ["files.read"] })).status).toBe("login_required")
        const limited = yield* Effect.flip(call(updateScopes, { add_scopes: ["files.write"] }))
        expect(limited).toMatchObject({ _tag: "RateLimited", retry_after_seconds: 3600 })
      }),
      { flowStartLimit: 2 }
    )
  })
})

describe("nc_auth_revoke_access", () => {
  it.effect("revokes at Nextcloud, deletes the grant and the cache entry, audits", () => {
    const fake = makeFakeNextcloud()
    return run(
      fake,
      Effect.gen(function* () {
        yield* provisioned(fake, "pw-1")
        const cache = yield* ScopeCache
        expect(Option.isSome(yield* cache.get(ALICE))).toBe(true)
        const result = yield* call(revokeAccess, {})
        expect(result).toMatchObject({ status: "revoked", remote_revoked: true })
        expect(fake.revoked.map((c) => [c.loginName, c.appPassword])).toEqual([["alice@example.org", "pw-1"]])
        expect(yield* grantOf()).toBeNull()
        expect(Option.isNone(yield* cache.get(ALICE))).toBe(true)
        const revoked = (yield* auditOf()).find((e) => e.event === "grant_revoked")
        expect(revoked?.detail).toEqual({ reason: "requested", remote_revoked: true })
        expect((yield* call(revokeAccess, {})).status).toBe("not_provisioned")
      })
    )
  })

  for (const down of ["down", "error"] as const) {
    it.effect(`with Nextcloud ${down === "down" ? "unreachable" : "answering 503"} the grant is still deleted, and the message says so`, () => {
      const fake = makeFakeNextcloud()
      return run(
        fake,
        Effect.gen(function* () {
          yield* provisioned(fake, "pw-1")
          fake.state.revoke = down
          const result = yield* call(revokeAccess, {})
          expect(result).toMatchObject({ status: "revoked", remote_revoked: false })
          expect(result.message).toContain("did not confirm")
          expect(result.message).toContain("Settings")
          expect(result.message).not.toContain("pw-1")
          expect(yield* grantOf()).toBeNull()
          const revoked = (yield* auditOf()).find((e) => e.event === "grant_revoked")
          expect(revoked?.detail).toEqual({ reason: "requested", remote_revoked: false })
        })
      )
    })
  }

  it.effect("abandons a pending login; an expired one is not reported as cancelled", () => {
    const fake = makeFakeNextcloud()
    return run(
      fake,
      Effect.gen(function* () {
        yield* call(provisionAccess, {})
        const cancelled = yield* call(revokeAccess, {})
        expect(cancelled).toMatchObject({ status: "not_provisioned" })
        expect(cancelled.message).toContain("abandoned")
        expect(yield* flowOf()).toBeNull()
        yield* call(provisionAccess, {})
        yield* TestClock.adjust(21 * MINUTE)
        const after = yield* call(revokeAccess, {})
        expect(after.message).not.toContain("abandoned")
      })
    )
  })
})

describe("replacement", () => {
  it.effect("a completed flow for a user with a grant revokes the old password after storing the new one", () => {
    const fake = makeFakeNextcloud()
    return run(
      fake,
      Effect.gen(function* () {
        yield* provisioned(fake, "pw-old", ["notes.read"])
        const storage = yield* Storage
        // when the old password is revoked, the new one is already stored
        const storedAtRevoke: Array<string | null> = []
        const revoke = fake.ocs.revokeAppPassword
        ;(fake.ocs as { revokeAppPassword: typeof revoke }).revokeAppPassword = (c) =>
          storage.getGrant(ALICE).pipe(
            Effect.map((g) => storedAtRevoke.push(Option.isSome(g) ? Redacted.value(g.value.appPassword) : null)),
            Effect.orDie,
            Effect.zipRight(revoke(c))
          )
        expect((yield* call(updateScopes, { add_scopes: ["files.read"] })).status).toBe("login_required")
        fake.script(1, { completed: "pw-new" })
        const done = yield* call(checkStatus, {})
        expect(done).toMatchObject({ status: "provisioned", scopes: ["files.read", "notes.read"] })
        expect(fake.revoked.map((c) => c.appPassword)).toEqual(["pw-old"])
        expect(storedAtRevoke).toEqual(["pw-new"])
        expect(Redacted.value((yield* grantOf())?.appPassword ?? Redacted.make(""))).toBe("pw-new")
        expect((yield* eventsOf()).slice(-3)).toEqual(["flow_completed", "grant_stored", "grant_revoked"])
        expect((yield* auditOf()).find((e) => e.event === "grant_revoked")?.detail).toEqual({ reason: "replaced", remote_revoked: true })
      })
    )
  })

  it.effect("not when the flow handed over the very same password", () => {
    const fake = makeFakeNextcloud()
    return run(
      fake,
      Effect.gen(function* () {
        yield* provisioned(fake, "pw-same", ["notes.read"])
        yield* call(updateScopes, { add_scopes: ["files.read"] })
        fake.script(1, { completed: "pw-same" })
        expect((yield* call(checkStatus, {})).status).toBe("provisioned")
        expect(fake.revoked).toEqual([])
        expect((yield* grantOf())?.scopes).toEqual(["files.read", "notes.read"])
      })
    )
  })
})

describe("completion details", () => {
  it.effect("verifies the new password once and stores the Nextcloud user id beside the login name", () => {
    const fake = makeFakeNextcloud()
    return run(
      fake,
      Effect.gen(function* () {
        yield* provisioned(fake, "pw-1")
        expect(fake.whoami.map((c) => [c.loginName, c.appPassword])).toEqual([["alice@example.org", "pw-1"]])
        expect(yield* grantOf()).toMatchObject({ loginName: "alice@example.org", ncUserId: "alice" })
        yield* call(checkStatus, {})
        expect(fake.whoami).toHaveLength(1)
      })
    )
  })

  it.effect("a failed verification still keeps the password (user id unknown)", () => {
    const fake = makeFakeNextcloud()
    fake.state.currentUser = "down"
    return run(
      fake,
      Effect.gen(function* () {
        yield* provisioned(fake, "pw-1")
        expect(yield* grantOf()).toMatchObject({ loginName: "alice@example.org", ncUserId: null })
      })
    )
  })

  it.effect("orphan safety: when storing fails, the just-issued password is revoked at Nextcloud and the error reported", () => {
    const fake = makeFakeNextcloud()
    const storage = failingCompleteFlow(memoryStorage())
    return run(
      fake,
      Effect.gen(function* () {
        yield* call(provisionAccess, {})
        fake.script(0, { completed: "pw-orphan" })
        const error = yield* Effect.flip(call(checkStatus, {}))
        expect(error).toMatchObject({ _tag: "InternalError" })
        expect(JSON.stringify(error)).not.toContain("pw-orphan")
        expect(fake.revoked.map((c) => [c.loginName, c.appPassword])).toEqual([["alice@example.org", "pw-orphan"]])
        expect(yield* grantOf()).toBeNull()
        expect((yield* auditOf()).find((e) => e.event === "orphan_revoked")?.detail).toEqual({ remote_revoked: true })
        expect(fake.whoami).toEqual([])
      }),
      {},
      storage
    )
  })
})

describe("stale passwords", () => {
  it.effect("reportUnauthorized deletes the grant, invalidates the cache and asks to provision again", () => {
    const fake = makeFakeNextcloud()
    return run(
      fake,
      Effect.gen(function* () {
        yield* provisioned(fake, "pw-1", ["notes.read"])
        const provisioning = yield* Provisioning
        const cache = yield* ScopeCache
        const grant = Option.getOrThrow(yield* cache.get(ALICE))
        const error = yield* Effect.flip(provisioning.reportUnauthorized(grant))
        expect(error._tag).toBe("ProvisioningRequired")
        expect(error.message).toContain("nc_auth_provision_access")
        expect(yield* grantOf()).toBeNull()
        expect(Option.isNone(yield* cache.get(ALICE))).toBe(true)
        expect(fake.revoked).toEqual([])
        expect((yield* eventsOf()).at(-1)).toBe("grant_stale")
        expect((yield* call(checkStatus, {})).status).toBe("not_initiated")
      })
    )
  })

  it.effect("a 401 reported for a replaced password does not delete the grant that replaced it", () => {
    const fake = makeFakeNextcloud()
    return run(
      fake,
      Effect.gen(function* () {
        yield* provisioned(fake, "pw-1", ["notes.read"])
        const old = yield* grantOf()
        yield* TestClock.adjust(SECOND)
        yield* call(updateScopes, { add_scopes: ["files.read"] })
        fake.script(1, { completed: "pw-2" })
        yield* call(checkStatus, {})
        const provisioning = yield* Provisioning
        if (old === null) return yield* Effect.die("no grant")
        yield* Effect.flip(provisioning.reportUnauthorized(old))
        expect(Redacted.value((yield* grantOf())?.appPassword ?? Redacted.make(""))).toBe("pw-2")
        expect(yield* eventsOf()).not.toContain("grant_stale")
      })
    )
  })
})

describe("audit", () => {
  it.effect("records the lifecycle without secrets, and scope denials with the missing scopes", () => {
    const fake = makeFakeNextcloud()
    return run(
      fake,
      Effect.gen(function* () {
        yield* provisioned(fake, "pw-secret-1", ["notes.read", "notes.write"])
        yield* call(updateScopes, { remove_scopes: ["notes.write"] })
        const denied = yield* Effect.flip(requireScopes({ tool: "nc_test_tool", scopes: ["files.read"] }).pipe(Effect.provide(requestLayer())))
        expect(denied._tag).toBe("InsufficientScope")
        yield* call(revokeAccess, {})
        const entries = yield* auditOf()
        expect(entries.map((e) => e.event).reverse()).toEqual([
          "flow_started",
          "flow_completed",
          "grant_stored",
          "grant_narrowed",
          "access_denied",
          "grant_revoked"
        ])
        expect(entries.find((e) => e.event === "access_denied")?.detail).toMatchObject({ missing_scopes: ["files.read"] })
        const text = JSON.stringify(entries)
        expect(text).not.toContain("pw-secret-1")
        expect(text).not.toContain("poll-")
        expect(text).not.toContain("/login/v2/flow/")
      })
    )
  })
})
