// Own file: TestClock drives the TTL.
/**
 * StoredFlows: what `nc_auth_check_status` reads of a user's login. A user
 * with none is answered from memory after one lookup; storing a flow here,
 * another process's announcement, a reset of the announcements and the TTL
 * each make the next read go to storage again; a lookup that raced any of
 * them does not remember what it read. A property test plays random
 * sequences of those against a storage the test owns.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, FastCheck, Layer, Option, Ref, TestClock } from "effect"
import { ScopeCache } from "../../src/auth/ScopeCache.js"
import { UserId } from "../../src/domain/Ids.js"
import { StoredFlows } from "../../src/provisioning/StoredFlows.js"
import { type GrantChangeHandlers, GrantChanges } from "../../src/storage/GrantChanges.js"
import type { PendingFlow } from "../../src/storage/Storage.js"
import { flow } from "../storage/fixtures.js"
import { fakeStorage } from "../support/fakes.js"

const alice = UserId.make("alice")
const bob = UserId.make("bob")
const TTL = ScopeCache.DEFAULT_TTL

/**
 * A storage of flows the test owns (`write`/`remove` act as another process
 * would, without telling this one), counting `getFlow` per user, and grant
 * changes whose announcements the test makes and whose publishes it sees.
 */
const setup = (options: { readonly capacity?: number; readonly duringLookup?: Effect.Effect<void> } = {}) =>
  Effect.gen(function* () {
    const flows = yield* Ref.make(new Map<UserId, PendingFlow>())
    const lookups = yield* Ref.make(new Map<UserId, number>())
    const published = yield* Ref.make<ReadonlyArray<UserId>>([])
    const subscribers = yield* Ref.make<ReadonlyArray<GrantChangeHandlers>>([])
    const duringLookup = yield* Ref.make(options.duringLookup ?? Effect.void)
    const storage = fakeStorage({
      getFlow: (userId) =>
        Effect.gen(function* () {
          yield* Ref.update(lookups, (m) => new Map(m).set(userId, (m.get(userId) ?? 0) + 1))
          const read = Option.fromNullable((yield* Ref.get(flows)).get(userId))
          // Whatever the test slips in between the read and its answer (once).
          yield* Effect.flatten(Ref.getAndSet(duringLookup, Effect.void))
          return read
        }),
      putFlow: (f) => Ref.update(flows, (m) => new Map(m).set(f.userId, f)),
      getGrant: () => Effect.succeedNone
    })
    const changes = Layer.succeed(GrantChanges, {
      publish: (userId) => Ref.update(published, (all) => [...all, userId]),
      subscribe: (handlers) => Ref.update(subscribers, (all) => [...all, handlers])
    })
    const ctx = yield* Layer.build(
      StoredFlows.layer(options.capacity === undefined ? {} : { capacity: options.capacity }).pipe(
        Layer.provideMerge(ScopeCache.layer().pipe(Layer.provide(changes))),
        Layer.provide(Layer.merge(storage, changes))
      )
    )
    const stored = Context.get(ctx, StoredFlows)
    /** Let the forked listener hear what was announced. */
    const heard = TestClock.adjust(0)
    return {
      stored,
      lookups: (userId: UserId) => Effect.map(Ref.get(lookups), (m) => m.get(userId) ?? 0),
      published: Ref.get(published),
      write: (f: PendingFlow) => Ref.update(flows, (m) => new Map(m).set(f.userId, f)),
      remove: (userId: UserId) => Ref.update(flows, (m) => { const next = new Map(m); next.delete(userId); return next }),
      truth: (userId: UserId) => Effect.map(Ref.get(flows), (m) => Option.fromNullable(m.get(userId))),
      announce: (userId: UserId) =>
        Effect.flatMap(Ref.get(subscribers), (all) => Effect.forEach(all, (h) => h.onChange(userId), { discard: true })).pipe(
          Effect.zipRight(heard)
        ),
      reset: Effect.flatMap(Ref.get(subscribers), (all) => Effect.forEach(all, (h) => h.onReset, { discard: true })).pipe(
        Effect.zipRight(heard)
      ),
      createdAtOf: (userId: UserId) => stored.get(userId).pipe(Effect.map(Option.match({ onNone: () => null, onSome: (f) => f.createdAt })))
    }
  })

describe("StoredFlows", () => {
  it.scoped("a user with no login is read from storage once; a flow stored here is seen at once and announced", () =>
    Effect.gen(function* () {
      const t = yield* setup()
      for (let i = 0; i < 5; i++) expect(yield* t.createdAtOf(alice)).toBeNull()
      expect(yield* t.lookups(alice)).toBe(1)
      yield* t.stored.put(flow(alice, { createdAt: 7 }))
      expect(yield* t.createdAtOf(alice)).toBe(7)
      expect(yield* t.published).toEqual([alice])
      // A flow itself is never remembered: every read of it goes to storage.
      expect(yield* t.createdAtOf(alice)).toBe(7)
      expect(yield* t.lookups(alice)).toBe(3)
    }))

  it.scoped("a login stored by another process is seen once that process's announcement is heard", () =>
    Effect.gen(function* () {
      const t = yield* setup()
      expect(yield* t.createdAtOf(alice)).toBeNull()
      expect(yield* t.createdAtOf(bob)).toBeNull()
      yield* t.write(flow(alice, { createdAt: 3 }))
      // Not announced yet: the memory answers (this is what the announcement is for).
      expect(yield* t.createdAtOf(alice)).toBeNull()
      yield* t.announce(alice)
      expect(yield* t.createdAtOf(alice)).toBe(3)
      // Only that user was dropped.
      expect(yield* t.createdAtOf(bob)).toBeNull()
      expect(yield* t.lookups(bob)).toBe(1)
    }))

  it.scoped("a reset of the announcements drops every user", () =>
    Effect.gen(function* () {
      const t = yield* setup()
      expect(yield* t.createdAtOf(alice)).toBeNull()
      expect(yield* t.createdAtOf(bob)).toBeNull()
      yield* t.write(flow(alice, { createdAt: 1 }))
      yield* t.write(flow(bob, { createdAt: 2 }))
      yield* t.reset
      expect(yield* t.createdAtOf(alice)).toBe(1)
      expect(yield* t.createdAtOf(bob)).toBe(2)
    }))

  it.scoped("a missed announcement lasts no longer than the TTL", () =>
    Effect.gen(function* () {
      const t = yield* setup()
      expect(yield* t.createdAtOf(alice)).toBeNull()
      yield* t.write(flow(alice, { createdAt: 5 }))
      yield* TestClock.adjust(Duration.subtract(TTL, Duration.millis(1)))
      expect(yield* t.createdAtOf(alice)).toBeNull()
      yield* TestClock.adjust(Duration.millis(1))
      expect(yield* t.createdAtOf(alice)).toBe(5)
    }))

  it.scoped("a lookup that raced a stored flow does not remember the absence it read", () =>
    Effect.gen(function* () {
      const slipIn = yield* Ref.make<Effect.Effect<void>>(Effect.void)
      const t = yield* setup({ duringLookup: Effect.flatten(Ref.get(slipIn)) })
      // Alice's lookup reads "none"; before it answers, another process stores her flow and is heard.
      yield* Ref.set(slipIn, Effect.suspend(() => Effect.zipRight(t.write(flow(alice, { createdAt: 9 })), t.announce(alice))))
      expect(yield* t.createdAtOf(alice)).toBeNull()
      expect(yield* t.createdAtOf(alice)).toBe(9)
    }))

  it.scoped("remembers at most `capacity` users, dropping the oldest first", () =>
    Effect.gen(function* () {
      const t = yield* setup({ capacity: 2 })
      const carol = UserId.make("carol")
      for (const user of [alice, bob, carol]) yield* t.createdAtOf(user)
      for (const user of [bob, carol, alice]) yield* t.createdAtOf(user)
      expect([yield* t.lookups(alice), yield* t.lookups(bob), yield* t.lookups(carol)]).toEqual([2, 1, 1])
    }))

  /**
   * Any sequence of reads, flows stored here, flows stored or removed by
   * another process (announced, as every process does when it stores one),
   * resets and time passing: every read answers what storage holds.
   */
  it.effect.prop(
    "every read answers what storage holds, whatever the order of stores, announcements, removals and resets",
    [
      FastCheck.array(
        FastCheck.oneof(
          FastCheck.record({ op: FastCheck.constant("read" as const), user: FastCheck.constantFrom(alice, bob) }),
          FastCheck.record({ op: FastCheck.constant("put" as const), user: FastCheck.constantFrom(alice, bob) }),
          FastCheck.record({ op: FastCheck.constant("elsewhere" as const), user: FastCheck.constantFrom(alice, bob) }),
          FastCheck.record({ op: FastCheck.constant("remove" as const), user: FastCheck.constantFrom(alice, bob) }),
          FastCheck.record({ op: FastCheck.constant("reset" as const) }),
          FastCheck.record({ op: FastCheck.constant("wait" as const), minutes: FastCheck.integer({ min: 0, max: 7 }) })
        ),
        { maxLength: 40 }
      )
    ],
    ([ops]) =>
      Effect.gen(function* () {
        const t = yield* setup()
        let next = 1
        for (const step of ops) {
          switch (step.op) {
            case "read":
              expect(Option.map(yield* t.stored.get(step.user), (f) => f.createdAt)).toEqual(
                Option.map(yield* t.truth(step.user), (f) => f.createdAt)
              )
              break
            case "put":
              yield* t.stored.put(flow(step.user, { createdAt: next++ }))
              break
            case "elsewhere":
              yield* t.write(flow(step.user, { createdAt: next++ }))
              yield* t.announce(step.user)
              break
            case "remove":
              yield* t.remove(step.user)
              break
            case "reset":
              yield* t.reset
              break
            case "wait":
              yield* TestClock.adjust(Duration.minutes(step.minutes))
              break
          }
        }
      }).pipe(Effect.scoped),
    { fastCheck: { numRuns: 150 } }
  )
})
