// Own file: TestClock drives the 20-minute flow deadline.
/**
 * The Provisioning service over real (in-memory, encrypted) SQLite storage and
 * a scripted Nextcloud: flow deadlines, the scope cache, declined logins,
 * transient poll failures, widening and narrowing.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Option, Redacted, TestClock } from "effect"
import { ElicitationCompletions } from "../../src/auth/Elicitation.js"
import { Provisioning } from "../../src/provisioning/Provisioning.js"
import { checkStatus } from "../../src/tools/auth.js"
import { requireScopes } from "../../src/tools/access.js"
import { runTool } from "../../src/tools/run.js"
import {
  alice,
  withServices,
  answering,
  provision,
  loginUrlOf,
  statusNow,
  provisioned,
  storedGrant,
  storedFlow
} from "../support/provisioningHarness.js"

describe("flow deadline", () => {
  it.effect("pending at 19:59.999, expired (not_initiated, expired: true) at 20:00", () =>
    withServices((nc) =>
      Effect.gen(function* () {
        const started = yield* provision(["notes.read"])
        expect(started.status).toBe("login_required")
        yield* TestClock.adjust("1199999 millis")
        const before = yield* statusNow
        expect(before.status).toBe("pending")
        const polls = nc.counts.poll
        expect(polls).toBeGreaterThan(0)

        yield* TestClock.adjust("1 millis")
        expect(yield* statusNow).toEqual({ status: "not_initiated", expired: true })
        // Nextcloud is not asked about a flow past its deadline.
        expect(nc.counts.poll).toBe(polls)

        const viaTool = yield* runTool(checkStatus, {})
        expect(viaTool.isError ?? false).toBe(false)
        expect(viaTool.structuredContent).toMatchObject({ status: "not_initiated", success: true })
        expect(String(viaTool.structuredContent?.["message"])).toMatch(/expired/)

        // A login approved after the deadline does not provision anything.
        nc.grant(loginUrlOf(started))
        expect((yield* statusNow).status).toBe("not_initiated")
        expect(Option.isNone(yield* storedGrant)).toBe(true)
      })
    )
  )

  it.effect("a new provision after expiry starts a fresh flow", () =>
    withServices((nc) =>
      Effect.gen(function* () {
        const first = yield* provision(null)
        yield* TestClock.adjust("20 minutes")
        const second = yield* provision(null)
        expect(loginUrlOf(second)).not.toBe(loginUrlOf(first))
        expect(nc.counts.initiate).toBe(2)
        nc.grant(loginUrlOf(second))
        expect((yield* statusNow).status).toBe("provisioned")
      })
    )
  )
})

describe("scope cache and completion", () => {
  it.effect("a scope check right after completion sees the new grant, without waiting for the TTL", () =>
    withServices((nc) =>
      Effect.gen(function* () {
        // Caches "no grant" for alice.
        const before = yield* Effect.flip(requireScopes({ tool: "nc_test_tool", scopes: ["notes.read"] }))
        expect(before._tag).toBe("ProvisioningRequired")
        const started = yield* provision(["notes.read"])
        nc.grant(loginUrlOf(started))
        expect((yield* statusNow).status).toBe("provisioned")
        const grant = yield* requireScopes({ tool: "nc_test_tool", scopes: ["notes.read"] })
        expect(grant.scopes).toEqual(["notes.read"])
        const lacking = yield* Effect.flip(requireScopes({ tool: "nc_test_tool", scopes: ["notes.write"] }))
        expect(lacking).toMatchObject({ _tag: "InsufficientScope", missing_scopes: ["notes.write"] })
      })
    )
  )

  it.effect("an accepted URL elicitation is told when the login completes", () =>
    withServices((nc) =>
      Effect.gen(function* () {
        const completions = yield* ElicitationCompletions
        let notified = 0
        yield* completions.register("el-1", Effect.sync(() => void notified++))
        const started = yield* provision(null).pipe(answering("accepted", "el-1"))
        expect(started.status).toBe("pending")
        expect(notified).toBe(0)
        nc.grant(loginUrlOf(started))
        expect((yield* statusNow).status).toBe("provisioned")
        expect(notified).toBe(1)
      })
    )
  )
})

describe("declined and cancelled logins", () => {
  for (const [outcome, tag] of [
    ["declined", "LoginDeclined"],
    ["cancelled", "LoginCancelled"]
  ] as const) {
    it.effect(`${outcome}: the flow is removed and nothing is pending`, () =>
      withServices(() =>
        Effect.gen(function* () {
          const error = yield* Effect.flip(provision(["notes.read"]).pipe(answering(outcome)))
          expect(error._tag).toBe(tag)
          expect(Option.isNone(yield* storedFlow)).toBe(true)
          expect(yield* statusNow).toEqual({ status: "not_initiated", expired: false })
        })
      )
    )

    it.effect(`${outcome} while widening: the new flow goes, the current grant stays`, () =>
      withServices((nc) =>
        Effect.gen(function* () {
          yield* provisioned(nc, ["notes.read"])
          const p = yield* Provisioning
          const error = yield* Effect.flip(p.updateScopes(alice, ["files.read"], []).pipe(answering(outcome)))
          expect(error._tag).toBe(tag)
          expect(Option.isNone(yield* storedFlow)).toBe(true)
          const status = yield* statusNow
          expect(status.status === "provisioned" && status.grant.scopes).toEqual(["notes.read"])
          expect(nc.revoked).toEqual([])
        })
      )
    )
  }
})

describe("transient poll failures", () => {
  for (const [fault, tag] of [
    ["timeout", "NextcloudUnreachable"],
    ["unreachable", "NextcloudUnreachable"],
    ["502", "NextcloudError"],
    ["malformed", "NextcloudError"]
  ] as const) {
    it.effect(`${fault} keeps the flow pending; the next poll completes it`, () =>
      withServices((nc) =>
        Effect.gen(function* () {
          const started = yield* provision(null)
          nc.grant(loginUrlOf(started))
          nc.failPolls(fault, 2)
          for (let i = 0; i < 2; i++) {
            const exit = yield* Effect.exit(statusNow)
            expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag).toBe(tag)
            expect(Option.isSome(yield* storedFlow)).toBe(true)
          }
          const done = yield* statusNow
          expect(done.status === "provisioned" && done.justCompleted).toBe(true)
          expect(Option.isNone(yield* storedFlow)).toBe(true)
        })
      )
    )
  }

  it.effect("a failure just before the deadline is not mistaken for expiry", () =>
    withServices((nc) =>
      Effect.gen(function* () {
        yield* provision(null)
        yield* TestClock.adjust("19 minutes")
        nc.failPolls("502")
        yield* Effect.exit(statusNow)
        expect((yield* statusNow).status).toBe("pending")
      })
    )
  )
})

describe("changing scopes", () => {
  it.effect("widening needs a login; on completion the new password replaces the old, which is revoked", () =>
    withServices((nc) =>
      Effect.gen(function* () {
        const oldPassword = yield* provisioned(nc, ["notes.read"])
        const p = yield* Provisioning
        const widened = yield* p.updateScopes(alice, ["calendar.read"], [])
        expect(widened).toMatchObject({
          status: "login_required",
          previous: ["notes.read"],
          next: ["calendar.read", "notes.read"]
        })
        // The current grant stays in force meanwhile.
        const meanwhile = yield* statusNow
        expect(meanwhile.status === "provisioned" && meanwhile.grant.scopes).toEqual(["notes.read"])
        expect(Exit.isFailure(yield* Effect.exit(requireScopes({ tool: "nc_test_tool", scopes: ["calendar.read"] })))).toBe(true)
        expect(nc.revoked).toEqual([])

        const newPassword = nc.grant(loginUrlOf(widened))
        const after = yield* statusNow
        expect(after.status === "provisioned" && after.grant.scopes).toEqual(["calendar.read", "notes.read"])
        const stored = yield* storedGrant
        expect(Option.map(stored, (g) => Redacted.value(g.appPassword))).toEqual(Option.some(newPassword))
        expect(nc.revoked).toEqual([oldPassword])
        // Visible to scope checks at once.
        expect((yield* requireScopes({ tool: "nc_test_tool", scopes: ["calendar.read"] })).scopes).toEqual(["calendar.read", "notes.read"])
      })
    )
  )

  it.effect("narrowing takes effect at once, with no login and no new password", () =>
    withServices((nc) =>
      Effect.gen(function* () {
        yield* provisioned(nc, ["files.read", "notes.read", "notes.write"])
        // Warm the cache with the wide grant.
        yield* requireScopes({ tool: "nc_test_tool", scopes: ["notes.write"] })
        const initiated = nc.counts.initiate
        const p = yield* Provisioning
        const narrowed = yield* p.updateScopes(alice, [], ["notes.write"])
        expect(narrowed).toEqual({
          status: "updated",
          previous: ["files.read", "notes.read", "notes.write"],
          next: ["files.read", "notes.read"]
        })
        expect(nc.counts.initiate).toBe(initiated)
        expect(Option.map(yield* storedGrant, (g) => g.scopes)).toEqual(Option.some(["files.read", "notes.read"]))
        const denied = yield* Effect.flip(requireScopes({ tool: "nc_test_tool", scopes: ["notes.write"] }))
        expect(denied).toMatchObject({ _tag: "InsufficientScope", missing_scopes: ["notes.write"] })
        expect(nc.revoked).toEqual([])
      })
    )
  )

  it.effect("narrowing an unrestricted grant lists the remaining scopes", () =>
    withServices((nc) =>
      Effect.gen(function* () {
        yield* provisioned(nc, null)
        const p = yield* Provisioning
        const narrowed = yield* p.updateScopes(alice, [], ["news.write"])
        expect(narrowed.status).toBe("updated")
        expect(narrowed.next).toHaveLength(19)
        expect(narrowed.next).not.toContain("news.write")
      })
    )
  )

  it.effect("removing and adding at once: the removal applies now, the addition after the login", () =>
    withServices((nc) =>
      Effect.gen(function* () {
        yield* provisioned(nc, ["notes.read", "notes.write"])
        const p = yield* Provisioning
        const changed = yield* p.updateScopes(alice, ["files.read"], ["notes.write"])
        expect(changed).toMatchObject({
          status: "login_required",
          interim: ["notes.read"],
          next: ["files.read", "notes.read"]
        })
        expect(Exit.isFailure(yield* Effect.exit(requireScopes({ tool: "nc_test_tool", scopes: ["notes.write"] })))).toBe(true)
        nc.grant(loginUrlOf(changed))
        yield* statusNow
        expect((yield* requireScopes({ tool: "nc_test_tool", scopes: ["files.read"] })).scopes).toEqual(["files.read", "notes.read"])
      })
    )
  )

  it.effect("adding back a scope that is also removed keeps it: what is stored is what is reported", () =>
    withServices((nc) =>
      Effect.gen(function* () {
        yield* provisioned(nc, ["files.read", "notes.read", "notes.write"])
        const initiated = nc.counts.initiate
        const p = yield* Provisioning
        const changed = yield* p.updateScopes(alice, ["notes.write"], ["files.read", "notes.write"])
        expect(changed).toEqual({
          status: "updated",
          previous: ["files.read", "notes.read", "notes.write"],
          next: ["notes.read", "notes.write"]
        })
        expect(nc.counts.initiate).toBe(initiated)
        expect(Option.map(yield* storedGrant, (g) => g.scopes)).toEqual(Option.some(["notes.read", "notes.write"]))
        expect((yield* requireScopes({ tool: "nc_test_tool", scopes: ["notes.write"] })).scopes).toEqual(["notes.read", "notes.write"])
      })
    )
  )

  it.effect("removing every scope is refused", () =>
    withServices((nc) =>
      Effect.gen(function* () {
        yield* provisioned(nc, ["notes.read"])
        const p = yield* Provisioning
        const error = yield* Effect.flip(p.updateScopes(alice, [], ["notes.read"]))
        expect(error._tag).toBe("InvalidScopes")
        expect((yield* requireScopes({ tool: "nc_test_tool", scopes: ["notes.read"] })).scopes).toEqual(["notes.read"])
      })
    )
  )
})

describe("a login followed as a task", () => {
  const loginState = (createdAt: number, expiresAt: number) => Effect.flatMap(Provisioning, (p) => p.loginState(alice, createdAt, expiresAt))
  const pending = Effect.flatMap(Provisioning, (p) => p.pendingLogin(alice)).pipe(Effect.map(Option.getOrThrow))
  const answer = (createdAt: number, a: "accept" | "decline" | "cancel") => Effect.flatMap(Provisioning, (p) => p.answerLogin(alice, createdAt, a))

  it.effect("pending (answered once accepted) until 19:59.999, gone at the flow's 20 minutes", () =>
    withServices(() =>
      Effect.gen(function* () {
        yield* provision(["notes.read"])
        const flow = yield* pending
        expect(flow.expiresAt - flow.createdAt).toBe(20 * 60_000)
        expect(yield* loginState(flow.createdAt, flow.expiresAt)).toMatchObject({ _tag: "Pending", answered: false })
        yield* answer(flow.createdAt, "accept")
        expect(yield* loginState(flow.createdAt, flow.expiresAt)).toMatchObject({ _tag: "Pending", answered: true })
        yield* TestClock.adjust("1199999 millis")
        expect((yield* loginState(flow.createdAt, flow.expiresAt))._tag).toBe("Pending")
        yield* TestClock.adjust("1 millis")
        expect((yield* loginState(flow.createdAt, flow.expiresAt))._tag).toBe("Expired")
      })
    )
  )

  it.effect("completed once the password is stored; a declined or cancelled login ends it, and an answer for an older login changes nothing", () =>
    withServices((nc) =>
      Effect.gen(function* () {
        yield* provision(["notes.read"])
        const first = yield* pending
        yield* answer(first.createdAt, "decline")
        expect((yield* loginState(first.createdAt, first.expiresAt))._tag).toBe("Ended")
        expect(Option.isNone(yield* storedFlow)).toBe(true)

        yield* TestClock.adjust("1 second")
        const again = yield* provision(["notes.read"])
        const second = yield* pending
        // An answer naming the first login leaves the second alone.
        yield* answer(first.createdAt, "cancel")
        expect((yield* loginState(second.createdAt, second.expiresAt))._tag).toBe("Pending")
        nc.grant(loginUrlOf(again))
        expect((yield* statusNow).status).toBe("provisioned")
        expect((yield* loginState(second.createdAt, second.expiresAt))._tag).toBe("Completed")
        // The declined login's task now reads as completed too: the wait for access it stood for is over (a grant at least as new).
        expect((yield* loginState(first.createdAt, first.expiresAt))._tag).toBe("Completed")
      })
    )
  )
})
