/**
 * Per-user locks: one holder per user at a time, users independent, and a
 * user's lock gone once nobody holds or awaits it — also when a holder fails
 * or a waiter is interrupted.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber } from "effect"
import { UserId } from "../../src/domain/Ids.js"
import { makeUserLocks } from "../../src/provisioning/UserLocks.js"

const alice = UserId.make("alice")
const bob = UserId.make("bob")

describe("UserLocks", () => {
  it.scoped("one holder per user; another user is not held up", () =>
    Effect.gen(function* () {
      const locks = yield* makeUserLocks
      const release = yield* Deferred.make<void>()
      const held = yield* Deferred.make<void>()
      const events: Array<string> = []
      const first = yield* Effect.fork(
        locks.withLock(alice, Effect.zipRight(Deferred.succeed(held, undefined), Deferred.await(release)))
      )
      yield* Deferred.await(held)
      const second = yield* Effect.fork(locks.withLock(alice, Effect.sync(() => events.push("alice again"))))
      yield* locks.withLock(bob, Effect.sync(() => events.push("bob")))
      yield* Effect.yieldNow()
      expect(events).toEqual(["bob"])
      expect([...(yield* locks.active)]).toEqual([alice])
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(first)
      yield* Fiber.join(second)
      expect(events).toEqual(["bob", "alice again"])
      expect(yield* locks.active).toEqual([])
    }))

  it.scoped("a failing holder and an interrupted waiter leave nothing behind", () =>
    Effect.gen(function* () {
      const locks = yield* makeUserLocks
      const failed = yield* Effect.exit(locks.withLock(alice, Effect.fail("boom")))
      expect(Exit.isFailure(failed)).toBe(true)
      expect(yield* locks.active).toEqual([])

      const release = yield* Deferred.make<void>()
      const held = yield* Deferred.make<void>()
      const holder = yield* Effect.fork(
        locks.withLock(alice, Effect.zipRight(Deferred.succeed(held, undefined), Deferred.await(release)))
      )
      yield* Deferred.await(held)
      const waiter = yield* Effect.fork(locks.withLock(alice, Effect.void))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(waiter)
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(holder)
      expect(yield* locks.active).toEqual([])
      // And the lock still works.
      expect(yield* locks.withLock(alice, Effect.succeed("again"))).toBe("again")
    }))

  it.scoped("the caller's own scope is left alone", () =>
    Effect.gen(function* () {
      const locks = yield* makeUserLocks
      const finalized: Array<string> = []
      yield* locks.withLock(alice, Effect.addFinalizer(() => Effect.sync(() => finalized.push("caller's"))))
      expect(finalized).toEqual([])
    }))
})
