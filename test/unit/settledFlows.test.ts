// Own file: TestClock.
/**
 * Settled-flow signals: a waiter wakes when its user's flow settles (not
 * another user's), returns at once when nothing is pending, and wakes on a
 * grant change announced by another process — heard through the scope
 * cache's one subscription, after the cache has dropped the old grant. In
 * the application's layer graph that subscription is the only one.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Fiber, Layer, Option, Ref, TestClock } from "effect"
import { type GrantChangeHandlers, GrantChanges } from "../../src/storage/GrantChanges.js"
import { ScopeCache } from "../../src/auth/ScopeCache.js"
import { coreLayer } from "../../src/app.js"
import { UserId } from "../../src/domain/Ids.js"
import { Notes } from "../../src/apps/notes/Client.js"
import { WebDav } from "../../src/apps/files/Client.js"
import { Provisioning } from "../../src/provisioning/Provisioning.js"
import { ProvisioningConfig } from "../../src/provisioning/ProvisioningConfig.js"
import { SettledFlows } from "../../src/provisioning/SettledFlows.js"
import { type PendingFlow, Storage } from "../../src/storage/Storage.js"
import { makeFakeNextcloud } from "../support/fakeNextcloud.js"
import { fakeStorage } from "../support/fakes.js"
import { memoryStorage, requestLayer } from "../support/lifecycle.js"
import { flow } from "../storage/fixtures.js"

const alice = UserId.make("alice")
const bob = UserId.make("bob")
const MINUTE = Duration.minutes(1)
const noTicks = () => Effect.void

/** What a waiter answered, if it has by now (under TestClock a missed wake-up would otherwise hang). */
const answered = <A, E>(fiber: Fiber.Fiber<A, E>) =>
  Effect.zipRight(TestClock.adjust(0), Fiber.poll(fiber)).pipe(
    Effect.flatMap(
      Option.match({
        onNone: (): Effect.Effect<A | "still waiting", E> => Effect.succeed("still waiting" as const),
        onSome: (exit): Effect.Effect<A | "still waiting", E> => exit
      })
    )
  )

/** Grant changes whose subscriptions the test counts and whose announcements it makes. */
const scriptedChanges = Effect.map(Ref.make<ReadonlyArray<GrantChangeHandlers>>([]), (subscribers) => ({
  subscribers: Ref.get(subscribers),
  layer: Layer.succeed(GrantChanges, {
    publish: () => Effect.void,
    subscribe: (handlers) => Ref.update(subscribers, (all) => [...all, handlers])
  }),
  /** Another process changed the user's grant. */
  announce: (userId: UserId) =>
    Effect.flatMap(Ref.get(subscribers), (all) => Effect.forEach(all, (h) => h.onChange(userId), { discard: true })),
  /** The announcements were interrupted: some may have been missed. */
  reset: Effect.flatMap(Ref.get(subscribers), (all) => Effect.forEach(all, (h) => h.onReset, { discard: true }))
}))

/**
 * Storage holding one pending flow per user (created at 0, due at 20
 * minutes) until the test ends it, counting grant lookups.
 */
const storageWithFlows = Effect.map(Effect.all([Ref.make(0), Ref.make<ReadonlySet<UserId>>(new Set())]), ([lookups, ended]) => ({
  lookups: Ref.get(lookups),
  /** The user's flow completed (or went otherwise): it is no longer stored. */
  end: (userId: UserId) => Ref.update(ended, (users) => new Set([...users, userId])),
  layer: fakeStorage({
    getFlow: (userId) =>
      Effect.map(Ref.get(ended), (users) =>
        users.has(userId) ? Option.none() : Option.some<PendingFlow>(flow(userId, { createdAt: 0 }))
      ),
    getGrant: () => Effect.as(Ref.update(lookups, (n) => n + 1), Option.none())
  })
}))

const signalsOver = (storage: Layer.Layer<Storage>, changes: Layer.Layer<GrantChanges>) =>
  Layer.build(
    SettledFlows.layer.pipe(Layer.provideMerge(ScopeCache.layer().pipe(Layer.provide(changes))), Layer.provide(storage))
  ).pipe(Effect.map((ctx) => ({ signals: Context.get(ctx, SettledFlows), cache: Context.get(ctx, ScopeCache) })))

/** Alice and Bob each wait for their pending login; a second later Alice's ends in storage, with nothing told yet. */
const aliceEndedWhileBothWait = Effect.gen(function* () {
  const changes = yield* scriptedChanges
  const storage = yield* storageWithFlows
  const { signals } = yield* signalsOver(storage.layer, changes.layer)
  const forAlice = yield* Effect.fork(signals.awaitSettled(alice, MINUTE, noTicks))
  const forBob = yield* Effect.fork(signals.awaitSettled(bob, MINUTE, noTicks))
  yield* TestClock.adjust(Duration.seconds(1))
  yield* storage.end(alice)
  return { changes, signals, forAlice, forBob }
})

describe("SettledFlows", () => {
  it.scoped("settling a user's flow wakes that user's waiters only", () =>
    Effect.gen(function* () {
      const { forAlice, forBob, signals } = yield* aliceEndedWhileBothWait
      yield* signals.settle(alice)
      expect(yield* answered(forAlice)).toBe(true)
      expect(Option.isNone(yield* Fiber.poll(forBob))).toBe(true)
      yield* TestClock.adjust(MINUTE)
      expect(yield* Fiber.join(forBob)).toBe(false)
    }))

  it.scoped("nothing pending, or past its deadline: settled at once", () =>
    Effect.gen(function* () {
      const changes = yield* scriptedChanges
      const none = fakeStorage({ getFlow: () => Effect.succeed(Option.none()) })
      const { signals } = yield* signalsOver(none, changes.layer)
      expect(yield* signals.awaitSettled(alice, MINUTE, noTicks)).toBe(true)
      const storage = yield* storageWithFlows
      const late = yield* signalsOver(storage.layer, changes.layer)
      yield* TestClock.adjust(Duration.minutes(20))
      expect(yield* late.signals.awaitSettled(alice, MINUTE, noTicks)).toBe(true)
    }))

  it.scoped("a grant change from another process wakes the waiter, which then reads the new grant", () =>
    Effect.gen(function* () {
      const changes = yield* scriptedChanges
      const storage = yield* storageWithFlows
      const { cache, signals } = yield* signalsOver(storage.layer, changes.layer)
      yield* cache.get(alice)
      const waiting = yield* Effect.fork(
        signals.awaitSettled(alice, MINUTE, noTicks).pipe(Effect.zipLeft(cache.get(alice)))
      )
      yield* TestClock.adjust(Duration.seconds(1))
      const before = yield* storage.lookups
      yield* storage.end(alice)
      yield* changes.announce(alice)
      expect(yield* answered(waiting)).toBe(true)
      expect(yield* storage.lookups).toBe(before + 1)
      // One subscription serves the cache and the signals.
      expect(yield* changes.subscribers).toHaveLength(1)
    }))

  it.scoped("announcements that may have been missed (a reset) wake every waiter, each of whom goes on waiting if still pending", () =>
    Effect.gen(function* () {
      // Alice's login ended in another process, whose announcement was lost.
      const { changes, forAlice, forBob } = yield* aliceEndedWhileBothWait
      yield* changes.reset
      expect(yield* answered(forAlice)).toBe(true)
      expect(yield* answered(forBob)).toBe("still waiting")
    }))

  it.scoped("a signal that leaves the awaited flow pending (this process's own change echoed back, a narrowing) does not end the wait", () =>
    Effect.gen(function* () {
      const changes = yield* scriptedChanges
      const storage = yield* storageWithFlows
      const { signals } = yield* signalsOver(storage.layer, changes.layer)
      const waiting = yield* Effect.fork(signals.awaitSettled(alice, MINUTE, noTicks))
      yield* TestClock.adjust(Duration.seconds(1))
      yield* changes.announce(alice)
      yield* signals.settle(alice)
      expect(yield* answered(waiting)).toBe("still waiting")
      yield* storage.end(alice)
      yield* signals.settle(alice)
      expect(yield* answered(waiting)).toBe(true)
    }))
})

describe("the application's layer graph", () => {
  it.scoped("follows grant changes with one subscription, which also wakes a waiting check_status", () =>
    Effect.gen(function* () {
      const changes = yield* scriptedChanges
      const nc = makeFakeNextcloud()
      const app = coreLayer({
        storage: memoryStorage(),
        grantChanges: changes.layer,
        nextcloud: Layer.mergeAll(nc.layer, Layer.mock(Notes, {}), Layer.mock(WebDav, {})),
        provisioning: ProvisioningConfig.layer(),
        poller: false
      })
      const ctx = yield* Layer.build(app)
      const provisioning = Context.get(ctx, Provisioning)
      expect(yield* changes.subscribers).toHaveLength(1)
      yield* provisioning.provision(alice, null).pipe(Effect.provide(requestLayer()))
      const waiting = yield* Effect.fork(provisioning.awaitCompletion(alice, MINUTE, noTicks))
      yield* TestClock.adjust(Duration.seconds(1))
      // What another process completing the flow leaves: no flow, and a grant change.
      yield* Effect.flatMap(Storage, (s) => s.deleteFlow(alice)).pipe(Effect.provide(ctx))
      yield* changes.announce(alice)
      expect(yield* answered(waiting)).toBe(true)
    }))
})
