/**
 * A client waiting in `nc_auth_check_status` hears of the approval within
 * about a second: while anyone waits, the user's flow is polled once a
 * second, by one poller however many wait, through the user's lock, so the
 * one-shot answer is taken once even with the background poller running.
 * Nobody waiting, nothing extra is polled.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option, TestClock } from "effect"
import { makePoller } from "../../src/provisioning/Poller.js"
import { Storage } from "../../src/storage/Storage.js"
import { checkStatus } from "../../src/tools/auth.js"
import { makeFakeNextcloud } from "../support/fakeNextcloud.js"
import { alice, loginUrlOf, provision, servicesFor, storedGrant } from "../support/provisioningHarness.js"

const waitFor = (seconds: number) => checkStatus.handler({ wait_seconds: seconds }, { tool: checkStatus.name })

/** The answer a waiter must have given by now (under TestClock a missed wake-up would otherwise hang). */
const answered = <A, E>(fiber: Fiber.Fiber<A, E>) =>
  Effect.zipRight(TestClock.adjust(0), Fiber.poll(fiber)).pipe(
    Effect.flatMap(Option.match({ onNone: () => Effect.dieMessage("still waiting"), onSome: (exit) => exit }))
  )

const stillWaiting = <A, E>(fiber: Fiber.Fiber<A, E>) =>
  Effect.zipRight(TestClock.adjust(0), Fiber.poll(fiber)).pipe(Effect.map(Option.isNone))

describe("polling while a client waits", () => {
  it.effect("the approval is seen within a second, without the background poller", () => {
    const nc = makeFakeNextcloud()
    return Effect.gen(function* () {
      const started = yield* provision(["notes.read"])
      const waiting = yield* Effect.fork(waitFor(60))
      yield* TestClock.adjust("3 seconds")
      expect(yield* stillWaiting(waiting)).toBe(true)
      nc.grant(loginUrlOf(started))
      yield* TestClock.adjust("1 second")
      const answer = yield* answered(waiting)
      expect(answer).toMatchObject({ status: "provisioned" })
      expect(answer.message).toContain("provisioned successfully")
    }).pipe(Effect.provide(servicesFor(nc)))
  })

  it.effect("several waiters share one poller, and it stops when the last stops waiting", () => {
    const nc = makeFakeNextcloud()
    return Effect.gen(function* () {
      yield* provision(["notes.read"])
      const waiters = yield* Effect.forEach([10, 10, 30], (s) => Effect.fork(waitFor(s)))
      yield* TestClock.adjust(0)
      // Each call polls once on arrival; then one poll a second for all of them.
      expect(nc.counts.poll).toBe(3)
      yield* TestClock.adjust("5 seconds")
      expect(nc.counts.poll).toBe(3 + 5)
      yield* TestClock.adjust("5 seconds")
      // Two waiters gave up at 10 s (each polled once more for its answer); one still waits.
      for (const w of waiters.slice(0, 2)) expect((yield* answered(w)).status).toBe("pending")
      expect(nc.counts.poll).toBe(3 + 10 + 2)
      yield* TestClock.adjust("4 seconds")
      expect(nc.counts.poll).toBe(3 + 10 + 2 + 4)
      yield* TestClock.adjust("16 seconds")
      expect((yield* answered(waiters[2]!)).status).toBe("pending")
      const afterAll = nc.counts.poll
      yield* TestClock.adjust("1 minute")
      expect(nc.counts.poll).toBe(afterAll)
    }).pipe(Effect.provide(servicesFor(nc)))
  })

  it.effect("with the background poller polling too, the one-shot answer is taken once", () => {
    const nc = makeFakeNextcloud()
    return Effect.gen(function* () {
      yield* makePoller
      const started = yield* provision(["notes.read"])
      const waiters = yield* Effect.forEach([60, 60], () => Effect.fork(waitFor(60)))
      yield* TestClock.adjust("2500 millis")
      nc.grant(loginUrlOf(started))
      yield* TestClock.adjust("1 second")
      for (const w of waiters) expect((yield* answered(w)).status).toBe("provisioned")
      const log = yield* Effect.flatMap(Storage, (s) => s.auditLog(alice, 100))
      expect(log.filter((e) => e.event === "flow_completed")).toHaveLength(1)
      expect(nc.revoked).toEqual([])
      expect(Option.isSome(yield* storedGrant)).toBe(true)
    }).pipe(Effect.scoped, Effect.provide(servicesFor(nc)))
  })
})
