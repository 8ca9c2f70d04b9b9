// Own file: TestClock drives the TTL (see the note on `excludeTestServices` in the conventions).
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Option, Redacted, Ref, TestClock } from "effect"
import { ScopeCache } from "../../src/auth/ScopeCache.js"
import { UserId } from "../../src/domain/Ids.js"
import type { Scope } from "../../src/domain/Scope.js"
import { type Grant, StorageError } from "../../src/storage/Storage.js"
import { fakeStorage } from "../support/fakes.js"

const alice = UserId.make("alice")
const bob = UserId.make("bob")

const grantOf = (userId: UserId, scopes: ReadonlyArray<Scope> | null): Grant => ({
  userId,
  loginName: userId,
  ncUserId: null,
  appPassword: Redacted.make(`pw-${userId}`),
  scopes,
  createdAt: 0,
  updatedAt: 0
})

/**
 * A storage whose grants and failure switch the test controls, counting
 * `getGrant` calls per user. Everything else the cache must not touch.
 */
const setup = Effect.gen(function* () {
  const grants = yield* Ref.make(new Map<UserId, Grant>())
  const failing = yield* Ref.make(false)
  const lookups = yield* Ref.make(new Map<UserId, number>())
  const storage = fakeStorage({
    getGrant: (userId) =>
      Ref.update(lookups, (m) => new Map(m).set(userId, (m.get(userId) ?? 0) + 1)).pipe(
        Effect.zipRight(Ref.get(failing)),
        Effect.flatMap((fail) =>
          fail
            ? Effect.fail(new StorageError({ operation: "getGrant", cause: "disk on fire" }))
            : Effect.map(Ref.get(grants), (m) => Option.fromNullable(m.get(userId)))
        )
      )
  })
  const cache = yield* ScopeCache.make().pipe(Effect.provide(storage))
  return {
    cache,
    setGrant: (g: Grant) => Ref.update(grants, (m) => new Map(m).set(g.userId, g)),
    setFailing: (fail: boolean) => Ref.set(failing, fail),
    lookups: (userId: UserId) => Effect.map(Ref.get(lookups), (m) => m.get(userId) ?? 0),
    scopesOf: (userId: UserId) =>
      cache.get(userId).pipe(Effect.map(Option.match({ onNone: () => "none" as const, onSome: (g) => g.scopes })))
  }
})

describe("ScopeCache", () => {
  it.effect("serves repeated lookups from memory", () =>
    Effect.gen(function* () {
      const t = yield* setup
      yield* t.setGrant(grantOf(alice, ["notes.read"]))
      for (let i = 0; i < 5; i++) expect(yield* t.scopesOf(alice)).toEqual(["notes.read"])
      expect(yield* t.lookups(alice)).toBe(1)
      // Users are cached separately; "no grant" is cached as well.
      expect(yield* t.scopesOf(bob)).toBe("none")
      expect(yield* t.scopesOf(bob)).toBe("none")
      expect(yield* t.lookups(bob)).toBe(1)
    })
  )

  it.effect("an entry lives for 5 minutes, not less, and is read again after", () =>
    Effect.gen(function* () {
      const t = yield* setup
      yield* t.setGrant(grantOf(alice, ["notes.read"]))
      expect(yield* t.scopesOf(alice)).toEqual(["notes.read"])
      // Changed behind the cache's back (no invalidate): the cached value stays for the TTL.
      yield* t.setGrant(grantOf(alice, ["files.read"]))
      yield* TestClock.adjust("299999 millis")
      expect(yield* t.scopesOf(alice)).toEqual(["notes.read"])
      expect(yield* t.lookups(alice)).toBe(1)
      yield* TestClock.adjust("2 millis")
      expect(yield* t.scopesOf(alice)).toEqual(["files.read"])
      expect(yield* t.lookups(alice)).toBe(2)
      // The fresh entry has its own 5 minutes.
      yield* TestClock.adjust("4 minutes")
      expect(yield* t.scopesOf(alice)).toEqual(["files.read"])
      expect(yield* t.lookups(alice)).toBe(2)
    })
  )

  it.effect("invalidate makes the next lookup read storage at once, for that user only", () =>
    Effect.gen(function* () {
      const t = yield* setup
      yield* t.setGrant(grantOf(alice, ["notes.read"]))
      yield* t.setGrant(grantOf(bob, null))
      yield* t.scopesOf(alice)
      yield* t.scopesOf(bob)
      yield* t.setGrant(grantOf(alice, ["notes.read", "notes.write"]))
      yield* t.cache.invalidate(alice)
      expect(yield* t.scopesOf(alice)).toEqual(["notes.read", "notes.write"])
      expect(yield* t.lookups(alice)).toBe(2)
      expect(yield* t.scopesOf(bob)).toBeNull()
      expect(yield* t.lookups(bob)).toBe(1)
    })
  )

  it.effect("invalidateAll drops every user's entry", () =>
    Effect.gen(function* () {
      const t = yield* setup
      yield* t.scopesOf(alice)
      yield* t.scopesOf(bob)
      yield* t.cache.invalidateAll
      yield* t.scopesOf(alice)
      yield* t.scopesOf(bob)
      expect(yield* t.lookups(alice)).toBe(2)
      expect(yield* t.lookups(bob)).toBe(2)
    })
  )

  it.effect("a storage failure is not remembered: the next lookup tries again, even at the same instant", () =>
    Effect.gen(function* () {
      const t = yield* setup
      yield* t.setGrant(grantOf(alice, ["notes.read"]))
      yield* t.setFailing(true)
      const failed = yield* Effect.exit(t.cache.get(alice))
      expect(Exit.isFailure(failed)).toBe(true)
      expect(yield* Effect.exit(t.cache.get(alice)).pipe(Effect.map(Exit.isFailure))).toBe(true)
      expect(yield* t.lookups(alice)).toBe(2)
      yield* t.setFailing(false)
      expect(yield* t.scopesOf(alice)).toEqual(["notes.read"])
      expect(yield* t.lookups(alice)).toBe(3)
      // …and the success is cached as usual.
      yield* TestClock.adjust("1 minute")
      expect(yield* t.scopesOf(alice)).toEqual(["notes.read"])
      expect(yield* t.lookups(alice)).toBe(3)
    })
  )

  it.effect("a lookup that raced an invalidation does not keep the grant it read (a narrowing is never undone for the TTL)", () =>
    Effect.gen(function* () {
      const grants = yield* Ref.make(new Map([[alice, grantOf(alice, ["notes.read", "notes.write"])]]))
      const slipIn = yield* Ref.make<Effect.Effect<void>>(Effect.void)
      const storage = fakeStorage({
        getGrant: (userId) =>
          Effect.gen(function* () {
            const read = Option.fromNullable((yield* Ref.get(grants)).get(userId))
            // What the test slips in between the read and its answer (once).
            yield* Effect.flatten(Ref.getAndSet(slipIn, Effect.void))
            return read
          })
      })
      const cache = yield* ScopeCache.make().pipe(Effect.provide(storage))
      const scopesOf = cache.get(alice).pipe(Effect.map(Option.match({ onNone: () => "none" as const, onSome: (g) => g.scopes })))
      // While alice's lookup holds the wider grant, it is narrowed and invalidated.
      yield* Ref.set(
        slipIn,
        Effect.suspend(() =>
          Ref.update(grants, (m) => new Map(m).set(alice, grantOf(alice, ["notes.read"]))).pipe(Effect.zipRight(cache.invalidate(alice)))
        )
      )
      expect(yield* scopesOf).toEqual(["notes.read", "notes.write"])
      expect(yield* scopesOf).toEqual(["notes.read"])
    })
  )

  it.effect("a custom TTL is honoured", () =>
    Effect.gen(function* () {
      const calls = yield* Ref.make(0)
      const storage = fakeStorage({ getGrant: () => Effect.as(Ref.update(calls, (n) => n + 1), Option.none()) })
      const cache = yield* ScopeCache.make({ ttl: "10 seconds" }).pipe(Effect.provide(storage))
      yield* cache.get(alice)
      yield* TestClock.adjust("9 seconds")
      yield* cache.get(alice)
      expect(yield* Ref.get(calls)).toBe(1)
      yield* TestClock.adjust("2 seconds")
      yield* cache.get(alice)
      expect(yield* Ref.get(calls)).toBe(2)
    })
  )

  it.effect("the layer builds the cache over the provided Storage", () =>
    Effect.gen(function* () {
      const cache = yield* ScopeCache
      expect(Option.isNone(yield* cache.get(alice))).toBe(true)
    }).pipe(Effect.provide(ScopeCache.layer().pipe(Layer.provide(fakeStorage({ getGrant: () => Effect.succeed(Option.none()) })))))
  )
})
